import { CHUNK_SIZE } from '../../../src/domain/document/chunks';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ApplicationError } from '../../../src/application/errors';
import type { ContentExpectations } from '../../../src/application/ports/storage-element-client';
import { blobKeyFor, sidecarKeyFor } from '../../../src/domain/document/blob-key';
import { DomainError } from '../../../src/domain/errors';
import type { StorageMode } from '../../../src/domain/storage-mode/storage-mode';
import { aDraft, sha256, T0 } from '../../support/builders';
import { aStartedElement, failingSource, readAll, source, type MemoryElement } from '../../support/fakes';

const CONTENT = Buffer.from('the quick brown fox jumps over the lazy dog');
const sha512 = (content: Buffer): string => createHash('sha512').update(content).digest('hex');

async function expectNothingStored(element: MemoryElement): Promise<void> {
  expect([...element.blobs.objects.keys()]).toEqual([]);
  expect(await element.index.stats('se-1')).toEqual({ files: 0, bytes: 0 });
  expect(await element.wal.unfinished()).toEqual([]);
  expect((await element.service.info()).fileCount).toBe(0);
}

describe('StorageElementService.put', () => {
  it('stores the blob, its sidecar and an index row, and returns size and sha256', async () => {
    const element = await aStartedElement();
    const draft = aDraft({ name: 'Отчёт.pdf' });
    const file = await element.service.put(draft, source(CONTENT), { size: CONTENT.length });

    expect(file).toMatchObject({ fileId: draft.fileId, size: CONTENT.length, sha256: sha256(CONTENT) });
    expect(file.stored).toEqual({
      key: blobKeyFor(draft.fileId, draft.name, T0),
      encoding: 'identity',
      size: CONTENT.length,
      sha256: sha256(CONTENT),
      frames: null,
      // One chunk: the first 16 bytes of its SHA-256.
      chunks: {
        chunkSize: CHUNK_SIZE,
        algorithm: 'sha256-128',
        digests: createHash('sha256').update(CONTENT).digest().subarray(0, 16).toString('base64'),
      },
    });
    expect(element.blobs.objects.get(file.stored.key)).toEqual(CONTENT);
    const sidecar = element.blobs.objects.get(sidecarKeyFor(file.stored.key));
    expect(element.codec.decode(sidecar!)).toEqual(file);
    expect(await element.index.get('se-1', draft.fileId)).toEqual(file);
    expect(await element.wal.unfinished()).toEqual([]);
    expect(await element.service.head(draft.fileId)).toEqual(file);
    expect(await readAll((await element.service.open(draft.fileId)).stream)).toEqual(CONTENT);
    const info = await element.service.info();
    expect(info.fileCount).toBe(1);
    expect(info.walPending).toBe(0);
  });

  it('accepts content of unknown length and an empty file', async () => {
    const element = await aStartedElement();
    const unknown = await element.service.put(aDraft(), source(CONTENT), { size: null });
    expect(unknown.size).toBe(CONTENT.length);
    const empty = await element.service.put(aDraft(), source(Buffer.alloc(0)), { size: 0 });
    expect(empty).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)) });
  });

  it('accepts matching sha-256 and sha-512 digests', async () => {
    const element = await aStartedElement();
    const expectations = { size: CONTENT.length, sha256: sha256(CONTENT), sha512: sha512(CONTENT) };
    await expect(element.service.put(aDraft(), source(CONTENT), expectations)).resolves.toMatchObject({
      sha256: sha256(CONTENT),
    });
  });

  it.each<[StorageMode, boolean]>([
    ['edit', true],
    ['rw', true],
    ['ro', false],
    ['ar', false],
  ])('in mode %s accepts=%s, refusing before reading a byte', async (mode, accepts) => {
    const element = await aStartedElement({ mode });
    const content = source(CONTENT);
    const put = element.service.put(aDraft(), content, { size: CONTENT.length });
    if (accepts) {
      await expect(put).resolves.toMatchObject({ size: CONTENT.length });
    } else {
      await expect(put).rejects.toThrow(DomainError);
      await expect(put).rejects.toMatchObject({ code: 'mode_forbids_operation' });
      expect(content.readableDidRead).toBe(false);
      await expectNothingStored(element);
    }
  });

  it('refuses storage_full before reading any byte when the announced size exceeds free space', async () => {
    const element = await aStartedElement({ totalBytes: 100 });
    const content = source(Buffer.alloc(101));
    const put = element.service.put(aDraft(), content, { size: 101 });
    await expect(put).rejects.toThrow(ApplicationError);
    await expect(put).rejects.toMatchObject({ code: 'storage_full' });
    expect(content.readableDidRead).toBe(false);
    await expectNothingStored(element);
  });

  it('honours a configured capacity smaller than the medium', async () => {
    const element = await aStartedElement({ totalBytes: 1_000_000, capacityBytes: 10 });
    const content = source(CONTENT);
    await expect(element.service.put(aDraft(), content, { size: CONTENT.length })).rejects.toMatchObject({
      code: 'storage_full',
    });
    expect(content.readableDidRead).toBe(false);
  });

  it('refuses storage_full while streaming content of unknown length that outgrows the SE', async () => {
    const element = await aStartedElement({ totalBytes: 10 });
    await expect(element.service.put(aDraft(), source(CONTENT), { size: null })).rejects.toMatchObject({
      code: 'storage_full',
    });
    await expectNothingStored(element);
  });

  it.each<[string, Partial<ContentExpectations>, string]>([
    ['fewer bytes than announced', { size: CONTENT.length + 5 }, 'size_mismatch'],
    ['more bytes than announced', { size: CONTENT.length - 5 }, 'size_mismatch'],
    ['a wrong sha-256', { sha256: sha256(Buffer.from('other')) }, 'digest_mismatch'],
    ['a wrong sha-512', { sha512: sha512(Buffer.from('other')) }, 'digest_mismatch'],
    [
      'a right sha-256 but wrong sha-512',
      { sha256: sha256(CONTENT), sha512: 'ab'.repeat(64) },
      'digest_mismatch',
    ],
  ])('refuses %s and leaves nothing behind', async (_label, expectations, code) => {
    const element = await aStartedElement();
    const put = element.service.put(aDraft(), source(CONTENT), { size: CONTENT.length, ...expectations });
    await expect(put).rejects.toThrow(ApplicationError);
    await expect(put).rejects.toMatchObject({ code });
    await expectNothingStored(element);
  });

  it('leaves nothing behind when the source fails mid-stream', async () => {
    const element = await aStartedElement();
    const broken = new Error('client went away');
    const put = element.service.put(aDraft(), failingSource(CONTENT, broken), { size: null });
    await expect(put).rejects.toBe(broken);
    await expectNothingStored(element);
  });

  it('reports a connection reset mid-stream as upload_interrupted', async () => {
    const element = await aStartedElement();
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const put = element.service.put(aDraft(), failingSource(CONTENT, reset), { size: CONTENT.length * 2 });
    await expect(put).rejects.toMatchObject({ code: 'upload_interrupted', cause: reset });
    await expectNothingStored(element);
  });

  it('keeps serving earlier files after a failed put', async () => {
    const element = await aStartedElement();
    const kept = await element.service.put(aDraft(), source(CONTENT), { size: CONTENT.length });
    await expect(element.service.put(aDraft(), Readable.from([CONTENT]), { size: 1 })).rejects.toMatchObject({
      code: 'size_mismatch',
    });
    expect(await element.service.head(kept.fileId)).toEqual(kept);
    expect((await element.service.info()).fileCount).toBe(1);
  });
});
