import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  anonymousFetch,
  clientToken,
  createAccount,
  internalToken,
  signInAsBootstrapAdmin,
} from '../support/auth';
import { killAll, runCli, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, json } from '../support/http';

afterAll(killAll);

interface Entry {
  seq: number;
  action: string;
  outcome: string;
  target: string | null;
  actor: { kind: string; subject: string };
  details: Record<string, unknown>;
  source: string | null;
}

/** The hash-chained audit log over HTTP (issue 3): what is recorded, the query API, tamper detection. */
describe('audit log (--role all)', () => {
  let proc: ArtStoreProcess;
  let db: TestDatabase;
  let dataDir: string;
  let base: string;

  const entries = async (query: Record<string, string>): Promise<Entry[]> => {
    const response = await fetch(`${base}/api/v1/audit?${new URLSearchParams(query).toString()}`);
    expect(response.status).toBe(200);
    return (await json<{ items: Entry[] }>(response)).items;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-audit-'));
    proc = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
    base = proc.url;
    await signInAsBootstrapAdmin(base, dataDir);
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('records token issuance and refusals, account changes, logins and mode changes', async () => {
    const robot = await createAccount(base, { name: 'robot', scopes: ['files:read'] });
    await clientToken(base, robot);
    await expect(clientToken(base, { ...robot, clientSecret: 'wrong' })).rejects.toThrow(/401/u);
    const suspended = await fetch(`${base}/api/v1/admin/service-accounts/${robot.clientId}/suspend`, {
      method: 'POST',
    });
    expect(suspended.status).toBe(200);
    await anonymousFetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'not the password' }),
    });
    const mode = await fetch(`${base}/api/v1/storage-elements/rw-1/mode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'ro' }),
    });
    expect(mode.status).toBe(200);

    const robotTrail = await entries({ target: robot.clientId });
    expect(robotTrail.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'account.suspended:success',
      'token.refused:failure',
      'token.issued:success',
      'account.created:success',
    ]);
    expect(robotTrail[1]).toMatchObject({ details: { code: 'invalid_client', reason: 'wrong_secret' } });
    expect(robotTrail[1]!.source).toBeTruthy();
    expect(robotTrail[3]!.actor).toEqual({ kind: 'service', subject: 'artstore-bootstrap' });
    expect(await entries({ action: 'session.login_failed' })).toEqual([
      expect.objectContaining({
        target: 'admin',
        outcome: 'failure',
        details: expect.objectContaining({ code: 'invalid_credentials' }),
      }),
    ]);
    expect(await entries({ action: 'storage_element.mode_changed' })).toEqual([
      expect.objectContaining({ target: 'rw-1', details: { mode: 'ro', from: 'rw', confirmed: false } }),
    ]);
    expect((await entries({ action_prefix: 'key.' })).length).toBeGreaterThanOrEqual(1);
    const page = await json<{ items: Entry[]; next_cursor: string }>(
      await fetch(`${base}/api/v1/audit?limit=2`),
    );
    const next = await entries({ limit: '2', cursor: page.next_cursor });
    expect(next[0]!.seq).toBe(page.items[1]!.seq - 1);
  });

  it('records a file deleted through a storage element', async () => {
    const uploaded = await fetch(`${base}/api/v1/files?name=short-lived.txt`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'gone soon',
    });
    const { file_id } = await json<{ file_id: string }>(uploaded);
    const internal = await internalToken(base);
    const deleted = await anonymousFetch(`${base}/internal/v1/storage-elements/edit-1/files/${file_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${internal}` },
    });
    expect(deleted.status).toBe(204);
    expect(await entries({ action: 'file.deleted' })).toEqual([
      expect.objectContaining({
        target: file_id,
        details: { storage_element: 'edit-1' },
        outcome: 'success',
      }),
    ]);
  });

  it('needs audit:read, and refuses bad filters with 400', async () => {
    const reader = await createAccount(base, { name: 'reader', scopes: ['files:read'] });
    const token = await clientToken(base, reader);
    const refused = await anonymousFetch(`${base}/api/v1/audit`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await expectProblem(refused, 403, 'forbidden');
    await expectProblem(await fetch(`${base}/api/v1/audit?action=made.up`), 400, 'invalid_request');
    await expectProblem(await fetch(`${base}/api/v1/audit?from=yesterday`), 400, 'invalid_request');
  });

  it('verifies the chain, and finds an entry changed behind its back', async () => {
    expect(await json(await fetch(`${base}/api/v1/audit/verify`))).toMatchObject({ ok: true });
    const clean = await runCli(['audit', 'verify'], { ARTSTORE_DATABASE_URL: db.url });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ seq: string }>(
        'select seq from audit_log order by seq limit 1 offset 2',
      );
      await client.query(`update audit_log set details = '{"forged": true}'::jsonb where seq = $1`, [
        rows[0]!.seq,
      ]);
      const report = await json<{ ok: boolean; seq: number; reason: string }>(
        await fetch(`${base}/api/v1/audit/verify`),
      );
      expect(report).toMatchObject({ ok: false, seq: Number(rows[0]!.seq), reason: 'hash_mismatch' });
      // The offline command finds it too, and says so with its exit code.
      const tampered = await runCli(['audit', 'verify'], { ARTSTORE_DATABASE_URL: db.url });
      expect(tampered.code).toBe(1);
      expect(JSON.parse(tampered.stdout)).toMatchObject({ ok: false, seq: Number(rows[0]!.seq) });
      expect(tampered.stderr).toContain('the audit chain is broken');
    } finally {
      await client.end();
    }
  });
});
