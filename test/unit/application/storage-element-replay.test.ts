import { MemoryWriteAheadLog } from '../../../src/adapters/memory/memory-write-ahead-log';
import type { WalDamage } from '../../../src/application/ports/write-ahead-log';
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

/** A log that found damaged records when it was opened. */
class DamagedLog extends MemoryWriteAheadLog {
  constructor(private readonly damage: readonly WalDamage[]) {
    super();
  }
  override damaged(): readonly WalDamage[] {
    return this.damage;
  }
}

describe('StorageElementService.start after damaged WAL records', () => {
  const DAMAGE: WalDamage = {
    segment: 'wal-000000000007.log',
    offset: 210,
    length: 69,
    problem: 'checksum differs from the record',
  };

  async function doubtfulDelete(
    tombstone: boolean,
  ): Promise<{ element: MemoryElement; file: DocumentAttributes }> {
    const element = aMemoryElement({ wal: new DamagedLog([DAMAGE]) });
    const file = aDocument(CONTENT);
    const key = file.stored.key;
    element.blobs.objects.set(key, CONTENT);
    const sidecar = tombstone ? { ...file, status: 'deleted' as const, attrVersion: 2 } : file;
    element.blobs.objects.set(sidecarKeyFor(key), element.codec.encode(sidecar));
    await element.index.upsert('se-1', file);
    await element.wal.begin({ txn: 'txn-1', op: 'delete', fileId: file.fileId, key, doubtful: true });
    return { element, file };
  }

  it('rolls back a doubtful delete that never wrote its tombstone: its abort may be the damaged record', async () => {
    const { element, file } = await doubtfulDelete(false);
    await element.service.start();
    expect(await element.wal.unfinished()).toEqual([]);
    await expect(element.service.head(file.fileId)).resolves.toEqual(file);
    expect(element.blobs.objects.get(file.stored.key)).toEqual(CONTENT);
  });

  it('finishes a doubtful delete whose tombstone is written', async () => {
    const { element, file } = await doubtfulDelete(true);
    await element.service.start();
    expect([...element.blobs.objects.keys()]).toEqual([]);
    expect(await element.index.get('se-1', file.fileId)).toBeNull();
  });

  it('reports the damaged records to its observer and in its health, and starts', async () => {
    const element = aMemoryElement({ wal: new DamagedLog([DAMAGE]) });
    await element.service.start();
    expect(element.observer.walDamage).toEqual([{ seId: 'se-1', damage: [DAMAGE] }]);
    expect((await element.service.info()).health).toEqual({
      status: 'degraded',
      problems: [
        'the write-ahead log held 1 damaged record(s) at start, skipped by replay (the first in wal-000000000007.log at byte 210: checksum differs from the record)',
      ],
    });
  });
});
