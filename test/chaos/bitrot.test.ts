import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
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
 * sizes and encodings; one random bit is flipped on disk — in a file's blob, in its sidecar, or in
 * a record of an SE's write-ahead log. A blob is then read through the public API (a range, then
 * whole), a sidecar read back by a metadata change (PATCH), or either left for the scrub; the WAL
 * is read by replay when the server restarts. Every flip must be detected (a read or change
 * refused or broken off, a scrub failure, a damaged record reported by replay) and no 2xx may ever
 * carry a byte or a metadata field that differs from the original.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

interface Stored {
  readonly id: string;
  readonly content: Buffer;
  readonly blob: string;
  readonly seId: string;
  /** The document as the upload answered it. */
  readonly document: Record<string, unknown>;
}

/** The metadata a GET of the document must keep answering while its sidecar is damaged. */
const METADATA_FIELDS = [
  'file_id',
  'name',
  'content_type',
  'size',
  'sha256',
  'collection',
  'description',
  'tags',
  'metadata',
  'retention',
  'attr_version',
] as const;

describe('bit rot in blobs, sidecars and the write-ahead log', () => {
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
    const document = await json<Record<string, unknown> & { file_id: string }>(response);
    return { id: document.file_id, content, document, ...(await blobOf(document.file_id)) };
  }

  /** Flips one random bit of the file, or of bytes [from, to) of it; where. */
  async function flip(
    path: string,
    rand: () => number,
    span?: { from: number; to: number },
  ): Promise<number> {
    const handle = await open(path, 'r+');
    try {
      const { size } = await handle.stat();
      const at = span ? span.from + Math.floor(rand() * (span.to - span.from)) : Math.floor(rand() * size);
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, at);
      byte[0]! ^= 1 << Math.floor(rand() * 8);
      await handle.write(byte, 0, 1, at);
      await handle.sync();
      return at;
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

  /** Whether the file's fixity history holds a failed check by a scrub. */
  async function scrubFoundDamage(id: string): Promise<boolean> {
    const history = await json<{ items: { result: string; trigger: string }[] }>(
      await fetch(`${server.url}/api/v1/files/${id}/fixity?limit=20`),
    );
    return history.items.some((item) => item.result === 'failed' && item.trigger === 'scrub');
  }

  /** Scrubs each SE to its end; the ids of the files it failed (the first 100 of each). */
  async function scrubFailures(seIds: readonly string[]): Promise<Set<string>> {
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
    return failed;
  }

  /** Fields of the document that differ from what its upload answered, or null when it is not a 2xx. */
  async function metadataDifferences(file: Stored): Promise<string[] | null> {
    const response = await fetch(`${server.url}/api/v1/files/${file.id}`);
    if (response.status >= 300) {
      await response.arrayBuffer();
      return null;
    }
    const document = await json<Record<string, unknown>>(response);
    return METADATA_FIELDS.filter(
      (field) => JSON.stringify(document[field]) !== JSON.stringify(file.document[field]),
    );
  }

  it('detects every flipped bit of a blob and never serves a corrupt byte with a 2xx', async () => {
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
    const failed = await scrubFailures([...new Set(forScrub.map((f) => f.seId))]);
    for (const file of forScrub) {
      // The scrub's status lists its first 100 failures; every one is in the file's fixity history.
      if (failed.has(file.id) || (await scrubFoundDamage(file.id))) detectedByScrub += 1;
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

  it('detects every flipped bit of a sidecar and never serves metadata or bytes from it with a 2xx', async () => {
    const started = Date.now();
    const rand = seeded(78);
    const target = byTier(40, 150);
    // Sidecars of every shape: identity without chunks (1 B), with chunk digests, and with frames.
    const shapes: { size: number; compression: string; text: boolean }[] = [
      { size: 1, compression: 'none', text: false },
      { size: 20 * KiB, compression: 'none', text: false },
      { size: 300 * KiB, compression: 'gzip', text: true },
    ];
    let detectedByUpdate = 0;
    let detectedByScrub = 0;
    let corruptMetadataServed = 0;
    let corruptServed = 0;
    const missed: string[] = [];
    const forScrub: Stored[] = [];
    for (let n = 0; n < target; n += 1) {
      const shape = shapes[n % shapes.length]!;
      const content = shape.text ? documentText(shape.size, 5000 + n) : randomBytes(shape.size);
      const file = await store(content, shape.compression, 5000 + n);
      await flip(`${file.blob}.attr.json`, rand);
      // Every fourth flip is left for the scrub.
      if (n % 4 === 3) {
        forScrub.push(file);
        continue;
      }
      // A metadata change reads the sidecar back before writing the next one.
      const patched = await fetch(`${server.url}/api/v1/files/${file.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ description: `changed ${n}` }),
      });
      const problem = await patched.text();
      // The copy's check failed: 503 file_corrupt, the copy quarantined, as for a damaged blob.
      if (patched.status === 503 && problem.includes('"code":"file_corrupt"')) detectedByUpdate += 1;
      else missed.push(`${file.id}: a PATCH over its damaged sidecar answered ${patched.status} ${problem}`);
      const differing = await metadataDifferences(file);
      if (differing && differing.length > 0) corruptMetadataServed += 1;
      const whole = await get(file.id);
      if (whole.status < 300 && whole.body && !whole.body.equals(content)) corruptServed += 1;
    }
    const failed = await scrubFailures([...new Set(forScrub.map((f) => f.seId))]);
    for (const file of forScrub) {
      if (failed.has(file.id)) detectedByScrub += 1;
      else missed.push(`${file.id}: its damaged sidecar is not in the scrub's failures`);
      const differing = await metadataDifferences(file);
      if (differing && differing.length > 0) corruptMetadataServed += 1;
    }
    const detected = detectedByUpdate + detectedByScrub;
    recordFigures('bit rot (sidecars)', [
      { name: 'flips', value: target, target: `≥ ${byTier(35, 150)}`, ok: target >= byTier(35, 150) },
      {
        name: 'detected',
        value: `${detected} (${Math.round((detected / target) * 100)} %)`,
        target: '100 %',
        ok: detected === target,
      },
      { name: 'detected by metadata changes (PATCH reads the sidecar back)', value: detectedByUpdate },
      { name: 'detected by scrub', value: detectedByScrub },
      {
        name: 'corrupt metadata served with a 2xx',
        value: corruptMetadataServed,
        target: '0',
        ok: corruptMetadataServed === 0,
      },
      { name: 'corrupt bytes served with a 2xx', value: corruptServed, target: '0', ok: corruptServed === 0 },
      { name: 'seconds', value: Math.round((Date.now() - started) / 1000) },
    ]);
    expect(missed).toEqual([]);
    expect(corruptMetadataServed).toBe(0);
    expect(corruptServed).toBe(0);
  });

  it('detects every flipped bit of a write-ahead log record at restart and applies no wrong change', async () => {
    const started = Date.now();
    const rand = seeded(79);
    const target = byTier(40, 150);
    // Creates, metadata changes and deletes: begin, commit and abort records of every operation.
    const kept: Stored[] = [];
    const deleted: string[] = [];
    for (let n = 0; n < target; n += 1) {
      const content = randomBytes(1 + Math.floor(rand() * 4 * KiB));
      const file = await store(content, 'none', 9000 + n);
      if (n % 5 === 1) {
        const removed = await fetch(`${server.url}/api/v1/files/${file.id}`, { method: 'DELETE' });
        await removed.arrayBuffer();
        expect(removed.status).toBeLessThan(300);
        deleted.push(file.id);
        continue;
      }
      if (n % 5 === 2) {
        const patched = await fetch(`${server.url}/api/v1/files/${file.id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ description: `kept ${n}` }),
        });
        await patched.arrayBuffer();
        expect(patched.status).toBe(200);
      }
      kept.push(file);
    }
    await server.stop();

    // One bit in each of `target` records (its newline included), on every other line of a segment:
    // a flipped newline joins two lines, and the one it joins must be intact.
    const segments = (await readdir(dataDir, { recursive: true }))
      .filter((name) => /(^|[/\\])wal[/\\]wal-\d{12}\.log$/u.test(name))
      .map((name) => join(dataDir, name));
    const candidates: { path: string; from: number; to: number }[] = [];
    for (const path of segments) {
      const bytes = await readFile(path);
      for (
        let i = 0, from = 0, end = bytes.indexOf(0x0a);
        end >= 0;
        i += 1, end = bytes.indexOf(0x0a, from)
      ) {
        if (i % 2 === 0) candidates.push({ path, from, to: end + 1 });
        from = end + 1;
      }
    }
    expect(candidates.length).toBeGreaterThanOrEqual(target);
    const flipped: { path: string; at: number }[] = [];
    while (flipped.length < target) {
      const [line] = candidates.splice(Math.floor(rand() * candidates.length), 1);
      flipped.push({ path: line!.path, at: await flip(line!.path, rand, line) });
    }

    server = await startServe(['--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_SCRUB_INTERVAL_S: '0',
    });
    await signInAsBootstrapAdmin(server.url, dataDir);
    const reported = server.lines
      .filter((line) => line.includes('damaged write-ahead log record'))
      .map((line) => JSON.parse(line) as { se: string; segment: string; offset: number; length: number });
    let detected = 0;
    const missed: string[] = [];
    for (const flip of flipped) {
      const covered = reported.some(
        (r) =>
          flip.path.endsWith(join(r.se, 'wal', r.segment)) &&
          r.offset <= flip.at &&
          flip.at < r.offset + r.length,
      );
      if (covered) detected += 1;
      else missed.push(`${flip.path} byte ${flip.at}: not reported by replay`);
    }
    // No wrong change: every kept file reads back whole, with its metadata; every deleted one is gone.
    let wrong = 0;
    for (const file of kept) {
      const whole = await get(file.id);
      const differing = await metadataDifferences(file);
      if (whole.status !== 200 || !whole.body?.equals(file.content) || differing === null) wrong += 1;
    }
    for (const id of deleted) {
      const response = await fetch(`${server.url}/api/v1/files/${id}/content`);
      await response.arrayBuffer();
      if (response.status !== 404) wrong += 1;
    }
    const seIds = [...new Set(reported.map((r) => r.se))];
    const healthProblems: string[] = [];
    for (const seId of seIds) {
      const info = await json<{ health: { problems: string[] } }>(
        await fetch(`${server.url}/api/v1/storage-elements/${seId}/info`),
      );
      healthProblems.push(...info.health.problems.filter((p) => p.includes('write-ahead log')));
    }
    recordFigures('bit rot (WAL records)', [
      {
        name: 'flips',
        value: flipped.length,
        target: `≥ ${byTier(35, 150)}`,
        ok: flipped.length >= byTier(35, 150),
      },
      {
        name: 'detected by replay at restart',
        value: `${detected} (${Math.round((detected / flipped.length) * 100)} %)`,
        target: '100 %',
        ok: detected === flipped.length,
      },
      { name: 'damaged records reported', value: reported.length },
      { name: 'files not as acknowledged after the restart', value: wrong, target: '0', ok: wrong === 0 },
      { name: 'seconds', value: Math.round((Date.now() - started) / 1000) },
    ]);
    expect(missed).toEqual([]);
    expect(wrong).toBe(0);
    expect(healthProblems).toHaveLength(seIds.length);
    expect(flipped.length).toBeGreaterThanOrEqual(byTier(35, 150));
  });
});
