import { MemoryFileIndex } from '../../../src/adapters/memory/memory-file-index';
import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import type { AttributeChange } from '../../../src/domain/document/attribute-change';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import type { Retention } from '../../../src/domain/retention/retention';
import type { StorageMode } from '../../../src/domain/storage-mode/storage-mode';
import { aDraft, T0 } from '../../support/builders';
import { aMemoryElement, aStartedElement, source, type MemoryElement } from '../../support/fakes';

const CONTENT = Buffer.from('a document whose attributes change');
const DAY = 24 * 60 * 60 * 1000;
const PERMANENT: Retention = { policy: 'permanent', retainUntil: null, legalHold: false };

/** An index whose writes fail while `failing` is set, as a lost database connection would. */
class FlakyIndex extends MemoryFileIndex {
  failing = false;
  override async upsert(seId: string, file: DocumentAttributes): Promise<void> {
    if (this.failing) throw Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' });
    return super.upsert(seId, file);
  }
}

async function stored(
  mode: StorageMode,
  retention?: Retention,
  options: { index?: MemoryFileIndex } = {},
): Promise<{ element: MemoryElement; file: DocumentAttributes }> {
  // Files enter on edit (temporary) or rw (permanent); the mode under test is set afterwards.
  const entry: StorageMode = retention?.policy === 'permanent' ? 'rw' : 'edit';
  const element = await aStartedElement({ mode: entry, ...options });
  const file = await element.service.put(aDraft(retention ? { retention } : {}), source(CONTENT), {
    size: CONTENT.length,
  });
  if (mode !== entry) {
    if (mode === 'ar') await element.service.changeMode('ro', false);
    await element.service.changeMode(mode, false);
  }
  return { element, file };
}

function sidecarOf(element: MemoryElement, file: DocumentAttributes): DocumentAttributes {
  return element.codec.decode(element.blobs.objects.get(sidecarKeyFor(file.stored.key))!);
}

describe('StorageElementService.update', () => {
  it('writes the change to the sidecar and the cache row, attr_version + 1, updated now', async () => {
    const { element, file } = await stored('edit');
    element.clock.advance(5_000);
    const updated = await element.service.update(file.fileId, {
      description: 'reviewed',
      tags: ['q1', 'q1', 'legal'],
      metadata: { case: '42' },
    });
    expect(updated).toEqual({
      ...file,
      description: 'reviewed',
      tags: ['q1', 'legal'],
      metadata: { case: '42' },
      attrVersion: 2,
      updatedAt: new Date(T0.getTime() + 5_000),
    });
    expect(sidecarOf(element, file)).toEqual(updated);
    expect(await element.service.head(file.fileId)).toEqual(updated);
    expect(element.blobs.objects.get(file.stored.key)).toEqual(CONTENT);
    expect(await element.wal.unfinished()).toEqual([]);
    expect((await element.service.info()).fileCount).toBe(1);
  });

  it('leaves absent fields alone and clears the description with null', async () => {
    const { element, file } = await stored('edit');
    await element.service.update(file.fileId, { description: 'x', tags: ['t'] });
    const updated = await element.service.update(file.fileId, { description: null });
    expect(updated).toMatchObject({
      description: null,
      tags: ['t'],
      metadata: file.metadata,
      attrVersion: 3,
    });
  });

  it.each<[StorageMode, boolean]>([
    ['edit', true],
    ['rw', true],
    ['ro', false],
    ['ar', false],
  ])('on %s, description/tags/metadata allowed: %s', async (mode, allowed) => {
    const { element, file } = await stored(mode, mode === 'edit' ? undefined : PERMANENT);
    const update = element.service.update(file.fileId, { tags: ['x'] });
    if (allowed) await expect(update).resolves.toMatchObject({ tags: ['x'], attrVersion: 2 });
    else {
      await expect(update).rejects.toMatchObject({ code: 'mode_forbids_operation' });
      expect(sidecarOf(element, file)).toEqual(file);
      expect(await element.service.head(file.fileId)).toEqual(file);
    }
  });

  it.each<StorageMode>(['rw', 'ro', 'ar'])(
    'on %s, a legal hold and a later retain_until are allowed (retention controls)',
    async (mode) => {
      const { element, file } = await stored(mode, PERMANENT);
      const until = new Date(T0.getTime() + 365 * DAY);
      const updated = await element.service.update(file.fileId, { legalHold: true, retainUntil: until });
      expect(updated.retention).toEqual({ policy: 'permanent', legalHold: true, retainUntil: until });
      expect(sidecarOf(element, file).retention).toEqual(updated.retention);
      await expect(element.service.delete(file.fileId)).rejects.toMatchObject({ code: 'legal_hold_active' });
      const released = await element.service.update(file.fileId, { legalHold: false });
      expect(released.attrVersion).toBe(3);
      await expect(element.service.delete(file.fileId)).rejects.toMatchObject({ code: 'retention_active' });
    },
  );

  it('refuses a legal hold on a temporary file with legal_hold_temporary', async () => {
    const { element, file } = await stored('edit');
    await expect(element.service.update(file.fileId, { legalHold: true })).rejects.toMatchObject({
      code: 'legal_hold_temporary',
    });
    expect(sidecarOf(element, file)).toEqual(file);
  });

  it('never shortens retain_until: earlier or past instants are retain_until_shortened', async () => {
    const until = new Date(T0.getTime() + 30 * DAY);
    const { element, file } = await stored('rw', { ...PERMANENT, retainUntil: until });
    for (const asked of [new Date(until.getTime() - 1), new Date(T0.getTime() - DAY)]) {
      await expect(element.service.update(file.fileId, { retainUntil: asked })).rejects.toMatchObject({
        code: 'retain_until_shortened',
      });
    }
    expect(sidecarOf(element, file)).toEqual(file);
    // The same instant again changes nothing but is no refusal (a retried request).
    await expect(element.service.update(file.fileId, { retainUntil: until })).resolves.toMatchObject({
      retention: { retainUntil: until },
    });
  });

  it('ifAttrVersion: a stale version is attr_version_mismatch and writes nothing', async () => {
    const { element, file } = await stored('edit');
    await element.service.update(file.fileId, { description: 'first' }, { ifAttrVersion: 1 });
    await expect(
      element.service.update(file.fileId, { description: 'second' }, { ifAttrVersion: 1 }),
    ).rejects.toMatchObject({ code: 'attr_version_mismatch', details: { attr_version: 2 } });
    expect(sidecarOf(element, file).description).toBe('first');
  });

  it('targetAttrVersion: a retry of an applied change is answered as done, not applied twice', async () => {
    const { element, file } = await stored('edit');
    const change: AttributeChange = { metadata: { step: 'one' } };
    const first = await element.service.update(file.fileId, change, { targetAttrVersion: 2 });
    element.clock.advance(1_000);
    const retried = await element.service.update(file.fileId, change, { targetAttrVersion: 2 });
    expect(retried).toEqual(first);
    expect(sidecarOf(element, file).attrVersion).toBe(2);
    // Another change aimed at the same version is not mistaken for the retry.
    await expect(
      element.service.update(file.fileId, { metadata: { step: 'two' } }, { targetAttrVersion: 2 }),
    ).rejects.toMatchObject({ code: 'attr_version_mismatch' });
    await expect(element.service.update(file.fileId, change, { targetAttrVersion: 4 })).rejects.toMatchObject(
      { code: 'attr_version_mismatch' },
    );
  });

  it('answers a retry as done even when the SE became read-only after the change landed', async () => {
    const { element, file } = await stored('rw', PERMANENT);
    const change: AttributeChange = { tags: ['landed'] };
    const first = await element.service.update(file.fileId, change, { targetAttrVersion: 2 });
    await element.service.changeMode('ro', false);
    await expect(element.service.update(file.fileId, change, { targetAttrVersion: 2 })).resolves.toEqual(
      first,
    );
    await expect(
      element.service.update(file.fileId, { tags: ['new'] }, { targetAttrVersion: 3 }),
    ).rejects.toMatchObject({ code: 'mode_forbids_operation' });
  });

  it('writes the sidecar before the cache: a failing cache write leaves the new sidecar, and a retry, replay or rebuild agrees with it', async () => {
    const index = new FlakyIndex();
    const { element, file } = await stored('edit', undefined, { index });
    index.failing = true;
    const change: AttributeChange = { description: 'kept on disk' };
    await expect(element.service.update(file.fileId, change, { targetAttrVersion: 2 })).rejects.toThrow(
      'connection terminated',
    );
    expect(sidecarOf(element, file)).toMatchObject({ description: 'kept on disk', attrVersion: 2 });
    expect((await element.index.get('se-1', file.fileId))?.attrVersion).toBe(1);
    expect(await element.wal.unfinished()).toEqual([
      expect.objectContaining({ op: 'update', fileId: file.fileId }),
    ]);

    // The saga's retry: the sidecar already holds the change; the row is brought in line.
    index.failing = false;
    const retried = await element.service.update(file.fileId, change, { targetAttrVersion: 2 });
    expect(retried).toEqual(sidecarOf(element, file));
    expect(await element.service.head(file.fileId)).toEqual(retried);

    // A restart replays the open record forward from the sidecar; a rebuild reads the same.
    const restarted = aMemoryElement({ blobs: element.blobs, wal: element.wal, index, clock: element.clock });
    await index.remove('se-1', file.fileId);
    await restarted.service.start();
    expect(await restarted.wal.unfinished()).toEqual([]);
    expect(await restarted.service.head(file.fileId)).toEqual(retried);
    await index.clear('se-1');
    await restarted.service.rebuild();
    expect(await restarted.service.head(file.fileId)).toEqual(retried);
  });

  it('a reconcile finds nothing to repair after an update', async () => {
    const { element, file } = await stored('edit');
    await element.service.update(file.fileId, { tags: ['checked'] });
    const report = await element.service.reconcile({ repair: false, checksums: true });
    expect(report.findings).toEqual([]);
  });

  it('is refused with conflict while another change of the same file runs', async () => {
    const { element, file } = await stored('edit');
    const first = element.service.update(file.fileId, { description: 'one' });
    await expect(element.service.update(file.fileId, { description: 'two' })).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(first).resolves.toMatchObject({ description: 'one' });
    await expect(element.service.delete(file.fileId)).resolves.toBeUndefined();
  });

  it('answers file_not_found for an unknown file and invalid_request for an empty change', async () => {
    const { element, file } = await stored('edit');
    await expect(
      element.service.update('0195f3a2-0000-7000-8000-000000000000', { description: 'x' }),
    ).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(element.service.update(file.fileId, {})).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
