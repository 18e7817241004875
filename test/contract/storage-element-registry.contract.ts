import type { StorageElementRegistry } from '../../src/application/ports/storage-element-registry';
import type { StorageElementDescriptor } from '../../src/domain/storage-element/storage-element';
import { T0, aStorageElement } from '../support/builders';

export interface StorageElementRegistryHarness {
  readonly registry: StorageElementRegistry;
  cleanup(): Promise<void>;
}

/** The behaviour every StorageElementRegistry adapter must have (ARCHITECTURE §2). */
export function describeStorageElementRegistryContract(
  name: string,
  open: () => Promise<StorageElementRegistryHarness>,
): void {
  describe(`StorageElementRegistry contract: ${name}`, () => {
    let h: StorageElementRegistryHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('is empty at first and answers null for an unknown id', async () => {
      await expect(h.registry.list()).resolves.toEqual([]);
      await expect(h.registry.get('se-unknown')).resolves.toBeNull();
    });

    it('returns an announced element field for field, with lastSeenAt as a Date', async () => {
      const se = aStorageElement({
        id: 'se-archive-1',
        mode: 'ar',
        backend: 's3',
        dc: 'dc-north',
        priority: 7,
        // Beyond 32 bits: volumes are terabytes.
        capacity: { totalBytes: 8 * 1024 ** 4, usedBytes: 3 * 1024 ** 4 + 17 },
        fileCount: 5_000_000_001,
        url: 'https://se-archive-1.internal:8010/base',
        lastSeenAt: new Date('2026-03-01T10:00:00.123Z'),
      });
      await h.registry.announce(se);
      const got = await h.registry.get(se.id);
      expect(got).toEqual(se);
      expect(got?.lastSeenAt).toBeInstanceOf(Date);
      await expect(h.registry.list()).resolves.toEqual([se]);
    });

    it('lists every element sorted by id', async () => {
      const ids = ['se-b', 'se-10', 'a-se', 'se-2', 'se-a', 'se1', 'sea'];
      for (const id of ids) await h.registry.announce(aStorageElement({ id }));
      const listed = await h.registry.list();
      expect(listed.map((se) => se.id)).toEqual(['a-se', 'se-10', 'se-2', 'se-a', 'se-b', 'se1', 'sea']);
    });

    it('replaces an element when it announces itself again (heartbeat)', async () => {
      await h.registry.announce(aStorageElement({ id: 'se-1' }));
      await h.registry.announce(aStorageElement({ id: 'se-2' }));
      const again: StorageElementDescriptor = aStorageElement({
        id: 'se-1',
        mode: 'ro',
        backend: 's3',
        dc: 'dc2',
        priority: 1,
        capacity: { totalBytes: 2_000_000, usedBytes: 1_999_999 },
        fileCount: 42,
        url: 'http://10.0.0.2:8010',
        lastSeenAt: new Date(T0.getTime() + 15_000),
      });
      await h.registry.announce(again);
      await expect(h.registry.get('se-1')).resolves.toEqual(again);
      await expect(h.registry.list()).resolves.toEqual([again, aStorageElement({ id: 'se-2' })]);
    });

    it('records a mode change of one element and leaves everything else', async () => {
      const se = aStorageElement({ id: 'se-1', mode: 'rw' });
      const other = aStorageElement({ id: 'se-2', mode: 'rw' });
      await h.registry.announce(se);
      await h.registry.announce(other);
      await h.registry.recordMode('se-1', 'ro');
      await expect(h.registry.get('se-1')).resolves.toEqual({ ...se, mode: 'ro' });
      await expect(h.registry.get('se-2')).resolves.toEqual(other);
      await h.registry.recordMode('se-1', 'ar');
      await expect(h.registry.list()).resolves.toEqual([{ ...se, mode: 'ar' }, other]);
    });

    it('ignores a mode change of an unknown element', async () => {
      await expect(h.registry.recordMode('se-ghost', 'ro')).resolves.toBeUndefined();
      await expect(h.registry.get('se-ghost')).resolves.toBeNull();
      await expect(h.registry.list()).resolves.toEqual([]);
    });
  });
}
