import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import { aDocument } from '../../support/builders';
import { aMemoryElement, type MemoryElement } from '../../support/fakes';

const CONTENT = Buffer.from('content written before the crash');

/** The state a crash leaves: a WAL intent and whatever of blob and sidecar reached the store. */
async function crashed(
  op: 'create' | 'delete',
  parts: { blob?: Buffer; sidecar?: Buffer | 'valid'; row?: boolean } = {},
): Promise<{ element: MemoryElement; file: DocumentAttributes }> {
  const element = aMemoryElement();
  const file = aDocument(CONTENT);
  const key = file.stored.key;
  if (parts.blob) element.blobs.objects.set(key, parts.blob);
  if (parts.sidecar === 'valid') element.blobs.objects.set(sidecarKeyFor(key), element.codec.encode(file));
  else if (parts.sidecar) element.blobs.objects.set(sidecarKeyFor(key), parts.sidecar);
  if (parts.row) await element.index.upsert('se-1', file);
  await element.wal.begin({ txn: 'txn-1', op, fileId: file.fileId, key });
  return { element, file };
}

describe('StorageElementService.start replays the WAL', () => {
  it('rolls a create forward when blob and sidecar are complete and verified', async () => {
    const { element, file } = await crashed('create', { blob: CONTENT, sidecar: 'valid' });
    await element.service.start();
    expect(await element.wal.unfinished()).toEqual([]);
    expect(await element.index.get('se-1', file.fileId)).toEqual(file);
    expect(await element.service.head(file.fileId)).toEqual(file);
    expect((await element.service.info()).fileCount).toBe(1);
  });

  it.each<[string, { blob?: Buffer; sidecar?: Buffer | 'valid'; row?: boolean }]>([
    ['only a partial blob', { blob: CONTENT.subarray(0, 5) }],
    ['the blob without its sidecar', { blob: CONTENT }],
    ['a torn sidecar', { blob: CONTENT, sidecar: Buffer.from('{"schema_version": 1, "fi') }],
    [
      'a blob that does not match the sidecar',
      { blob: Buffer.from('x'.repeat(CONTENT.length)), sidecar: 'valid' },
    ],
    ['a truncated blob beside a valid sidecar', { blob: CONTENT.subarray(1), sidecar: 'valid', row: true }],
    ['a sidecar without its blob', { sidecar: 'valid', row: true }],
    ['nothing at all', {}],
  ])('rolls a create back, removing everything, with %s', async (_label, parts) => {
    const { element, file } = await crashed('create', parts);
    await element.service.start();
    expect([...element.blobs.objects.keys()]).toEqual([]);
    expect(await element.index.get('se-1', file.fileId)).toBeNull();
    expect(await element.wal.unfinished()).toEqual([]);
    expect((await element.service.info()).fileCount).toBe(0);
    await expect(element.service.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('rolls back a create whose sidecar belongs to another file', async () => {
    const { element, file } = await crashed('create', { blob: CONTENT });
    const other = aDocument(CONTENT);
    element.blobs.objects.set(sidecarKeyFor(file.stored.key), element.codec.encode(other));
    await element.service.start();
    expect(element.blobs.objects.size).toBe(0);
  });

  it.each<[string, { blob?: Buffer; sidecar?: Buffer | 'valid'; row?: boolean }]>([
    ['blob, sidecar and row still there', { blob: CONTENT, sidecar: 'valid', row: true }],
    ['only the sidecar left', { sidecar: 'valid', row: true }],
    ['everything already gone but the row', { row: true }],
  ])('finishes a delete with %s', async (_label, parts) => {
    const { element, file } = await crashed('delete', parts);
    await element.service.start();
    expect([...element.blobs.objects.keys()]).toEqual([]);
    expect(await element.index.get('se-1', file.fileId)).toBeNull();
    expect(await element.wal.unfinished()).toEqual([]);
  });

  it('leaves committed files alone', async () => {
    const { element, file } = await crashed('create', { blob: CONTENT, sidecar: 'valid' });
    const committed = aDocument(Buffer.from('older file'));
    element.blobs.objects.set(committed.stored.key, Buffer.from('older file'));
    element.blobs.objects.set(sidecarKeyFor(committed.stored.key), element.codec.encode(committed));
    await element.index.upsert('se-1', committed);
    await element.service.start();
    expect(await element.service.head(committed.fileId)).toEqual(committed);
    expect(await element.service.head(file.fileId)).toEqual(file);
    expect((await element.service.info()).fileCount).toBe(2);
  });
});
