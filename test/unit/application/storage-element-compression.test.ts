import { gunzipSync, gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { decodeFrames, FrameDamaged } from '../../../src/application/storage/framed-codec';
import { verifyStoredFile } from '../../../src/application/storage/verify';
import { FRAME_SIZE, type Codec } from '../../../src/domain/document/compression';
import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import { planFrames } from '../../../src/domain/document/frames';
import { CHUNK_SIZE, planChunks } from '../../../src/domain/document/chunks';
import { aDraft, sha256 } from '../../support/builders';
import { documentText, interestingRanges } from '../../support/documents';
import { aStartedElement, readAll, source, type MemoryElement } from '../../support/fakes';

// Megabytes of compression on a shared 2-core machine: more than jest's default 5 s.
jest.setTimeout(60_000);

const SIZE = 3 * FRAME_SIZE + 12_345;
const CONTENT = documentText(SIZE);

/** Records the stored ranges the SE asks its blob store for. */
function recordGets(element: MemoryElement): { start: number; end: number }[] {
  const gets: { start: number; end: number }[] = [];
  const original = element.blobs.get.bind(element.blobs);
  element.blobs.get = (key, range) => {
    if (range) gets.push(range);
    return original(key, range);
  };
  return gets;
}

describe.each<Codec>(['gzip', 'br'])('a %s-compressed file on a storage element', (codec) => {
  async function stored(content = CONTENT, verifyOnReadMaxBytes?: number) {
    const element = await aStartedElement({
      totalBytes: null,
      ...(verifyOnReadMaxBytes === undefined ? {} : { verifyOnReadMaxBytes }),
    });
    const file = await element.service.put(
      aDraft(),
      source(content),
      { size: content.length },
      { encoding: codec },
    );
    return { element, file };
  }

  it('keeps the original size and checksum on the document, the stored ones and the frame index apart', async () => {
    const { element, file } = await stored();
    expect(file).toMatchObject({ size: SIZE, sha256: sha256(CONTENT) });
    const blob = element.blobs.objects.get(file.stored.key)!;
    expect(file.stored).toMatchObject({ encoding: codec, size: blob.length, sha256: sha256(blob) });
    expect(file.stored.size).toBeLessThan(SIZE / 2);
    expect(file.stored.sha256).not.toBe(file.sha256);
    expect(file.stored.frames!.frameSize).toBe(FRAME_SIZE);
    expect(file.stored.frames!.storedSizes).toHaveLength(4);
    expect(file.stored.frames!.storedSizes.reduce((a, b) => a + b)).toBe(blob.length);
    expect(element.codec.decode(element.blobs.objects.get(sidecarKeyFor(file.stored.key))!)).toEqual(file);
    // Capacity counts the stored bytes.
    expect(await element.index.stats('se-1')).toEqual({ files: 1, bytes: file.stored.size });
    if (codec === 'gzip') expect(gunzipSync(blob)).toEqual(CONTENT); // a multi-member gzip file: zcat reads it
  });

  it.each([
    ['verified before the first byte', undefined],
    ['verified while streaming', 1],
  ])('serves the original bytes whole, %s', async (_name, limit) => {
    const { element, file } = await stored(CONTENT, limit);
    const opened = await element.service.open(file.fileId);
    expect(opened).toMatchObject({ size: SIZE, sha256: sha256(CONTENT), range: null });
    expect((await readAll(opened.stream)).equals(CONTENT)).toBe(true);
  });

  it('serves any range byte-exact, reading only the chunks that cover its frames', async () => {
    const { element, file } = await stored();
    const gets = recordGets(element);
    for (const range of interestingRanges(SIZE, 40)) {
      gets.length = 0;
      const opened = await element.service.open(file.fileId, range);
      const bytes = await readAll(opened.stream);
      expect(bytes.equals(CONTENT.subarray(range.start, range.end + 1))).toBe(true);
      const whole = range.start === 0 && range.end === SIZE - 1;
      const frames = planFrames(file.stored.frames!, SIZE, range)!.stored;
      if (!whole) expect(gets).toEqual([planChunks(CHUNK_SIZE, file.stored.size, frames).stored]);
    }
  });

  it('stores an empty file as no frames, and a file of exactly two frames as two', async () => {
    const empty = await stored(Buffer.alloc(0));
    expect(empty.file.stored).toMatchObject({ size: 0, frames: { frameSize: FRAME_SIZE, storedSizes: [] } });
    expect(await readAll((await empty.element.service.open(empty.file.fileId)).stream)).toEqual(
      Buffer.alloc(0),
    );

    const exact = CONTENT.subarray(0, 2 * FRAME_SIZE);
    const two = await stored(exact);
    expect(two.file.stored.frames!.storedSizes).toHaveLength(2);
    const last = { start: 2 * FRAME_SIZE - 1, end: 2 * FRAME_SIZE - 1 };
    expect(await readAll((await two.element.service.open(two.file.fileId, last)).stream)).toEqual(
      exact.subarray(-1),
    );
    expect((await readAll((await two.element.service.open(two.file.fileId)).stream)).equals(exact)).toBe(
      true,
    );
  });

  it('passes scrub and reconcile, which check the stored bytes', async () => {
    const { element, file } = await stored();
    expect(await verifyStoredFile(element.blobs, file)).toBeNull();
    const report = await element.service.reconcile({ repair: false, checksums: true });
    expect(report.findings).toEqual([]);
  });

  it('refuses a level the codec does not have', async () => {
    const element = await aStartedElement();
    await expect(
      element.service.put(aDraft(), source(CONTENT), { size: SIZE }, { encoding: codec, level: 42 }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
  });

  describe('with a damaged frame', () => {
    /** Overwrites the middle of the second frame's stored bytes. */
    async function damaged(verifyOnReadMaxBytes?: number) {
      const { element, file } = await stored(CONTENT, verifyOnReadMaxBytes);
      const blob = Buffer.from(element.blobs.objects.get(file.stored.key)!);
      const [first, second] = file.stored.frames!.storedSizes as [number, number];
      blob.fill(0x5a, first + Math.floor(second / 4), first + Math.floor(second / 2));
      element.blobs.objects.set(file.stored.key, blob);
      return { element, file };
    }

    it('answers a whole read with file_corrupt before any byte and quarantines the copy', async () => {
      const { element, file } = await damaged();
      await expect(element.service.open(file.fileId)).rejects.toMatchObject({ code: 'file_corrupt' });
      expect(element.observer.quarantines).toMatchObject([{ fileId: file.fileId }]);
      await expect(element.service.open(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    });

    it('never completes a streamed whole read', async () => {
      const { element, file } = await damaged(1);
      // Refused before the first byte or failed before the last: never a whole, corrupt copy.
      const reading = element.service.open(file.fileId).then((opened) => readAll(opened.stream));
      await expect(reading).rejects.toMatchObject({ code: 'file_corrupt' });
      expect(element.observer.quarantines).toMatchObject([{ fileId: file.fileId }]);
    });

    it('answers a range in the damaged frame with file_corrupt before any byte', async () => {
      const { element, file } = await damaged();
      const range = { start: FRAME_SIZE + 10, end: FRAME_SIZE + 20 };
      await expect(element.service.open(file.fileId, range)).rejects.toMatchObject({ code: 'file_corrupt' });
      expect(element.observer.quarantines).toMatchObject([{ fileId: file.fileId }]);
    });
  });
});

describe('decodeFrames', () => {
  it('refuses a frame that decodes to more than its index says (a bomb) without inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * FRAME_SIZE));
    const plan = planFrames({ frameSize: FRAME_SIZE, storedSizes: [bomb.length] }, 1000)!;
    const before = process.memoryUsage().arrayBuffers;
    await expect(
      readAll(Readable.from(decodeFrames(Readable.from([bomb]), 'gzip', plan))),
    ).rejects.toBeInstanceOf(FrameDamaged);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * FRAME_SIZE);
  });

  it('refuses a frame that decodes to less, and stored content that ends inside a frame', async () => {
    const frame = gzipSync(Buffer.alloc(500));
    const short = planFrames({ frameSize: FRAME_SIZE, storedSizes: [frame.length] }, 1000)!;
    await expect(readAll(Readable.from(decodeFrames(Readable.from([frame]), 'gzip', short)))).rejects.toThrow(
      /decodes to 500 bytes, not 1000/u,
    );
    const cut = planFrames({ frameSize: FRAME_SIZE, storedSizes: [frame.length + 5] }, 500)!;
    await expect(readAll(Readable.from(decodeFrames(Readable.from([frame]), 'gzip', cut)))).rejects.toThrow(
      /ends inside a frame/u,
    );
  });
});
