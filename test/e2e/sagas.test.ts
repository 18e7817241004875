import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, expectProblem, json, rawUpload } from '../support/http';
import { eventually } from '../support/poll';

afterAll(killAll);

/** Two copies for permanent files, and sagas of a dead process taken over within a second. */
const ENV = { ARTSTORE_REPLICATION_PERMANENT: '2', ARTSTORE_SAGA_LEASE_MS: '600' };
const SES = ['edit-1', 'rw-1', 'rw-2'];

interface Saga {
  id: string;
  kind: string;
  status: string;
  step: number;
  file_id: string | null;
  error: string | null;
}

/** The blobs (not sidecars, not temp files) each SE holds on disk, by SE. */
async function blobsOnDisk(dataDir: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const se of SES) {
    const root = join(dataDir, 'se', se, 'blobs');
    const entries = await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []);
    out[se] = entries
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)))
      .filter((f) => !f.startsWith('quarantine/'))
      .sort();
  }
  return out;
}

function holders(disk: Record<string, string[]>, fileId: string): string[] {
  return SES.filter((se) => disk[se]!.some((f) => f.includes(fileId) && !f.endsWith('.attr.json')));
}

async function sagasOf(base: string, query: string): Promise<Saga[]> {
  return (await json<{ items: Saga[] }>(await fetch(`${base}/api/v1/sagas?${query}`))).items;
}

describe('upload, finalize and delete sagas', () => {
  let db: TestDatabase;
  let dataDir: string;
  let proc: ArtStoreProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-sagas-'));
    proc = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url, ...ENV });
    await signInAsBootstrapAdmin(proc.url, dataDir);
  });

  afterAll(async () => {
    await proc?.stop();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps a permanent upload on two rw SEs and records a finished upload saga', async () => {
    const content = randomBytes(200_000);
    const response = await rawUpload(proc.url, content, {
      name: 'record.bin',
      retention_policy: 'permanent',
    });
    expect(response.status).toBe(201);
    const { file_id: fileId } = await json<{ file_id: string }>(response);
    expect(holders(await blobsOnDisk(dataDir), fileId)).toEqual(['rw-1', 'rw-2']);
    const [saga] = await sagasOf(proc.url, `file_id=${fileId}`);
    expect(saga).toMatchObject({ kind: 'upload', status: 'done', step: 4, error: null });
    const one = await json<Saga>(await fetch(`${proc.url}/api/v1/sagas/${saga!.id}`));
    expect(one).toMatchObject({ id: saga!.id, status: 'done' });
    await expectProblem(
      await fetch(`${proc.url}/api/v1/sagas/${'0'.repeat(8)}-0000-0000-0000-000000000000`),
      404,
      'saga_not_found',
    );
    await expectProblem(await fetch(`${proc.url}/api/v1/sagas?status=sleeping`), 400, 'invalid_request');
  });

  it('finalizes a temporary file: two permanent copies, the edit copy gone, the content unchanged', async () => {
    const content = randomBytes(150_000);
    const { file_id: fileId } = await json<{ file_id: string }>(
      await rawUpload(proc.url, content, { name: 'draft.bin' }),
    );
    expect(holders(await blobsOnDisk(dataDir), fileId)).toEqual(['edit-1']);
    // A metadata change first: the version finalize continues from.
    const patched = await fetch(`${proc.url}/api/v1/files/${fileId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'before finalize' }),
    });
    expect(await json(patched)).toMatchObject({ attr_version: 2 });
    const retainUntil = new Date(Date.now() + 86_400_000).toISOString();
    const finalized = await fetch(`${proc.url}/api/v1/files/${fileId}/finalize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ retain_until: retainUntil }),
    });
    expect(finalized.status).toBe(200);
    expect(await json(finalized)).toMatchObject({ file_id: fileId, retention_policy: 'permanent' });
    // Answered once the catalog switched; the edit copy goes behind the answer.
    const copiesOf = async () => holders(await blobsOnDisk(dataDir), fileId);
    expect(await eventually(copiesOf, (where) => where.length === 2)).toEqual(['rw-1', 'rw-2']);
    const meta = await json(await fetch(`${proc.url}/api/v1/files/${fileId}`));
    // The sidecar version never goes back: finalize is the third change of this document.
    expect(meta).toMatchObject({
      retention_policy: 'permanent',
      description: 'before finalize',
      attr_version: 3,
    });
    expect((await download(proc.url, fileId)).body.equals(content)).toBe(true);
    // Permanent now: a second finalize is a conflict, and the retention forbids deleting it.
    await expectProblem(
      await fetch(`${proc.url}/api/v1/files/${fileId}/finalize`, { method: 'POST' }),
      409,
      'conflict',
    );
    await expectProblem(
      await fetch(`${proc.url}/api/v1/files/${fileId}`, { method: 'DELETE' }),
      409,
      'retention_active',
    );
    expect(holders(await blobsOnDisk(dataDir), fileId)).toEqual(['rw-1', 'rw-2']);
  });

  it('deletes a temporary file: 204, gone for clients and from disk, a tombstone saga done', async () => {
    const { file_id: fileId } = await json<{ file_id: string }>(
      await rawUpload(proc.url, Buffer.from('short-lived'), { name: 'tmp.txt' }),
    );
    const deleted = await fetch(`${proc.url}/api/v1/files/${fileId}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await expectProblem(await fetch(`${proc.url}/api/v1/files/${fileId}`), 404, 'file_not_found');
    await expectProblem(
      await fetch(`${proc.url}/api/v1/files/${fileId}`, { method: 'DELETE' }),
      404,
      'file_not_found',
    );
    // Answered once the tombstone was written; the copies go behind the answer.
    const [saga] = await eventually(
      () => sagasOf(proc.url, `file_id=${fileId}&kind=delete`),
      (sagas) => sagas[0]?.status === 'done',
    );
    expect(saga).toMatchObject({ status: 'done' });
    expect(holders(await blobsOnDisk(dataDir), fileId)).toEqual([]);
  });

  it('deletes a permanent file without retain_until from both copies', async () => {
    const { file_id: fileId } = await json<{ file_id: string }>(
      await rawUpload(proc.url, randomBytes(1000), { name: 'p.bin', retention_policy: 'permanent' }),
    );
    expect((await fetch(`${proc.url}/api/v1/files/${fileId}`, { method: 'DELETE' })).status).toBe(204);
    await expectProblem(await fetch(`${proc.url}/api/v1/files/${fileId}`), 404, 'file_not_found');
    const copiesOf = async () => holders(await blobsOnDisk(dataDir), fileId);
    expect(await eventually(copiesOf, (where) => where.length === 0)).toEqual([]);
  });
});

/**
 * Saga crash tests: the process is SIGKILLed between two steps, restarted, and the saga is
 * taken over: the file is then either fully present with every copy or fully absent.
 */
describe('kill -9 between saga steps, restart: all or nothing', () => {
  let db: TestDatabase;
  let dataDir: string;

  beforeEach(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-saga-crash-'));
  });

  afterEach(async () => {
    await killAll();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(failpoints?: string): Promise<ArtStoreProcess> {
    const proc = await startServe(['--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ...ENV,
      ...(failpoints ? { ARTSTORE_FAILPOINTS: failpoints } : {}),
    });
    await signInAsBootstrapAdmin(proc.url, dataDir);
    return proc;
  }

  /** Runs `act` on a process that dies at `point`, restarts, and waits for the saga to settle. */
  async function crashAt(
    point: string,
    prepare: (proc: ArtStoreProcess) => Promise<string | null>,
    act: (proc: ArtStoreProcess, fileId: string | null) => Promise<unknown>,
    kind: string,
  ): Promise<{ proc: ArtStoreProcess; saga: Saga; fileId: string | null }> {
    let fileId: string | null = null;
    if (prepare !== noPreparation) {
      const setup = await start();
      fileId = await prepare(setup);
      expect(await setup.stop()).toBe(0);
    }
    const doomed = await start(`${point}=kill`);
    if (BEHIND_THE_ANSWER.has(point)) {
      // The pivot settled the answer, which waits briefly for the steps behind it: the kill may
      // come before the answer or after it; an answer, if any, is a success.
      const answer = await act(doomed, fileId).catch(() => null);
      if (answer) expect((answer as Response).ok).toBe(true);
    } else {
      await expect(act(doomed, fileId)).rejects.toThrow();
    }
    expect((await doomed.exited).signal).toBe('SIGKILL');
    const proc = await start();
    const settled = await eventually(
      () => sagasOf(proc.url, `kind=${kind}`),
      (sagas) => sagas.length > 0 && ['done', 'compensated'].includes(sagas[0]!.status),
      20_000,
    );
    return { proc, saga: settled[0]!, fileId: fileId ?? settled[0]!.file_id };
  }

  /** Failpoints after a saga's pivot, past which finalize and delete may have answered. */
  const BEHIND_THE_ANSWER = new Set([
    'saga.finalize.after_remove_temporary',
    'saga.delete.after_remove_copies',
  ]);

  const noPreparation = async (): Promise<string | null> => null;
  const uploadPermanent = (proc: ArtStoreProcess) =>
    rawUpload(proc.url, randomBytes(100_000), { name: 'crash.bin', retention_policy: 'permanent' });

  it.each([
    ['saga.upload.after_write', 'compensated'],
    ['saga.upload.before_catalog', 'compensated'],
    ['saga.upload.after_catalog', 'done'],
  ])('upload killed at %s ends %s', async (point, outcome) => {
    const { proc, saga, fileId } = await crashAt(point, noPreparation, uploadPermanent, 'upload');
    expect(saga.status).toBe(outcome);
    const disk = await blobsOnDisk(dataDir);
    const meta = await fetch(`${proc.url}/api/v1/files/${fileId}`);
    if (outcome === 'done') {
      expect(meta.status).toBe(200);
      expect(holders(disk, fileId!)).toEqual(['rw-1', 'rw-2']);
      expect((await download(proc.url, fileId!)).response.status).toBe(200);
    } else {
      expect(meta.status).toBe(404);
      expect(holders(disk, fileId!)).toEqual([]);
    }
    // Nothing half-written anywhere, and the store goes on working.
    expect(
      Object.values(disk)
        .flat()
        .filter((f) => f.endsWith('.tmp')),
    ).toEqual([]);
    expect((await uploadPermanent(proc)).status).toBe(201);
  });

  const uploadTemporary = async (proc: ArtStoreProcess): Promise<string> =>
    (await json<{ file_id: string }>(await rawUpload(proc.url, randomBytes(80_000), { name: 'f.bin' })))
      .file_id;
  const finalize = async (proc: ArtStoreProcess, fileId: string | null) =>
    fetch(`${proc.url}/api/v1/files/${fileId}/finalize`, { method: 'POST' });

  it.each([
    ['saga.finalize.after_copy', 'compensated', ['edit-1'], 'temporary'],
    ['saga.finalize.after_switch', 'done', ['rw-1', 'rw-2'], 'permanent'],
    ['saga.finalize.after_remove_temporary', 'done', ['rw-1', 'rw-2'], 'permanent'],
  ])('finalize killed at %s ends %s with copies on %j', async (point, outcome, where, policy) => {
    const { proc, saga, fileId } = await crashAt(point, uploadTemporary, finalize, 'finalize');
    expect(saga.status).toBe(outcome);
    expect(holders(await blobsOnDisk(dataDir), fileId!)).toEqual(where);
    expect(await json(await fetch(`${proc.url}/api/v1/files/${fileId}`))).toMatchObject({
      retention_policy: policy,
    });
    expect((await download(proc.url, fileId!)).response.status).toBe(200);
  });

  const remove = async (proc: ArtStoreProcess, fileId: string | null) =>
    fetch(`${proc.url}/api/v1/files/${fileId}`, { method: 'DELETE' });
  const uploadPermanentId = async (proc: ArtStoreProcess): Promise<string> =>
    (await json<{ file_id: string }>(await uploadPermanent(proc))).file_id;

  const describeAs = (text: string) => async (proc: ArtStoreProcess, fileId: string | null) =>
    fetch(`${proc.url}/api/v1/files/${fileId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: text }),
    });

  it('a metadata update killed after its first copy reaches every copy and the catalog', async () => {
    const { proc, saga, fileId } = await crashAt(
      'saga.update.after_first_copy',
      uploadPermanentId,
      describeAs('written before the crash'),
      'update',
    );
    expect(saga.status).toBe('done');
    expect(await json(await fetch(`${proc.url}/api/v1/files/${fileId}`))).toMatchObject({
      description: 'written before the crash',
      attr_version: 2,
    });
    for (const se of ['rw-1', 'rw-2']) {
      const root = join(dataDir, 'se', se, 'blobs');
      const entries = await readdir(root, { withFileTypes: true, recursive: true });
      const sidecar = entries.find((e) => e.name.includes(fileId!) && e.name.endsWith('.attr.json'))!;
      const document = JSON.parse(await readFile(join(sidecar.parentPath, sidecar.name), 'utf8')) as {
        description: string;
      };
      expect(document.description).toBe('written before the crash');
    }
  });

  it.each(['saga.delete.after_tombstone', 'saga.delete.after_remove_copies'])(
    'delete killed at %s still removes every copy',
    async (point) => {
      const { proc, saga, fileId } = await crashAt(point, uploadPermanentId, remove, 'delete');
      expect(saga.status).toBe('done');
      expect(holders(await blobsOnDisk(dataDir), fileId!)).toEqual([]);
      expect((await fetch(`${proc.url}/api/v1/files/${fileId}`)).status).toBe(404);
    },
  );
});
