import type { StorageElementStateStore } from '../../src/application/ports/storage-element-state';

export interface StateStoreHarness {
  readonly store: StorageElementStateStore;
  /** The store at the same place, as after a restart (in memory: the same store). */
  reopen(): Promise<StorageElementStateStore>;
  cleanup(): Promise<void>;
}

/** The behaviour every StorageElementStateStore adapter must have (the SE is the authority on its mode). */
export function describeStateStoreContract(name: string, open: () => Promise<StateStoreHarness>): void {
  describe(`StorageElementStateStore contract: ${name}`, () => {
    let h: StateStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('loads null before anything was saved', async () => {
      await expect(h.store.load()).resolves.toBeNull();
      await expect((await h.reopen()).load()).resolves.toBeNull();
    });

    it('loads what was saved', async () => {
      await h.store.save({ mode: 'rw' });
      await expect(h.store.load()).resolves.toEqual({ mode: 'rw' });
    });

    it('replaces the state on a second save', async () => {
      await h.store.save({ mode: 'rw' });
      await h.store.save({ mode: 'ro' });
      await expect(h.store.load()).resolves.toEqual({ mode: 'ro' });
    });

    it('keeps the last saved state across a reopen', async () => {
      await h.store.save({ mode: 'rw' });
      await h.store.save({ mode: 'ar' });
      const reopened = await h.reopen();
      await expect(reopened.load()).resolves.toEqual({ mode: 'ar' });
      await reopened.save({ mode: 'edit' });
      await expect((await h.reopen()).load()).resolves.toEqual({ mode: 'edit' });
    });
  });
}
