import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymousFetch, clientToken, createAccount, signInAsBootstrapAdmin } from '../support/auth';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem } from '../support/http';

afterAll(killAll);

describe('per-account request limits (--role all)', () => {
  let proc: ArtStoreProcess;
  let db: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-limits-'));
    proc = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
    await signInAsBootstrapAdmin(proc.url, dataDir);
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses an account's requests past its limit with 429 and Retry-After, and no one else's", async () => {
    const response = await fetch(`${proc.url}/api/v1/admin/service-accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'slow', scopes: ['files:read'], rate_limit_per_minute: 5 }),
    });
    expect(response.status).toBe(201);
    const slow = (await response.json()) as { client_id: string; client_secret: string };
    const limited = await clientToken(proc.url, {
      clientId: slow.client_id,
      clientSecret: slow.client_secret,
    });
    const free = await clientToken(
      proc.url,
      await createAccount(proc.url, { name: 'free', scopes: ['files:read'] }),
    );
    const search = (token: string): Promise<Response> =>
      anonymousFetch(`${proc.url}/api/v1/search?q=x`, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 5; i++) expect((await search(limited)).status).toBe(200);
    const refused = await search(limited);
    await expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await search(free)).status).toBe(200);
  });
});
