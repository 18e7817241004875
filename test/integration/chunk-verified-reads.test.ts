import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalFsBlobStore } from '../../src/adapters/blob-store/local-fs-blob-store';
import { S3BlobStore } from '../../src/adapters/blob-store/s3-blob-store';
import type { Orm } from '../../src/adapters/persistence/database';
import type { BlobStore } from '../../src/application/ports/blob-store';
import { StorageElementService } from '../../src/application/storage/storage-element-service';
import { CHUNK_SIZE, planChunks } from '../../src/domain/document/chunks';
import { FRAME_SIZE } from '../../src/domain/document/compression';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { planFrames, storedOffset } from '../../src/domain/document/frames';
import { aDraft } from '../support/builders';
import { openTestOrm } from '../support/database';
import { openLocalElement, type LocalElement } from '../support/local-element';
import { documentText } from '../support/documents';
import { RecordingObserver } from '../support/fakes';
import { requireInfrastructure, s3Client } from '../support/infrastructure';

jest.setTimeout(120_000);

const SIZE = 4 * FRAME_SIZE + 777;
const CONTENT = documentText(SIZE, 5);

interface Backend {
  readonly blobs: BlobStore;
  cleanup(): Promise<void>;
}

async function localBackend(root: string): Promise<Backend> {
  return { blobs: new LocalFsBlobStore(join(root, 'blobs')), cleanup: async () => undefined };
}

async function s3Backend(): Promise<Backend> {
  const client = s3Client(requireInfrastructure('s3'));
  const bucket = `artstore-chunks-${randomUUID().slice(0, 8)}`;
  const blobs = new S3BlobStore({ client, bucket, prefix: 'se/' });
  await blobs.ensureBucket();
  return {
    blobs,
    cleanup: async () => {
      const names: string[] = [];
      for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>)
        if (item.name) names.push(item.name);
      for (const name of names) await client.removeObject(bucket, name);
      await client.removeBucket(bucket);
    },
  };
}

/** Flips one bit of the stored bytes in place, as bit rot would; returns its stored offset. */
async function flipStoredByte(blobs: BlobStore, file: DocumentAttributes, at: number): Promise<void> {
  const blob = Buffer.from(await blobs.read(file.stored.key));
  blob[at] = blob[at]! ^ 0x10;
  await blobs.put(file.stored.key, Readable.from([blob]));
}

/** What a reader receives before the stream ends or fails, and the failure. */
async function received(stream: Readable): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const part of stream) parts.push(part as Buffer);
    return { bytes: Buffer.concat(parts), error: null };
  } catch (error) {
    return { bytes: Buffer.concat(parts), error };
  }
}

/**
 * Every read checks each stored chunk before any of its bytes goes out: a bit flipped in the middle
 * of a large identity blob and of a br-framed blob, on local FS and on S3, is never served.
 */
describe.each([
  ['local FS', 'identity'],
  ['local FS', 'br'],
  ['S3', 'identity'],
  ['S3', 'br'],
] as const)('chunk-verified reads on %s, %s content', (backendName, encoding) => {
  let orm: Orm;
  let done: () => Promise<void>;
  let root: string;
  let backend: Backend;
  let element: LocalElement;
  let observer: RecordingObserver;
  let se: StorageElementService;

  beforeAll(async () => {
    ({ orm, done } = await openTestOrm());
  });
  afterAll(() => done());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-chunks-'));
    backend = backendName === 'S3' ? await s3Backend() : await localBackend(root);
    observer = new RecordingObserver();
    element = await openLocalElement(root, orm, {
      backend: backendName === 'S3' ? 's3' : 'local',
      // Whole reads stream (not the small-file path, which checks the whole blob first).
      verifyOnReadMaxBytes: 64 * 1024,
      observer,
      blobs: backend.blobs,
    });
    se = element.service;
  });
  afterEach(async () => {
    await element.close();
    await backend.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  /** A stored file with one bit flipped in the middle of its stored bytes. */
  async function damagedFile() {
    const file = await se.put(
      aDraft({ name: 'report.txt' }),
      Readable.from([CONTENT]),
      { size: SIZE },
      { encoding },
    );
    expect(file.stored.chunks).toMatchObject({ chunkSize: CHUNK_SIZE });
    const at = Math.floor(file.stored.size / 2);
    await flipStoredByte(backend.blobs, file, at);
    return { file, at, damagedChunk: Math.floor(at / CHUNK_SIZE) };
  }

  /** A range of the original bytes whose stored bytes lie in the damaged chunk, and one clear of it. */
  function ranges(file: DocumentAttributes, at: number, damagedChunk: number) {
    if (encoding === 'identity')
      return {
        hit: { start: Math.max(damagedChunk * CHUNK_SIZE, at - 1000), end: at + 1000 },
        clear: { start: 10, end: 10 + 64 * 1024 },
      };
    const frames = file.stored.frames!;
    let frame = 0;
    while (storedOffset(frames, frame + 1) <= at) frame += 1;
    const clear = { start: 10, end: 10 + 64 * 1024 };
    // The clear range's frames must lie in chunks before the damaged one, or the test proves nothing.
    const cover = planChunks(CHUNK_SIZE, file.stored.size, planFrames(frames, SIZE, clear)!.stored);
    expect(cover.stored.end).toBeLessThan(damagedChunk * CHUNK_SIZE);
    return { hit: { start: frame * FRAME_SIZE + 100, end: frame * FRAME_SIZE + 200 }, clear };
  }

  it('answers a Range in the damaged chunk with file_corrupt before any byte and quarantines the copy', async () => {
    const { file, at, damagedChunk } = await damagedFile();
    const { hit } = ranges(file, at, damagedChunk);
    await expect(se.open(file.fileId, hit)).rejects.toMatchObject({ code: 'file_corrupt' });
    expect(observer.quarantines).toMatchObject([{ fileId: file.fileId }]);
    expect(observer.quarantines[0]!.reason).toMatch(`chunk ${damagedChunk}`);
    await expect(se.open(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect(await backend.blobs.stat(file.stored.key)).toBeNull();
  });

  it('serves a Range in an undamaged chunk of the same copy byte-exact (it never reads the damage)', async () => {
    const { file, at, damagedChunk } = await damagedFile();
    const { clear } = ranges(file, at, damagedChunk);
    const { bytes, error } = await received((await se.open(file.fileId, clear)).stream);
    expect(error).toBeNull();
    expect(bytes.equals(CONTENT.subarray(clear.start, clear.end + 1))).toBe(true);
    expect(observer.quarantines).toEqual([]);
  });

  it('fails a whole read at the damaged chunk: what went out is an intact prefix', async () => {
    const { file } = await damagedFile();
    const { bytes, error } = await received((await se.open(file.fileId)).stream);
    expect(error).toMatchObject({ code: 'file_corrupt' });
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.length).toBeLessThan(SIZE);
    expect(bytes.equals(CONTENT.subarray(0, bytes.length))).toBe(true);
    expect(observer.quarantines).toMatchObject([{ fileId: file.fileId }]);
  });
});
