import { Agent, request, type IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { internalToken, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, expectProblem, json, rawUpload } from '../support/http';
import { until } from '../support/poll';
import { filesUnder, mountTmpfs, NO_TMPFS, unmountTmpfs } from '../support/tmpfs';

/**
 * §4 over HTTP: a write the disk cannot take (ENOSPC) or whose fsync fails is answered with a
 * definite error, never a 2xx, and leaves no temp file. The full disk is a small tmpfs, which
 * needs root to mount: where that fails the tests fail with the reason, unless
 * ARTSTORE_TEST_NO_TMPFS=1 skips them.
 */
const KiB = 1024;

afterAll(killAll);

/** The SE holds no file and no unfinished WAL record. */
async function expectNothingStored(base: string, seId: string): Promise<void> {
  const internal = { headers: { authorization: `Bearer ${await internalToken(base)}` } };
  const info = await json<{ wal_pending: number; file_count: number }>(
    await fetch(`${base}/internal/v1/storage-elements/${seId}/info`, internal),
  );
  expect(info).toMatchObject({ wal_pending: 0, file_count: 0 });
  const listed = await json<{ items: unknown[] }>(
    await fetch(`${base}/internal/v1/storage-elements/${seId}/attributes?limit=10`, internal),
  );
  expect(listed.items).toEqual([]);
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

/**
 * Uploads to an SE on a 2 MiB tmpfs: 256 KiB, then, once the SE has admitted the upload (its
 * free-space check passed) and opened its temp file, another program fills the disk to 512 KiB
 * free and 1.5 MiB more are sent. The answer comes while the body is still open, as for any
 * upload the server stops mid-way. The request has a keep-alive connection of its own, so the
 * test's later requests do not depend on whether a connection answered mid-body can be reused.
 */
async function overflow(
  proc: ArtStoreProcess,
  token: string,
  sePath: string,
  kind: 'raw' | 'multipart',
): Promise<Answer> {
  const boundary = `----artstore${randomBytes(12).toString('hex')}`;
  const agent = new Agent({ keepAlive: true });
  try {
    const req = request(`${proc.url}/api/v1/files${kind === 'raw' ? '?name=overflow.bin' : ''}`, {
      method: 'POST',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type':
          kind === 'raw' ? 'application/octet-stream' : `multipart/form-data; boundary=${boundary}`,
      },
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    if (kind === 'multipart') {
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="overflow.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
    }
    req.write(randomBytes(256 * KiB));
    // The temp file shows the SE has admitted the upload; the server's progress is only visible on its disk.
    await until('the SE to open its temp file', async () =>
      (await filesUnder(join(sePath, 'blobs'))).find((f) => f.endsWith('.tmp')),
    );
    const { bavail, bsize } = await statfs(sePath);
    await writeFile(join(sePath, 'filler'), Buffer.alloc(bavail * bsize - 512 * KiB));
    for (let i = 0; i < 24; i += 1) req.write(randomBytes(64 * KiB));
    const response = await answered;
    req.end(kind === 'multipart' ? `\r\n--${boundary}--\r\n` : undefined);
    let text = '';
    for await (const chunk of response) text += (chunk as Buffer).toString();
    return { status: response.statusCode!, contentType: response.headers['content-type'], text };
  } finally {
    agent.destroy();
  }
}

describe('uploads when the disk is full or an fsync fails', () => {
  let db: TestDatabase;
  let dir: string;
  let mounted: string | null = null;

  beforeEach(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'artstore-faults-'));
  });
  afterEach(async () => {
    await killAll();
    if (mounted) await unmountTmpfs(mounted);
    mounted = null;
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** One SE, `edit-1`, its data dir on a fresh 2 MiB tmpfs and a capacity far above it. */
  async function serveOnTmpfs(): Promise<{ proc: ArtStoreProcess; token: string; sePath: string }> {
    const sePath = join(dir, 'se');
    await mkdir(sePath);
    await mountTmpfs(sePath, 2 * 1024 * KiB);
    mounted = sePath;
    const config = join(dir, 'artstore.json');
    await writeFile(
      config,
      JSON.stringify({
        storage_elements: [{ id: 'edit-1', mode: 'edit', path: sePath, capacity_bytes: 2 ** 40 }],
      }),
    );
    const dataDir = join(dir, 'data');
    const proc = await startServe(['--data-dir', dataDir, '--config', config], {
      ARTSTORE_DATABASE_URL: db.url,
    });
    const token = await signInAsBootstrapAdmin(proc.url, dataDir);
    return { proc, token, sePath };
  }

  async function expectStoredAndServed(proc: ArtStoreProcess): Promise<void> {
    const content = randomBytes(100 * KiB);
    const stored = await rawUpload(proc.url, content, { name: 'fits.bin' });
    expect(stored.status).toBe(201);
    const { file_id } = await json<{ file_id: string }>(stored);
    expect((await download(proc.url, file_id)).body.equals(content)).toBe(true);
  }

  (NO_TMPFS ? it.skip : it).each(['raw', 'multipart'] as const)(
    'a %s upload that overflows the SE data dir on a 2 MiB tmpfs is 507 storage_full, no temp file stays',
    async (kind) => {
      const { proc, token, sePath } = await serveOnTmpfs();
      const answer = await overflow(proc, token, sePath, kind);
      expect(answer.status).toBe(507);
      expect(answer.contentType).toMatch(/^application\/problem\+json/u);
      expect(JSON.parse(answer.text)).toMatchObject({ status: 507, code: 'storage_full' });
      expect((await filesUnder(sePath)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      await expectNothingStored(proc.url, 'edit-1');
      // Room again: the next upload is stored.
      await rm(join(sePath, 'filler'));
      await expectStoredAndServed(proc);
      expect(await proc.stop()).toBe(0);
    },
  );

  it('fs.before_data_fsync=error@1: the upload whose fsync fails is a 5xx, the next one is stored', async () => {
    const dataDir = join(dir, 'data');
    const env = { ARTSTORE_DATABASE_URL: db.url };
    // A first start writes the storage elements' state files, which would take the failpoint's hit.
    const first = await startServe(['--data-dir', dataDir], env);
    expect(await first.stop()).toBe(0);
    const proc = await startServe(['--data-dir', dataDir], {
      ...env,
      ARTSTORE_FAILPOINTS: 'fs.before_data_fsync=error@1',
    });
    await signInAsBootstrapAdmin(proc.url, dataDir);

    const failed = await rawUpload(proc.url, randomBytes(100 * KiB), { name: 'unsynced.bin' });
    // A definite error: the medium failed, not ArtStore; never 2xx, never a dropped connection.
    await expectProblem(failed, 503, 'storage_unavailable');
    await expectNothingStored(proc.url, 'edit-1');
    await expectStoredAndServed(proc);
    const files = await filesUnder(join(dataDir, 'se'));
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((f) => f.includes('unsynced'))).toEqual([]);
    expect(await proc.stop()).toBe(0);
  });
});
