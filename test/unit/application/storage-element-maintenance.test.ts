import { Readable } from 'node:stream';
import { MemoryBlobStore } from '../../../src/adapters/memory/memory-blob-store';
import type { ByteRange } from '../../../src/application/ports/blob-store';
import { ApplicationError } from '../../../src/application/errors';
import type { ReconcileFindingKind } from '../../../src/application/ports/storage-element-client';
import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import { aDraft } from '../../support/builders';
import { aStartedElement, readAll, source, type MemoryElement } from '../../support/fakes';

const CONTENT = Buffer.from('the quick brown fox jumps over the lazy dog');
const CHUNK = 64 * 1024;

/** Serves blobs in 64 KiB chunks, as a file system stream does. */
class ChunkedBlobStore extends MemoryBlobStore {
  override async get(key: string, range?: ByteRange): Promise<Readable> {
    const whole = await readAll(await super.get(key, range));
    const chunks: Buffer[] = [];
    for (let at = 0; at < whole.length; at += CHUNK) chunks.push(whole.subarray(at, at + CHUNK));
    return Readable.from(chunks);
  }
}

/** Holds the next read of a blob until released, so a test can run something in between. */
class GatedBlobStore extends MemoryBlobStore {
  private gate: { arrived: () => void; wait: Promise<void> } | null = null;
  holdNextGet(): { reached: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const wait = new Promise<void>((resolve) => (release = resolve));
    this.gate = { arrived, wait };
    return { reached, release };
  }
  private async pass(): Promise<void> {
    const gate = this.gate;
    this.gate = null;
    if (gate) {
      gate.arrived();
      await gate.wait;
    }
  }
  override async get(key: string, range?: ByteRange): Promise<Readable> {
    await this.pass();
    return super.get(key, range);
  }
  override async read(key: string): Promise<Buffer> {
    await this.pass();
    return super.read(key);
  }
}

/** Reads fail with an I/O error while `failReads` is set (a flaky disk or network). */
class FailingReadBlobStore extends MemoryBlobStore {
  failReads = false;
  override async read(key: string): Promise<Buffer> {
    if (this.failReads) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    return super.read(key);
  }
}

async function withFiles(
  count: number,
  options: Parameters<typeof aStartedElement>[0] = {},
): Promise<{ element: MemoryElement; files: DocumentAttributes[] }> {
  const element = await aStartedElement({ mode: 'rw', ...options });
  const files: DocumentAttributes[] = [];
  for (let i = 0; i < count; i += 1)
    files.push(
      await element.service.put(aDraft({ name: `doc-${i}.txt` }), source(`${CONTENT.toString()} ${i}`), {
        size: CONTENT.length + 1 + String(i).length,
      }),
    );
  return { element, files };
}

/** Flips one bit of the stored blob, as bit rot does. */
function flipBit(element: MemoryElement, file: DocumentAttributes, at = 3): void {
  const damaged = Buffer.from(element.blobs.objects.get(file.stored.key)!);
  damaged[at]! ^= 0x01;
  element.blobs.objects.set(file.stored.key, damaged);
}

const quarantined = (element: MemoryElement): string[] =>
  [...element.blobs.objects.keys()].filter((k) => k.startsWith('quarantine/')).sort();

function nonZero(counts: Readonly<Record<ReconcileFindingKind, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

describe('StorageElementService.reconcile', () => {
  it('finds nothing on an intact SE, with or without checksums', async () => {
    const { element, files } = await withFiles(3);
    for (const checksums of [false, true]) {
      const report = await element.service.reconcile({ repair: true, checksums });
      expect(report.findings).toEqual([]);
      expect(report.scanned).toEqual({ objects: 6, sidecars: 3, rows: 3 });
    }
    expect(element.fixity.checks.filter((c) => c.trigger === 'reconcile')).toHaveLength(3);
    expect(element.fixity.checks.every((c) => c.ok)).toBe(true);
    expect((await element.service.info()).fileCount).toBe(files.length);
  });

  it('reports an orphan blob and, when repairing, moves it to quarantine', async () => {
    const { element } = await withFiles(1);
    const orphan = '2026/03/01/stray_0190f1a2-0000-7000-8000-000000000001.bin';
    element.blobs.objects.set(orphan, Buffer.from('who wrote me?'));

    const dry = await element.service.reconcile({ repair: false, checksums: false });
    expect(dry.findings).toEqual([
      {
        kind: 'orphan_blob',
        key: orphan,
        fileId: '0190f1a2-0000-7000-8000-000000000001',
        detail: 'blob without a sidecar',
        action: 'reported',
      },
    ]);
    expect(element.blobs.objects.has(orphan)).toBe(true);

    const repaired = await element.service.reconcile({ repair: true, checksums: false });
    expect(repaired.findings.map((f) => [f.kind, f.action])).toEqual([['orphan_blob', 'quarantined']]);
    expect(element.blobs.objects.has(orphan)).toBe(false);
    expect(quarantined(element)).toEqual([expect.stringMatching(new RegExp(`^quarantine/[^/]+/${orphan}$`))]);
    expect(element.observer.quarantines).toEqual([
      expect.objectContaining({
        seId: 'se-1',
        fileId: '0190f1a2-0000-7000-8000-000000000001',
        reason: 'blob without a sidecar',
      }),
    ]);
    expect((await element.service.reconcile({ repair: true, checksums: false })).findings).toEqual([]);
  });

  it('quarantines the sidecar of a missing blob and stops claiming the file', async () => {
    const { element, files } = await withFiles(2);
    const [lost, kept] = files as [DocumentAttributes, DocumentAttributes];
    element.blobs.objects.delete(lost.stored.key);

    const report = await element.service.reconcile({ repair: true, checksums: false });
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'missing_blob', fileId: lost.fileId, action: 'quarantined' }),
    ]);
    await expect(element.service.head(lost.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(element.service.head(kept.fileId)).resolves.toMatchObject({ fileId: kept.fileId });
    expect(quarantined(element)).toEqual([expect.stringContaining(sidecarKeyFor(lost.stored.key))]);
    expect((await element.service.info()).fileCount).toBe(1);
  });

  it('quarantines a blob whose size differs from its sidecar', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    element.blobs.objects.set(file.stored.key, CONTENT.subarray(0, 5));
    const report = await element.service.reconcile({ repair: true, checksums: false });
    expect(report.findings).toEqual([
      expect.objectContaining({
        kind: 'size_mismatch',
        fileId: file.fileId,
        detail: `size 5 differs from the recorded ${file.size}`,
        action: 'quarantined',
      }),
    ]);
    expect(quarantined(element)).toHaveLength(2);
  });

  it('finds a flipped bit only with checksums, and records the failed fixity check', async () => {
    const { element, files } = await withFiles(2);
    flipBit(element, files[0]!);
    expect((await element.service.reconcile({ repair: false, checksums: false })).findings).toEqual([]);
    const report = await element.service.reconcile({ repair: false, checksums: true });
    expect(nonZero(report.counts)).toEqual({ checksum_mismatch: 1 });
    expect(report.findings[0]).toMatchObject({ fileId: files[0]!.fileId, action: 'reported' });
    expect(await element.fixity.history(files[0]!.fileId, { limit: 5 })).toEqual([
      expect.objectContaining({
        ok: false,
        detail: 'checksum differs from the sidecar',
        trigger: 'reconcile',
      }),
    ]);
  });

  it('rewrites a torn sidecar from the cache row when the blob still matches it', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    const key = sidecarKeyFor(file.stored.key);
    const intact = element.blobs.objects.get(key)!;
    element.blobs.objects.set(key, intact.subarray(0, intact.length >> 1));

    const report = await element.service.reconcile({ repair: true, checksums: false });
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'corrupt_sidecar', key, fileId: file.fileId, action: 'repaired' }),
    ]);
    expect(element.codec.decode(element.blobs.objects.get(key)!)).toEqual(file);
    expect(quarantined(element)).toEqual([]);
  });

  it('quarantines a torn sidecar it cannot prove, blob and all', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    const key = sidecarKeyFor(file.stored.key);
    element.blobs.objects.set(key, Buffer.from('{"file_id": "'));
    flipBit(element, file);
    const report = await element.service.reconcile({ repair: true, checksums: false });
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'corrupt_sidecar', action: 'quarantined' }),
    ]);
    expect(quarantined(element)).toHaveLength(2);
    await expect(element.service.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('rebuilds missing and stale cache rows from the sidecars and drops rows without one', async () => {
    const { element, files } = await withFiles(3);
    const [unindexed, stale, gone] = files as [DocumentAttributes, DocumentAttributes, DocumentAttributes];
    await element.index.remove('se-1', unindexed.fileId);
    await element.index.upsert('se-1', { ...stale, description: 'old', attrVersion: 0 });
    element.blobs.objects.delete(gone.stored.key);
    element.blobs.objects.delete(sidecarKeyFor(gone.stored.key));

    const report = await element.service.reconcile({ repair: true, checksums: false });
    expect(nonZero(report.counts)).toEqual({ missing_row: 1, stale_row: 2 });
    expect(await element.index.get('se-1', unindexed.fileId)).toEqual(unindexed);
    expect(await element.index.get('se-1', stale.fileId)).toEqual(stale);
    expect(await element.index.get('se-1', gone.fileId)).toBeNull();
    expect((await element.service.info()).fileCount).toBe(2);
  });

  it('finishes a delete whose tombstone sidecar was left behind', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    const key = sidecarKeyFor(file.stored.key);
    element.blobs.objects.set(key, element.codec.encode({ ...file, status: 'deleted', attrVersion: 2 }));
    const report = await element.service.reconcile({ repair: true, checksums: false });
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: 'leftover_tombstone', fileId: file.fileId, action: 'removed' }),
    ]);
    expect([...element.blobs.objects.keys()]).toEqual([]);
    expect(await element.index.get('se-1', file.fileId)).toBeNull();
  });
});

describe('StorageElementService scrub', () => {
  async function scrubbed(element: MemoryElement): Promise<void> {
    await element.service.startScrub({ rateBytesPerSecond: null });
    // The scrub runs in the background; its status is the only way to see it end.
    for (let i = 0; i < 1000 && (await element.service.scrubStatus()).state === 'running'; i += 1)
      await new Promise((resolve) => setImmediate(resolve));
  }

  it('re-hashes every file, records a passing fixity check for each and reports progress', async () => {
    const { element, files } = await withFiles(3);
    expect((await element.service.scrubStatus()).state).toBe('idle');
    await scrubbed(element);
    expect(await element.service.scrubStatus()).toMatchObject({
      state: 'finished',
      filesTotal: 3,
      filesChecked: 3,
      bytesChecked: files.reduce((sum, f) => sum + f.size, 0),
      failureCount: 0,
      failures: [],
      error: null,
    });
    for (const file of files)
      expect(await element.fixity.history(file.fileId, { limit: 5 })).toEqual([
        expect.objectContaining({ seId: 'se-1', ok: true, detail: null, trigger: 'scrub' }),
      ]);
    expect((await element.service.info()).health).toEqual({ status: 'ok', problems: [] });
  });

  it('quarantines a file with a flipped bit, records the failure and reports the SE degraded', async () => {
    const { element, files } = await withFiles(3);
    flipBit(element, files[1]!);
    await scrubbed(element);
    expect(await element.service.scrubStatus()).toMatchObject({
      state: 'finished',
      filesChecked: 3,
      failureCount: 1,
      failures: [{ fileId: files[1]!.fileId, problem: 'checksum differs from the sidecar' }],
    });
    expect(await element.fixity.history(files[1]!.fileId, { limit: 5 })).toEqual([
      expect.objectContaining({ ok: false, detail: 'checksum differs from the sidecar', trigger: 'scrub' }),
    ]);
    await expect(element.service.open(files[1]!.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect(quarantined(element)).toHaveLength(2);
    const info = await element.service.info();
    expect(info.fileCount).toBe(2);
    expect(info.health.status).toBe('degraded');
    expect(info.health.problems).toEqual([
      'the last scrub found 1 damaged or unreadable file(s)',
      '1 file(s) quarantined since start',
    ]);
  });

  it('runs one scrub at a time and stops a throttled one on request', async () => {
    const { element } = await withFiles(2);
    // One byte a second: the scrub is still on its first file when the second start comes.
    const first = await element.service.startScrub({ rateBytesPerSecond: 1 });
    expect(first).toMatchObject({ state: 'running', rateBytesPerSecond: 1 });
    await expect(element.service.startScrub({ rateBytesPerSecond: null })).rejects.toMatchObject({
      code: 'conflict',
    });
    await element.service.stop();
    expect(await element.service.scrubStatus()).toMatchObject({
      state: 'failed',
      error: 'stopped before the end',
    });
    expect((await element.service.info()).health.problems).toEqual([
      'the last scrub stopped: stopped before the end',
    ]);
  });

  it('gates ro → ar on a full scrub, quarantining what it finds', async () => {
    const { element, files } = await withFiles(2);
    await element.service.changeMode('ro', false);
    flipBit(element, files[0]!);
    await expect(element.service.changeMode('ar', false)).rejects.toMatchObject({
      code: 'conflict',
      details: { file_id: files[0]!.fileId, damaged: 1 },
    });
    expect(element.service.currentMode()).toBe('ro');
    expect(element.fixity.checks.map((c) => [c.fileId, c.ok, c.trigger]).sort()).toEqual(
      [
        [files[0]!.fileId, false, 'mode_gate'],
        [files[1]!.fileId, true, 'mode_gate'],
      ].sort(),
    );
    // The damaged copy is gone from this SE: what is left passes.
    await expect(element.service.changeMode('ar', false)).resolves.toMatchObject({ mode: 'ar' });
  });
});

describe('StorageElementService verifies what it serves', () => {
  it('refuses a small corrupt file before sending a byte, and quarantines it', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    flipBit(element, file);
    const opening = element.service.open(file.fileId);
    await expect(opening).rejects.toBeInstanceOf(ApplicationError);
    await expect(opening).rejects.toMatchObject({ code: 'file_corrupt' });
    expect(await element.fixity.history(file.fileId, { limit: 5 })).toEqual([
      expect.objectContaining({ ok: false, trigger: 'read', detail: 'checksum differs from the sidecar' }),
    ]);
    await expect(element.service.open(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('fails a large corrupt read before its last bytes, so no complete corrupt copy goes out', async () => {
    const blobs = new ChunkedBlobStore(10_000_000);
    const element = await aStartedElement({ mode: 'rw', blobs, verifyOnReadMaxBytes: 0 });
    const content = Buffer.alloc(300_000, 7);
    const file = await element.service.put(aDraft(), source(content), { size: content.length });
    const intact = await element.service.open(file.fileId);
    expect((await readAll(intact.stream)).equals(content)).toBe(true);

    const damaged = Buffer.from(content);
    damaged[299_999] = 8;
    blobs.objects.set(file.stored.key, damaged);
    const opened = await element.service.open(file.fileId);
    const received: Buffer[] = [];
    await expect(
      (async () => {
        for await (const chunk of opened.stream) received.push(chunk as Buffer);
      })(),
    ).rejects.toMatchObject({ code: 'file_corrupt' });
    // Every chunk but the held-back last one went out, in order.
    expect(
      Buffer.concat(received).equals(damaged.subarray(0, Math.floor(content.length / CHUNK) * CHUNK)),
    ).toBe(true);
    await expect(element.service.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('verifies a range that covers every byte as a whole read (bytes=0-)', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    flipBit(element, file);
    await expect(element.service.open(file.fileId, { start: 0, end: file.size - 1 })).rejects.toMatchObject({
      code: 'file_corrupt',
    });
  });

  it('quarantines a file once when two reads find it corrupt together', async () => {
    const { element, files } = await withFiles(2);
    flipBit(element, files[0]!);
    const reads = await Promise.allSettled([
      element.service.open(files[0]!.fileId),
      element.service.open(files[0]!.fileId),
    ]);
    expect(reads.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(element.observer.quarantines).toHaveLength(1);
    expect(quarantined(element)).toHaveLength(2);
    expect((await element.service.info()).fileCount).toBe(1);
  });

  it('takes a read that loses its blob to a concurrent delete for a deleted file, not damage', async () => {
    const blobs = new GatedBlobStore(1_000_000);
    const element = await aStartedElement({ mode: 'edit', blobs });
    const file = await element.service.put(aDraft(), source(CONTENT), { size: CONTENT.length });
    await element.service.put(aDraft(), source(CONTENT), { size: CONTENT.length });
    const gate = blobs.holdNextGet();
    const reading = element.service.open(file.fileId);
    await gate.reached;
    await element.service.delete(file.fileId);
    gate.release();
    await expect(reading).rejects.toMatchObject({ code: 'file_not_found' });
    expect(element.fixity.checks).toEqual([]);
    expect(element.observer.quarantines).toEqual([]);
    expect((await element.service.info()).fileCount).toBe(1);
  });

  it('serves ranges without re-hashing, and a missing blob as unavailable with a failed check', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    const part = await element.service.open(file.fileId, { start: 4, end: 8 });
    expect((await readAll(part.stream)).toString()).toBe('quick');
    element.blobs.objects.delete(file.stored.key);
    await expect(element.service.open(file.fileId)).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect(await element.fixity.history(file.fileId, { limit: 5 })).toEqual([
      expect.objectContaining({ ok: false, detail: 'blob missing', trigger: 'read' }),
    ]);
  });
});

describe('StorageElementService quarantine is crash safe and invisible to rebuild', () => {
  it('finishes a quarantine interrupted after its first move when the SE restarts', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    // What a crash leaves: the intent is logged and only the blob has moved.
    await element.wal.begin({
      txn: 'q-crashed',
      op: 'quarantine',
      fileId: file.fileId,
      key: file.stored.key,
    });
    await element.blobs.move(file.stored.key, `quarantine/q-crashed/${file.stored.key}`);
    const restarted = await aStartedElement({
      mode: 'rw',
      blobs: element.blobs,
      wal: element.wal,
      index: element.index,
      state: element.state,
    });
    expect(await restarted.wal.unfinished()).toEqual([]);
    expect([...element.blobs.objects.keys()].sort()).toEqual(
      [
        `quarantine/q-crashed/${file.stored.key}`,
        `quarantine/q-crashed/${sidecarKeyFor(file.stored.key)}`,
      ].sort(),
    );
    await expect(restarted.service.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect((await restarted.service.info()).fileCount).toBe(0);
  });

  it('rebuilds the cache without the quarantined files and without complaints', async () => {
    const { element, files } = await withFiles(2);
    flipBit(element, files[0]!);
    await expect(element.service.open(files[0]!.fileId)).rejects.toMatchObject({ code: 'file_corrupt' });
    expect(await element.service.rebuild()).toMatchObject({ scanned: 1, indexed: 1, problems: [] });
  });

  it('stops a reconcile on a sidecar it cannot read now, quarantining nothing', async () => {
    const blobs = new FailingReadBlobStore(1_000_000);
    const element = await aStartedElement({ mode: 'rw', blobs });
    await element.service.put(aDraft(), source(CONTENT), { size: CONTENT.length });
    await element.index.clear('se-1');
    blobs.failReads = true;
    await expect(element.service.reconcile({ repair: true, checksums: false })).rejects.toThrow('EIO');
    expect(quarantined(element)).toEqual([]);
  });
});

describe('StorageElementService health', () => {
  it('is failing while its blob backend does not answer, and ok again when it does', async () => {
    let down = false;
    class FlakyBlobStore extends MemoryBlobStore {
      override async stat(key: string) {
        if (down) throw new Error('connect ECONNREFUSED 10.0.0.5:9000');
        return super.stat(key);
      }
    }
    const element = await aStartedElement({ mode: 'rw', blobs: new FlakyBlobStore(1_000_000) });
    expect((await element.service.info()).health.status).toBe('ok');
    down = true;
    expect((await element.service.info()).health).toEqual({
      status: 'failing',
      problems: ['the blob backend does not answer: connect ECONNREFUSED 10.0.0.5:9000'],
    });
    down = false;
    expect((await element.service.info()).health.status).toBe('ok');
  });

  it('tells its observer when it switches itself from rw to ro at full', async () => {
    const element = await aStartedElement({ mode: 'rw', totalBytes: 1000 });
    await element.service.put(aDraft(), source(Buffer.alloc(995)), { size: 995 });
    expect(element.service.currentMode()).toBe('ro');
    expect(element.observer.switches).toEqual([
      { seId: 'se-1', from: 'rw', to: 'ro', reason: 'capacity reached the full threshold' },
    ]);
  });
});
