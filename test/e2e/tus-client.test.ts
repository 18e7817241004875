import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Upload, type HttpRequest, type UploadOptions } from 'tus-js-client';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { signInAsBootstrapAdmin, tokenFor } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, sha256Hex } from '../support/http';
import { requireInfrastructure } from '../support/infrastructure';
import { startSplit, type SplitDeployment } from '../support/split';
import { tus, UPLOADS, uploadRows } from '../support/tus';

afterAll(killAll);

const MiB = 1024 * 1024;
const SIZE = 48 * MiB;
const CHUNK = 4 * MiB;

interface Outcome {
  readonly fileId: string | null;
  /** The Upload-Offset of each PATCH this client sent, in order. */
  readonly patchOffsets: number[];
}

/**
 * A real tus client. After each accepted chunk `stopAt` decides whether to leave the upload there;
 * then `interrupt` runs (abort the client, kill the server) and the promise resolves without
 * waiting for success. Errors after that point are the interruption's, not failures.
 */
function runUpload(
  content: Buffer,
  options: Partial<UploadOptions> & { token: string },
  interruption?: { stopAt: (accepted: number) => boolean; interrupt: (upload: Upload) => Promise<unknown> },
): { upload: Upload; done: Promise<Outcome> } {
  const { token, ...uploadOptions } = options;
  const patchOffsets: number[] = [];
  let upload!: Upload;
  const done = new Promise<Outcome>((resolve, reject) => {
    let stopped = false;
    upload = new Upload(content, {
      chunkSize: CHUNK,
      retryDelays: [],
      metadata: { filename: 'big.bin', filetype: 'application/octet-stream', sha256: sha256Hex(content) },
      ...uploadOptions,
      headers: { authorization: `Bearer ${token}` },
      onBeforeRequest: (req: HttpRequest) => {
        if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
      },
      onChunkComplete: (_size, accepted) => {
        if (stopped || !interruption?.stopAt(accepted)) return;
        stopped = true;
        interruption.interrupt(upload).then(() => resolve({ fileId: null, patchOffsets }), reject);
      },
      onSuccess: (payload) => {
        resolve({ fileId: payload.lastResponse.getHeader('ArtStore-File-Id') ?? null, patchOffsets });
      },
      onError: (error) => (stopped ? undefined : reject(error)),
    });
    upload.start();
  });
  return { upload, done };
}

async function serverOffset(url: string): Promise<number> {
  const head = await tus(url, 'HEAD');
  expect(head.status).toBe(200);
  return Number(head.headers.get('upload-offset'));
}

describe('tus-js-client against --role all', () => {
  let proc: ArtStoreProcess;
  let db: TestDatabase;
  let dataDir: string;
  let staging: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-tus-client-'));
    staging = join(dataDir, 'staging');
    proc = await startServe(['--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_STAGING_DIR: staging,
    });
    await signInAsBootstrapAdmin(proc.url, dataDir);
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uploads a large file in chunks, is aborted part-way and resumes from the server offset', async () => {
    const content = randomBytes(SIZE);
    const token = tokenFor(proc.url);
    const endpoint = `${proc.url}${UPLOADS}`;
    const first = runUpload(
      content,
      { endpoint, token },
      { stopAt: (accepted) => accepted >= 16 * MiB, interrupt: (upload) => upload.abort() },
    );
    const interrupted = await first.done;
    expect(interrupted.fileId).toBeNull();
    const url = first.upload.url!;
    expect(url).toMatch(/\/api\/v1\/uploads\/[0-9a-f]{32}$/u);
    const offset = await serverOffset(url);
    expect(offset).toBeGreaterThanOrEqual(16 * MiB);
    expect(offset).toBeLessThan(SIZE);
    expect(await readdir(staging)).toEqual([url.split('/').pop()]);

    const second = runUpload(content, { uploadUrl: url, token });
    const finished = await second.done;
    expect(finished.patchOffsets[0]).toBe(offset);
    expect(finished.fileId).toMatch(/^[0-9a-f-]{36}$/u);
    const { response, body } = await download(proc.url, finished.fileId!);
    expect(response.status).toBe(200);
    expect(body.length).toBe(SIZE);
    expect(sha256Hex(body)).toBe(sha256Hex(content));
    expect(await readdir(staging)).toEqual([]);
    const head = await tus(url, 'HEAD');
    expect(head.headers.get('artstore-file-id')).toBe(finished.fileId);
  });

  it('an upload survives a restart of the server and continues on the same path', async () => {
    const content = randomBytes(12 * MiB);
    const first = runUpload(
      content,
      { endpoint: `${proc.url}${UPLOADS}`, token: tokenFor(proc.url) },
      { stopAt: (accepted) => accepted >= 4 * MiB, interrupt: (upload) => upload.abort() },
    );
    await first.done;
    const path = new URL(first.upload.url!).pathname;
    const offset = await serverOffset(`${proc.url}${path}`);
    expect(await proc.stop()).toBe(0);
    proc = await startServe(['--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_STAGING_DIR: staging,
    });
    await signInAsBootstrapAdmin(proc.url, dataDir);
    expect(await serverOffset(`${proc.url}${path}`)).toBe(offset);
    const finished = await runUpload(content, { uploadUrl: `${proc.url}${path}`, token: tokenFor(proc.url) })
      .done;
    expect(finished.patchOffsets[0]).toBe(offset);
    const { body } = await download(proc.url, finished.fileId!);
    expect(sha256Hex(body)).toBe(sha256Hex(content));
    expect(await readdir(staging)).toEqual([]);
  });
});

describe('tus-js-client across two ingester processes (split roles)', () => {
  let split: SplitDeployment;
  let db: TestDatabase;
  let dataDir: string;
  let staging: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-tus-split-'));
    staging = join(dataDir, 'shared-staging');
    requireInfrastructure('redis');
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [
        { id: 'edit-1', mode: 'edit' },
        { id: 'rw-1', mode: 'rw' },
      ],
      ingesters: 2,
      ingesterEnv: { ARTSTORE_STAGING_DIR: staging },
    });
  });

  afterAll(async () => {
    const alive = split.processes.filter((p) => p !== split.ingesters[0]);
    const codes = await Promise.all(alive.map((p) => p.stop()));
    expect(codes).toEqual(alive.map(() => 0));
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('continues through a second ingester after the first is killed mid-upload', async () => {
    const [one, two] = split.ingesters as [ArtStoreProcess, ArtStoreProcess];
    const content = randomBytes(SIZE);
    const token = split.adminToken;
    const first = runUpload(
      content,
      { endpoint: `${one.url}${UPLOADS}`, token },
      // The next chunk is on its way: the crash lands mid-request.
      { stopAt: (accepted) => accepted >= 12 * MiB, interrupt: () => one.kill() },
    );
    const interrupted = await first.done;
    expect(interrupted.fileId).toBeNull();
    const path = new URL(first.upload.url!).pathname;
    const [row] = await uploadRows(db.url);
    expect(row).toMatchObject({ status: 'uploading', length: String(SIZE) });
    const committed = Number(row!.offset);
    expect(committed).toBeGreaterThanOrEqual(12 * MiB);
    expect(committed).toBeLessThan(SIZE);

    const resumed = runUpload(content, { uploadUrl: `${two.url}${path}`, token });
    const finished = await resumed.done;
    expect(finished.patchOffsets[0]).toBe(committed);
    expect(finished.fileId).toMatch(/^[0-9a-f-]{36}$/u);

    const { response, body } = await download(split.query.url, finished.fileId!);
    expect(response.status).toBe(200);
    expect(body.length).toBe(SIZE);
    expect(sha256Hex(body)).toBe(sha256Hex(content));
    expect(await readdir(staging)).toEqual([]);
    const [done] = await uploadRows(db.url);
    expect(done).toMatchObject({ status: 'completed', file_id: finished.fileId, offset: String(SIZE) });
    const head = await tus(`${two.url}${path}`, 'HEAD');
    expect(head.headers.get('artstore-file-id')).toBe(finished.fileId);
  });
});
