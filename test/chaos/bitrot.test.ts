import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, sep } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { documentText, seeded } from '../support/documents';
import { json, rawUpload } from '../support/http';
import { eventually } from '../support/poll';
import { recordFigures } from './support/figures';
import { byTier } from './support/tier';

afterAll(killAll);

/**
 * Issue 7, bit rot: a real deployment (`artstore serve`, local-disk SEs) stores files of several
 * sizes and encodings; one random byte of a file's blob is flipped on disk, then the file is read
 * through the public API (a range, then whole) or left for the scrub. Every flip must be detected
 * (a read refused or broken off, or a scrub failure) and no 2xx may ever carry a byte that differs
 * from the original.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

interface Stored {
  readonly id: string;
  readonly content: Buffer;
  readonly blob: string;
  readonly seId: string;
}

describe('bit rot in blobs', () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: ArtStoreProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-chaos-bitrot-'));
    server = await startServe(['--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_SCRUB_INTERVAL_S: '0',
    });
    await signInAsBootstrapAdmin(server.url, dataDir);
  });

  afterAll(async () => {
    await server.stop();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function blobOf(id: string): Promise<{ blob: string; seId: string }> {
    const names = await readdir(dataDir, { recursive: true });
    const name = names.find(
      (n) =>
        n.includes(id) &&
        !n.endsWith('.attr.json') &&
        !n.includes(`${sep}quarantine${sep}`) &&
        !basename(n).startsWith('.'),
    );
    if (!name) throw new Error(`no blob of ${id} under ${dataDir}`);
    const parts = name.split(sep);
    const seId = parts[parts.indexOf('blobs') - 1]!;
    return { blob: join(dataDir, name), seId };
  }

  async function store(content: Buffer, compression: string, n: number): Promise<Stored> {
    const response = await rawUpload(server.url, content, { name: `rot-${n}.txt`, compression });
    expect(response.status).toBe(201);
    const { file_id: id } = await json<{ file_id: string }>(response);
    return { id, content, ...(await blobOf(id)) };
  }

  async function flip(path: string, rand: () => number): Promise<void> {
    const handle = await open(path, 'r+');
    try {
      const { size } = await handle.stat();
      const at = Math.floor(rand() * size);
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, at);
      byte[0]! ^= 1 << Math.floor(rand() * 8);
      await handle.write(byte, 0, 1, at);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Status and body, or null for the body when the transfer broke off. */
  async function get(id: string, range?: string): Promise<{ status: number; body: Buffer | null }> {
    // A connection closed before the headers is a refusal too: no 2xx, no bytes.
    const response = await fetch(`${server.url}/api/v1/files/${id}/content`, {
      headers: { 'accept-encoding': 'identity', ...(range ? { range } : {}) },
    }).catch(() => null);
    if (!response) return { status: 0, body: null };
    const body = await response.arrayBuffer().then(
      (b) => Buffer.from(b),
      () => null,
    );
    return { status: response.status, body };
  }

  it('detects every flipped byte and never serves a corrupt byte with a 2xx', async () => {
    const started = Date.now();
    const rand = seeded(77);
    const rounds = byTier(21, 110);
    const shapes: { size: number; compression: string; text: boolean }[] = [
      { size: 1, compression: 'none', text: false },
      { size: 20 * KiB, compression: 'none', text: false },
      { size: 300 * KiB, compression: 'gzip', text: true },
      { size: 1536 * KiB, compression: 'br', text: true },
      // Ranges of identity copies > 1 MiB are verified once branch range-verify is merged.
      { size: 1200 * KiB, compression: 'none', text: false },
    ];
    let flips = 0;
    let detectedByRead = 0;
    let detectedByScrub = 0;
    let corruptServed = 0;
    let corruptRangeOfLargeIdentity = 0;
    const missed: string[] = [];
    const forScrub: Stored[] = [];
    for (let round = 0; round < rounds; round += 1) {
      for (const [i, shape] of shapes.entries()) {
        const content = shape.text ? documentText(shape.size, round * 10 + i) : randomBytes(shape.size);
        const file = await store(content, shape.compression, round * 10 + i);
        await flip(file.blob, rand);
        flips += 1;
        // Every fourth round's flips are left for the scrub.
        if (round % 4 === 3) {
          forScrub.push(file);
          continue;
        }
        const start = Math.floor(rand() * content.length);
        const end = Math.min(content.length - 1, start + Math.floor(rand() * 256 * KiB));
        const ranged = await get(file.id, `bytes=${start}-${end}`);
        if (ranged.status < 300 && ranged.body && !ranged.body.equals(content.subarray(start, end + 1))) {
          corruptServed += 1;
          if (shape.compression === 'none' && content.length > MiB) corruptRangeOfLargeIdentity += 1;
        }
        const whole = await get(file.id);
        if (whole.status < 300 && whole.body?.equals(content)) {
          missed.push(
            `${file.id} (${shape.size} B ${shape.compression}): served whole and intact after a flip`,
          );
        } else if (whole.status < 300 && whole.body && whole.body.length === content.length) {
          corruptServed += 1;
        } else detectedByRead += 1;
        // Once detected, the damaged copy is never served again.
        const again = await get(file.id);
        if (again.status < 300 && again.body && !again.body.equals(content)) corruptServed += 1;
      }
    }
    // The scrub of every SE holding files flipped and left unread.
    const seIds = [...new Set(forScrub.map((f) => f.seId))];
    const failed = new Set<string>();
    for (const seId of seIds) {
      const startedScrub = await fetch(`${server.url}/api/v1/storage-elements/${seId}/scrub`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rate_bytes_per_second: 512 * MiB }),
      });
      expect(startedScrub.status).toBe(202);
      const status = await eventually(
        async () =>
          json<{ state: string; failures: { file_id: string }[] }>(
            await fetch(`${server.url}/api/v1/storage-elements/${seId}/scrub`),
          ),
        (s) => s.state !== 'running',
        60_000,
      );
      expect(status.state).toBe('finished');
      for (const failure of status.failures) failed.add(failure.file_id);
    }
    for (const file of forScrub) {
      if (failed.has(file.id)) detectedByScrub += 1;
      else missed.push(`${file.id}: not in the scrub's failures (blob ${dirname(file.blob)})`);
    }
    const target = byTier(100, 500);
    const detected = detectedByRead + detectedByScrub;
    recordFigures('bit rot (blobs)', [
      { name: 'flips', value: flips, target: `≥ ${target}`, ok: flips >= target },
      {
        name: 'detected',
        value: `${detected} (${Math.round((detected / flips) * 100)} %)`,
        target: '100 %',
        ok: detected === flips,
      },
      { name: 'detected by reads', value: detectedByRead },
      { name: 'detected by scrub', value: detectedByScrub },
      { name: 'corrupt bytes served with a 2xx', value: corruptServed, target: '0', ok: corruptServed === 0 },
      {
        name: '… of which ranges of identity copies > 1 MiB (branch range-verify)',
        value: corruptRangeOfLargeIdentity,
      },
      { name: 'seconds', value: Math.round((Date.now() - started) / 1000) },
    ]);
    expect(missed).toEqual([]);
    expect(corruptServed).toBe(0);
    expect(flips).toBeGreaterThanOrEqual(target);
  });
});
