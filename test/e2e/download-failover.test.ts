import { randomBytes } from 'node:crypto';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { killAll } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { documentText } from '../support/documents';
import { download, json, rawUpload, sha256Hex } from '../support/http';
import { startSplit, type SplitDeployment } from '../support/split';

/**
 * §3.4 over real processes: two rw SEs in two data centres hold every permanent file; the query
 * process sits in dc-a, so it reads rw-1 first. No byte of a damaged chunk is passed on, and
 * killing rw-1 in the middle of downloads leaves each client with one complete, correct body.
 */
const MiB = 1024 * 1024;
const REPLICATED = { ARTSTORE_REPLICATION_PERMANENT: '2' };

let db: TestDatabase;
let dataDir: string;
let split: SplitDeployment;
/** Downloads still open when a test fails: cut before the processes stop (they would wait for them). */
const openRequests = new Set<ClientRequest>();

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-failover-'));
  split = await startSplit({
    databaseUrl: db.url,
    dataDir,
    storageElements: [
      { id: 'rw-1', mode: 'rw', env: { ARTSTORE_SE_DC: 'dc-a' } },
      { id: 'rw-2', mode: 'rw', env: { ARTSTORE_SE_DC: 'dc-b' } },
    ],
    adminEnv: REPLICATED,
    ingesterEnv: REPLICATED,
    queryEnv: { ARTSTORE_DC: 'dc-a' },
  });
});

afterAll(async () => {
  for (const req of openRequests) req.destroy();
  await Promise.all(split.processes.filter((p) => p.child.exitCode === null).map((p) => p.stop()));
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});
afterAll(killAll);

async function upload(content: Buffer, compression: string): Promise<string> {
  const response = await rawUpload(split.ingester.url, content, {
    name: `f.${compression}.bin`,
    compression,
    retention_policy: 'permanent',
  });
  if (response.status !== 201)
    throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  const view = await json<{ file_id: string; copies?: unknown }>(response);
  return view.file_id;
}

/** Overwrites `length` bytes in the middle of rw-1's stored copy (bit rot the SE has not seen yet). */
async function damageOnRw1(fileId: string): Promise<void> {
  const blobs = join(dataDir, 'rw-1', 'se', 'rw-1', 'blobs');
  const name = (await readdir(blobs, { recursive: true })).find(
    (n) => n.includes(fileId) && !n.endsWith('.attr.json'),
  );
  const handle = await open(join(blobs, name!), 'r+');
  const { size } = await handle.stat();
  await handle.write(randomBytes(16), 0, 16, Math.floor(size / 2));
  await handle.close();
}

/** Requests on `seId`'s internal content route for the file, with their statuses. */
function contentRequests(seId: string, fileId: string): number[] {
  return split.storage
    .get(seId)!
    .lines.filter((l) => l.includes(`/files/${fileId}/content`) && l.includes('"msg":"request'))
    .map((l) => (JSON.parse(l) as { status: number }).status);
}

/** A download the test reads at its own pace: it stops reading at `pauseAt` bytes until resumed. */
function pacedDownload(fileId: string, pauseAt: number, headers: Record<string, string> = {}) {
  const chunks: Buffer[] = [];
  let received = 0;
  let paused: () => void = () => undefined;
  const reachedPause = new Promise<void>((resolve) => (paused = resolve));
  let response!: IncomingMessage;
  const done = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = get(
      `${split.query.url}/api/v1/files/${fileId}/content`,
      { headers: { authorization: `Bearer ${split.adminToken}`, ...headers } },
      (res) => {
        response = res;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (received >= pauseAt && !res.isPaused() && pauseAt > 0) {
            pauseAt = 0;
            res.pause();
            paused();
          }
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    openRequests.add(req);
    req.once('close', () => openRequests.delete(req));
  });
  return {
    reachedPause,
    done,
    received: () => received,
    resume: () => response.resume(),
  };
}

describe('replica fail-over (split, two data centres)', () => {
  it('serves a small file whose nearer copy is damaged from the other copy, whole and in ranges', async () => {
    const content = randomBytes(200_000);
    const fileId = await upload(content, 'none');
    await damageOnRw1(fileId);
    const whole = await download(split.query.url, fileId);
    expect(whole.response.status).toBe(200);
    expect(whole.body.equals(content)).toBe(true);
    const range = await download(split.query.url, fileId, { range: 'bytes=99000-99999' });
    expect(range.response.status).toBe(206);
    expect(range.body.equals(content.subarray(99_000, 100_000))).toBe(true);
    // rw-1 (nearer) refused before sending a byte (file_corrupt); rw-2 served. (Either SE may also
    // show the 200 of the read that wrote the second copy.)
    expect(contentRequests('rw-1', fileId)).toContain(503);
    expect(contentRequests('rw-2', fileId)).toContain(200);
  });

  it('serves a large download whose nearer copy is damaged intact: rw-1 stops before the damaged chunk, rw-2 continues', async () => {
    const content = randomBytes(8 * MiB);
    const fileId = await upload(content, 'none');
    await damageOnRw1(fileId);
    // Too large to check before sending: rw-1 streams its chunks, each checked before it goes out,
    // and fails at the damaged one; the query process continues from rw-2 at that byte offset.
    const whole = await download(split.query.url, fileId);
    expect(whole.response.status).toBe(200);
    expect(sha256Hex(whole.body)).toBe(sha256Hex(content));
    // rw-1 quarantined its copy on the failed check: the next download is rw-2's alone.
    const next = await download(split.query.url, fileId);
    expect(next.response.status).toBe(200);
    expect(sha256Hex(next.body)).toBe(sha256Hex(content));
  });

  it('answers a Range over a damaged chunk of a large copy with the right bytes from the other copy', async () => {
    // The damage is 16 bytes at 4 MiB, the start of a 256 KiB chunk.
    const insideContent = randomBytes(8 * MiB);
    const acrossContent = randomBytes(8 * MiB);
    const inside = await upload(insideContent, 'none');
    const across = await upload(acrossContent, 'none');
    await damageOnRw1(inside);
    await damageOnRw1(across);

    // Wholly inside the damaged chunk: rw-1 refuses before a byte (file_corrupt), rw-2 answers.
    const hit = await download(split.query.url, inside, { range: `bytes=${4 * MiB}-${4 * MiB + 65_535}` });
    expect(hit.response.status).toBe(206);
    expect(hit.body.equals(insideContent.subarray(4 * MiB, 4 * MiB + 65_536))).toBe(true);
    expect(contentRequests('rw-1', inside)).toContain(503);

    // From an intact chunk across the damaged one: rw-1 sends the intact chunk, fails, rw-2 goes on.
    const start = 4 * MiB - 100_000;
    const cross = await download(split.query.url, across, { range: `bytes=${start}-${start + 199_999}` });
    expect(cross.response.status).toBe(206);
    expect(cross.body.equals(acrossContent.subarray(start, start + 200_000))).toBe(true);
    expect(contentRequests('rw-2', across).length).toBeGreaterThan(0);
  });

  it('finishes downloads of identity and compressed files intact when the SE serving them is killed mid-transfer', async () => {
    const identity = randomBytes(48 * MiB);
    const text = documentText(24 * MiB, 11);
    const files: { content: Buffer; id: string; headers: Record<string, string> }[] = [
      { content: identity, id: await upload(identity, 'none'), headers: {} },
      { content: text, id: await upload(text, 'gzip'), headers: {} },
      // Passed through as stored (gzip frames of incompressible bytes, so still 48 MiB on the
      // wire): continued on rw-2 from the same stored byte.
      { content: identity, id: await upload(identity, 'gzip'), headers: { 'accept-encoding': 'gzip' } },
    ];
    const downloads = files.map((f) => pacedDownload(f.id, 4 * MiB, f.headers));
    await Promise.all(downloads.map((d) => d.reachedPause));
    // Both are being read from rw-1 (same dc as the query process); nothing asked rw-2 for a range
    // yet. (The read that wrote the second copy shows as a 200 on whichever SE got the first one.)
    for (const f of files) {
      expect(contentRequests('rw-1', f.id)).toContain(200);
      expect(contentRequests('rw-2', f.id)).not.toContain(206);
    }
    await split.storage.get('rw-1')!.kill();
    for (const d of downloads) d.resume();
    const results = await Promise.all(downloads.map((d) => d.done));
    for (const [i, result] of results.entries()) {
      expect(result.status).toBe(200);
      const body = files[i]!.headers['accept-encoding'] ? gunzipSync(result.body) : result.body;
      expect(body.length).toBe(files[i]!.content.length);
      expect(sha256Hex(body)).toBe(sha256Hex(files[i]!.content));
      // rw-2 was asked for the rest once: a range starting where rw-1 stopped.
      expect(contentRequests('rw-2', files[i]!.id).filter((status) => status === 206)).toHaveLength(1);
    }
  });
});
