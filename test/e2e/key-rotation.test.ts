import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, runCli, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, bootstrapCredentials, clientToken, type ClientCredentials } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { decodeJwt } from '../support/jwt-forgery';
import { until } from '../support/poll';

afterAll(killAll);

const kidOf = (token: string): string => String(decodeJwt(token).header.kid);

interface KeyView {
  kid: string;
  activates_at: string;
  retired_at: string | null;
}

/**
 * Manual key rotation while clients keep obtaining tokens and calling the API: a new key is
 * published at once and signs after ARTSTORE_KEY_PUBLISH_LEAD_S (1 s here); no request in flight
 * or after may be refused, and tokens signed by a retired key stay valid until they expire.
 */
describe('signing key rotation under continuous requests (--role all, publish lead 1 s)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: ArtStoreProcess;
  let base: string;
  let credentials: ClientCredentials;
  let adminToken: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-keys-'));
    server = await startServe(['--role', 'all', '--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_KEY_PUBLISH_LEAD_S: '1',
    });
    base = server.url;
    credentials = await bootstrapCredentials(dataDir);
    adminToken = await clientToken(base, credentials);
  });

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const asAdmin = (path: string, method = 'GET'): Promise<Response> =>
    anonymousFetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${adminToken}` } });
  const search = (token: string): Promise<Response> =>
    anonymousFetch(`${base}/api/v1/search?q=rotation`, { headers: { authorization: `Bearer ${token}` } });
  const keys = async (): Promise<KeyView[]> => {
    const response = await asAdmin('/api/v1/admin/keys');
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: KeyView[] }).items;
  };
  const published = async (): Promise<string[]> =>
    (
      (await (await anonymousFetch(`${base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
    ).keys.map((k) => k.kid);

  it('refuses no request while three rotations take effect, and old-kid tokens keep working', async () => {
    const failures: string[] = [];
    /** Requests the workers completed (whatever the answer) per kid of the token they sent. */
    const sentByKid = new Map<string, number>();
    let requests = 0;
    let running = true;

    // Each worker takes a fresh token every few requests, so new kids enter circulation at once.
    const worker = async (id: number): Promise<void> => {
      while (running) {
        let token: string;
        try {
          token = await clientToken(base, credentials);
        } catch (error) {
          failures.push(`worker ${id}: token endpoint: ${(error as Error).message}`);
          continue;
        }
        for (let i = 0; i < 8 && running; i++) {
          const response = await search(token);
          requests++;
          sentByKid.set(kidOf(token), (sentByKid.get(kidOf(token)) ?? 0) + 1);
          if (response.status !== 200) {
            failures.push(
              `worker ${id}: ${response.status} with kid ${kidOf(token)}: ${response.headers.get('www-authenticate')}`,
            );
          } else await response.arrayBuffer();
        }
      }
    };
    const workers = [1, 2, 3, 4].map(worker);

    const initialKid = kidOf(adminToken);
    const oldTokens: string[] = [adminToken];
    const signers = [initialKid];
    try {
      await until(`a worker request with a token of ${initialKid}`, async () =>
        (sentByKid.get(initialKid) ?? 0) > 0 ? true : null,
      );
      for (let rotation = 1; rotation <= 3; rotation++) {
        const previous = signers.at(-1)!;
        const rotated = await asAdmin('/api/v1/admin/keys/rotate', 'POST');
        expect(rotated.status).toBe(201);
        const successor = (await rotated.json()) as KeyView;
        expect(successor.kid).not.toBe(previous);
        // Published before it signs: in the admin listing and in the JWKS right away.
        expect((await keys()).map((k) => k.kid)).toContain(successor.kid);
        if (!(await published()).includes(successor.kid)) {
          failures.push(
            `rotation ${rotation}: ${successor.kid} is not in /.well-known/jwks.json right after rotate`,
          );
        }

        // Wait for the listing to show the successor active and its predecessor retired...
        await until(`key ${successor.kid} to activate`, async () => {
          const listed = await keys();
          const next = listed.find((k) => k.kid === successor.kid);
          const prior = listed.find((k) => k.kid === previous);
          const now = Date.now();
          return next &&
            Date.parse(next.activates_at) <= now &&
            prior?.retired_at &&
            Date.parse(prior.retired_at) <= now
            ? true
            : null;
        });
        // ...then for the token endpoint to sign with it.
        const fresh = await until(`tokens signed by ${successor.kid}`, async () => {
          const token = await clientToken(base, credentials);
          return kidOf(token) === successor.kid ? token : null;
        });
        signers.push(successor.kid);
        // The workers carry the new key's tokens too before the next rotation.
        await until(`a worker request with a token of ${successor.kid}`, async () =>
          (sentByKid.get(successor.kid) ?? 0) > 0 ? true : null,
        );
        oldTokens.push(fresh);
        // Every token issued so far, whatever key signed it, is still accepted.
        for (const token of oldTokens) {
          const response = await search(token);
          if (response.status !== 200) {
            failures.push(
              `rotation ${rotation}: a token of kid ${kidOf(token)} got ${response.status} after the switch`,
            );
          }
        }
      }
    } finally {
      running = false;
      await Promise.all(workers);
    }

    // A compact summary: how many requests were refused, and the first few reasons.
    expect({ requests, refused: failures.length, first: failures.slice(0, 3) }).toEqual({
      requests,
      refused: 0,
      first: [],
    });
    expect(new Set(signers).size).toBe(4);
    // The workers used every key that signed, not just the first.
    expect([...sentByKid.keys()]).toEqual(expect.arrayContaining(signers));
    // Retired keys stay published while tokens they signed can be valid (15 min + leeway).
    expect(await published()).toEqual(expect.arrayContaining(signers));
  });

  it('refuses ARTSTORE_KEY_PUBLISH_LEAD_S=0 as a configuration problem: a key must be published before it signs', async () => {
    const refused = await runCli(['serve', '--port', '0'], { ARTSTORE_KEY_PUBLISH_LEAD_S: '0' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('key_publish_lead_s (ARTSTORE_KEY_PUBLISH_LEAD_S)');
    expect(refused.stderr).not.toContain('    at ');
  });
});
