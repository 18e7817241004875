import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe } from '../support/artstore-process';
import { anonymousFetch, clientToken, createAccount, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, json, rawUpload } from '../support/http';
import { until } from '../support/poll';
import { startSplit, type SplitDeployment } from '../support/split';

afterAll(killAll);

/** Short enough to watch a restored copy expire, long enough to read it first on a busy machine. */
const TTL_S = 8;
const RESTORE_ENV = { ARTSTORE_RESTORE_TTL_S: String(TTL_S) };
const SWEEP_ENV = { ARTSTORE_RESTORE_SWEEP_INTERVAL_S: '1' };
/** Two rw SEs (one copy each file, baseEnv): both are archived, so the file is wherever it landed. */
const PERMANENT_SES = ['rw-1', 'rw-2'];

interface Deployment {
  readonly admin: string;
  readonly ingester: string;
  readonly query: string;
  /** The blob directory of an SE. */
  blobs(seId: string): string;
  stop(): Promise<void>;
}

interface Job {
  job_id: string;
  file_id: string;
  state: string;
  status_url: string;
  expires_at: string | null;
  error: string | null;
}

async function holds(directory: string, fileId: string): Promise<boolean> {
  return (await blobOf(directory, fileId)) !== null;
}

async function blobOf(directory: string, fileId: string): Promise<Buffer | null> {
  const names = await readdir(directory, { recursive: true }).catch(() => [] as string[]);
  const name = names.find((n) => n.includes(fileId) && !n.endsWith('.attr.json'));
  return name === undefined ? null : readFile(join(directory, name));
}

/** Issue 6, archive reads: the same story in one process and split into roles over HTTP. */
function archiveStory(start: () => Promise<Deployment>): void {
  let d: Deployment;
  let reader: { authorization: string };
  beforeAll(async () => {
    d = await start();
    // Not an admin: a service account that may only read the default collection.
    const account = await createAccount(d.admin, {
      name: 'archive reader',
      scopes: ['files:read'],
      collections: { 'files:read': ['default'] },
    });
    reader = { authorization: `Bearer ${await clientToken(d.admin, account)}` };
  });
  afterAll(() => d.stop());

  const changeMode = async (se: string, mode: string): Promise<void> => {
    const response = await fetch(`${d.admin}/api/v1/storage-elements/${se}/mode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
    if (response.status !== 200)
      throw new Error(`mode ${se} → ${mode}: ${response.status} ${await response.text()}`);
  };
  const asReader = (path: string, init: RequestInit = {}): Promise<Response> =>
    anonymousFetch(`${d.query}${path}`, { ...init, headers: { ...reader, ...init.headers } });

  it('serves an archived file after a restore, until the restored copy expires', async () => {
    const content = randomBytes(300_000);
    const uploaded = await rawUpload(d.ingester, content, {
      name: 'ledger-1998.bin',
      retention_policy: 'permanent',
    });
    expect(uploaded.status).toBe(201);
    const fileId = (await json<{ file_id: string }>(uploaded)).file_id;
    const contentUrl = `/api/v1/files/${fileId}/content`;
    const restoreUrl = `/api/v1/files/${fileId}/restore`;
    expect((await asReader(contentUrl)).status).toBe(200);
    await expectProblem(await asReader(restoreUrl, { method: 'POST' }), 409, 'conflict');

    for (const se of PERMANENT_SES) await changeMode(se, 'ro');
    for (const se of PERMANENT_SES) await changeMode(se, 'ar');

    // Metadata as ever; content refused with a problem that says what to do.
    const metadata = await asReader(`/api/v1/files/${fileId}`);
    expect(metadata.status).toBe(200);
    expect(await json(metadata)).toMatchObject({ file_id: fileId, size: content.length });
    const refused = await expectProblem(await asReader(contentUrl), 409, 'restore_required');
    expect(refused.detail).toContain(restoreUrl);
    expect((await asReader(contentUrl, { method: 'HEAD' })).status).toBe(409);
    await expectProblem(await asReader(restoreUrl), 404, 'restore_not_found');

    const accepted = await asReader(restoreUrl, { method: 'POST' });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe(restoreUrl);
    const job = await json<Job>(accepted);
    expect(job).toMatchObject({
      file_id: fileId,
      state: 'running',
      status_url: restoreUrl,
      expires_at: null,
    });
    // Asked again: the same job (still running, or already done).
    const again = await asReader(restoreUrl, { method: 'POST' });
    expect([200, 202]).toContain(again.status);
    expect((await json<Job>(again)).job_id).toBe(job.job_id);

    const done = await until(
      'the restore to finish',
      async () => {
        const status = await json<Job>(await asReader(job.status_url));
        return status.state === 'running' ? null : status;
      },
      30_000,
    );
    expect(done).toMatchObject({ job_id: job.job_id, state: 'done', error: null });
    expect(Date.parse(done.expires_at!)).toBeGreaterThan(Date.now());

    const restored = await asReader(contentUrl);
    expect(restored.status).toBe(200);
    expect(Buffer.from(await restored.arrayBuffer()).equals(content)).toBe(true);
    const ranged = await asReader(contentUrl, { headers: { range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(content.subarray(1000, 2000))).toBe(true);
    expect(await holds(d.blobs('edit-1'), fileId)).toBe(true);

    // The TTL passes: reads refuse again at once, and the admin's sweep removes the copy.
    await until(
      'the restored copy to expire',
      async () => ((await asReader(contentUrl, { method: 'HEAD' })).status === 409 ? true : null),
      (TTL_S + 30) * 1000,
    );
    await expectProblem(await asReader(contentUrl), 409, 'restore_required');
    // The sweep audits a removal last, once the copy and its record are gone.
    const auditOf = async (): Promise<string[]> =>
      (
        await json<{ items: { action: string; outcome: string }[] }>(
          await fetch(`${d.admin}/api/v1/audit?target=${fileId}&action_prefix=file.restore`),
        )
      ).items
        .map((e) => `${e.action} ${e.outcome}`)
        .sort();
    await until(
      'the sweep to remove the restored copy',
      async () => ((await auditOf()).includes('file.restore_expired success') ? true : null),
      30_000,
    );
    expect(await holds(d.blobs('edit-1'), fileId)).toBe(false);
    expect(await json<Job>(await asReader(restoreUrl))).toMatchObject({
      job_id: job.job_id,
      state: 'expired',
    });
    // The archived copy is intact, byte for byte (random bytes are stored as they are).
    const archived = (await Promise.all(PERMANENT_SES.map((se) => blobOf(d.blobs(se), fileId)))).filter(
      (blob) => blob !== null,
    );
    expect(archived).toHaveLength(1);
    expect(archived[0]!.equals(content)).toBe(true);
    expect((await asReader(`/api/v1/files/${fileId}`)).status).toBe(200);

    expect(await auditOf()).toEqual([
      'file.restore_expired success',
      'file.restore_requested success',
      'file.restored success',
    ]);
  });
}

describe('archive reads, --role all', () => {
  archiveStory(async () => {
    const db: TestDatabase = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-restore-'));
    const proc = await startServe(['--role', 'all', '--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ...RESTORE_ENV,
      ...SWEEP_ENV,
    });
    await signInAsBootstrapAdmin(proc.url, dataDir);
    return {
      admin: proc.url,
      ingester: proc.url,
      query: proc.url,
      blobs: (se) => join(dataDir, 'se', se, 'blobs'),
      stop: async () => {
        expect(await proc.stop()).toBe(0);
        await db.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });
});

describe('archive reads, split roles (the archived copy read over the internal API)', () => {
  archiveStory(async () => {
    const db: TestDatabase = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-restore-split-'));
    const split: SplitDeployment = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [
        { id: 'edit-1', mode: 'edit' },
        { id: 'rw-1', mode: 'rw' },
        { id: 'rw-2', mode: 'rw' },
      ],
      adminEnv: SWEEP_ENV,
      queryEnv: RESTORE_ENV,
    });
    return {
      admin: split.admin.url,
      ingester: split.ingester.url,
      query: split.query.url,
      blobs: (se) => join(dataDir, se, 'se', se, 'blobs'),
      stop: async () => {
        const codes = await Promise.all(split.processes.map((p) => p.stop()));
        expect(codes).toEqual(split.processes.map(() => 0));
        await db.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });
});
