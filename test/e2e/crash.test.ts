import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { internalToken, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { json, rawUpload, sha256Hex } from '../support/http';

afterAll(killAll);

/** Failpoints on the storage element's write path (src/adapters/system/failpoints.ts). */
const POINTS = [
  'wal.before_append',
  'wal.after_append',
  'wal.after_fsync',
  'fs.before_data_fsync',
  'fs.after_data_fsync',
  'fs.before_rename',
  'fs.after_rename',
  'fs.before_dir_fsync',
  'fs.after_dir_fsync',
];
/**
 * Each upload appends two WAL records and writes two objects (blob, sidecar): hits 1 and 2 cover
 * both of the first upload. Later hits, under concurrent uploads and restarts, are the kill -9
 * campaign's (test/chaos/kill.test.ts arms these points at hits 1-3).
 */
const HITS = [1, 2];
const SIZES = [0, 1, 65_536, 1_048_577, 7, 300_000];

interface Acknowledged {
  readonly fileId: string;
  readonly content: Buffer;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out;
}

/** Uploads one file after another until the server dies; returns what it acknowledged. */
async function uploadUntilKilled(proc: ArtStoreProcess): Promise<Acknowledged[]> {
  const acknowledged: Acknowledged[] = [];
  for (let i = 0; i < 40; i += 1) {
    const content = randomBytes(SIZES[i % SIZES.length]!);
    let response: Response;
    try {
      response = await rawUpload(proc.url, content, { name: `crash-${i}.bin` });
    } catch {
      break; // connection reset: the process died during this upload
    }
    if (response.status !== 201)
      throw new Error(`upload ${i} answered ${response.status}: ${await response.text()}`);
    acknowledged.push({ fileId: (await json<{ file_id: string }>(response)).file_id, content });
  }
  const { signal } = await proc.exited;
  expect(signal).toBe('SIGKILL');
  return acknowledged;
}

/** After a restart: every acknowledged upload is intact, nothing partial is visible anywhere. */
async function verifyRecovered(base: string, dataDir: string, acknowledged: Acknowledged[]): Promise<void> {
  for (const { fileId, content } of acknowledged) {
    const response = await fetch(`${base}/api/v1/files/${fileId}/content`);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
  }
  const internal = { headers: { authorization: `Bearer ${await internalToken(base)}` } };
  const info = await json<{ wal_pending: number; file_count: number }>(
    await fetch(`${base}/internal/v1/storage-elements/edit-1/info`, internal),
  );
  expect(info.wal_pending).toBe(0);
  // Every file the storage element lists reads back matching its recorded checksum.
  const listed = await json<{ items: { file_id: string; sha256: string; size: number }[] }>(
    await fetch(`${base}/internal/v1/storage-elements/edit-1/attributes?limit=1000`, internal),
  );
  expect(listed.items.length).toBe(info.file_count);
  expect(listed.items.length).toBeGreaterThanOrEqual(acknowledged.length);
  for (const file of listed.items) {
    const bytes = Buffer.from(
      await (
        await fetch(`${base}/internal/v1/storage-elements/edit-1/files/${file.file_id}/content`, internal)
      ).arrayBuffer(),
    );
    expect(bytes.length).toBe(file.size);
    expect(sha256Hex(bytes)).toBe(file.sha256);
  }
  // On disk: no temp file, and blobs and sidecars come in complete pairs.
  const files = await filesUnder(join(dataDir, 'se', 'edit-1', 'blobs'));
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const sidecars = files.filter((f) => f.endsWith('.attr.json'));
  const blobs = files.filter((f) => !f.endsWith('.attr.json'));
  expect(sidecars.map((f) => f.slice(0, -'.attr.json'.length)).sort()).toEqual(blobs.sort());
  expect(blobs).toHaveLength(info.file_count);
}

describe('kill -9 inside the write path, restart, recover', () => {
  let prepared: TestDatabase;
  let preparedDir: string;
  let db: TestDatabase;
  let dataDir: string;

  // One first start (migrations, accounts, the storage elements' state files), copied for each
  // case: the failpoints then hit uploads only.
  beforeAll(async () => {
    prepared = await createTestDatabase();
    preparedDir = await mkdtemp(join(tmpdir(), 'artstore-crash-prepared-'));
    const first = await startServe(['--data-dir', preparedDir], { ARTSTORE_DATABASE_URL: prepared.url });
    await signInAsBootstrapAdmin(first.url, preparedDir);
    expect(await first.stop()).toBe(0);
  });

  afterAll(async () => {
    await prepared?.drop();
    if (preparedDir) await rm(preparedDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    db = await createTestDatabase(prepared);
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-crash-'));
    await cp(preparedDir, dataDir, { recursive: true });
  });

  afterEach(async () => {
    await killAll();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each(POINTS.flatMap((point) => HITS.map((hit) => [point, hit] as const)))(
    'at %s (hit %d): acknowledged uploads survive, nothing partial is visible',
    async (point, hit) => {
      const env = { ARTSTORE_DATABASE_URL: db.url };
      const doomed = await startServe(['--data-dir', dataDir], {
        ...env,
        ARTSTORE_FAILPOINTS: `${point}=kill@${hit}`,
      });
      // A token's issuer is the URL it was obtained at: each start on a new port signs in again.
      await signInAsBootstrapAdmin(doomed.url, dataDir);
      const acknowledged = await uploadUntilKilled(doomed);
      const restarted = await startServe(['--data-dir', dataDir], env);
      await signInAsBootstrapAdmin(restarted.url, dataDir);
      await verifyRecovered(restarted.url, dataDir, acknowledged);
      // The store keeps working after recovery.
      const after = await rawUpload(restarted.url, Buffer.from('after the crash'), { name: 'after.txt' });
      expect(after.status).toBe(201);
      expect(await restarted.stop()).toBe(0);
    },
  );
});
