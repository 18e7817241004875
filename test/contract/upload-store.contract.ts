import { randomBytes, randomUUID } from 'node:crypto';
import type { UploadRecord, UploadStore } from '../../src/application/ports/upload-store';

export interface UploadStoreHarness {
  readonly store: UploadStore;
  cleanup(): Promise<void>;
}

const T0 = new Date(Date.UTC(2026, 11, 2, 10, 0));
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

export function anUpload(overrides: Partial<UploadRecord> = {}): UploadRecord {
  const id = randomBytes(16).toString('hex');
  return {
    id,
    owner: 'svc-a',
    principal: { kind: 'service', subject: 'svc-a', scopes: ['files:write'], collections: {} },
    length: 1000,
    offset: 0,
    metadata: { filename: 'a.bin', tags: 'x,y' },
    stagedKey: id,
    fileId: null,
    status: 'uploading',
    error: null,
    createdAt: T0,
    updatedAt: T0,
    expiresAt: at(3600),
    ...overrides,
  };
}

/** The behaviour every UploadStore adapter must have. */
export function describeUploadStoreContract(name: string, open: () => Promise<UploadStoreHarness>): void {
  describe(`UploadStore contract: ${name}`, () => {
    let h: UploadStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(() => h.cleanup());

    it('stores and returns an upload as created; an unknown id is null', async () => {
      const upload = anUpload({ length: null, metadata: { filename: 'ü.bin', metadata: '{"k":"v"}' } });
      await h.store.create(upload);
      expect(await h.store.get(upload.id)).toEqual(upload);
      expect(await h.store.get('0'.repeat(32))).toBeNull();
    });

    it('refuses a second upload with the same id', async () => {
      const upload = anUpload();
      await h.store.create(upload);
      await expect(h.store.create(upload)).rejects.toThrow();
    });

    it('advances the offset only from the offset it is at, and only while uploading', async () => {
      const upload = anUpload();
      await h.store.create(upload);
      expect(await h.store.advance(upload.id, 0, 400, at(1))).toBe(true);
      expect(await h.store.advance(upload.id, 0, 800, at(2))).toBe(false);
      expect(await h.store.get(upload.id)).toMatchObject({ offset: 400, updatedAt: at(1) });
      expect(await h.store.advance(upload.id, 400, 1000, at(3))).toBe(true);
      await h.store.transition(upload.id, ['uploading'], { status: 'completing' });
      expect(await h.store.advance(upload.id, 1000, 1000, at(4))).toBe(false);
      expect(await h.store.advance('f'.repeat(32), 0, 1, at(4))).toBe(false);
    });

    it('changes status only from the given statuses, and with staleBefore only a row not updated since', async () => {
      const upload = anUpload({ offset: 1000 });
      await h.store.create(upload);
      const fileId = randomUUID();
      expect(await h.store.transition(upload.id, ['completing'], { status: 'completed' })).toBeNull();
      const claimed = await h.store.transition(upload.id, ['uploading'], {
        status: 'completing',
        fileId,
        updatedAt: at(10),
      });
      expect(claimed).toMatchObject({ status: 'completing', fileId, updatedAt: at(10), offset: 1000 });
      // A lease renewed at 10 s is not stale before 10 s.
      expect(
        await h.store.transition(upload.id, ['completing'], { updatedAt: at(20) }, { staleBefore: at(5) }),
      ).toBeNull();
      expect(
        await h.store.transition(upload.id, ['completing'], { updatedAt: at(20) }, { staleBefore: at(15) }),
      ).toMatchObject({ updatedAt: at(20), fileId });
      const problem = { code: 'digest_mismatch', detail: 'no', details: { field: 'sha256' } };
      expect(
        await h.store.transition(upload.id, ['completing'], { status: 'failed', error: problem }),
      ).toMatchObject({ status: 'failed', error: problem, fileId });
      expect(await h.store.get(upload.id)).toMatchObject({ status: 'failed', error: problem });
    });

    it('lists completions whose lease ran out (or that never started) and uploads whose expiry passed', async () => {
      const stale = anUpload({ status: 'completing', updatedAt: at(0), fileId: randomUUID() });
      const fresh = anUpload({ status: 'completing', updatedAt: at(100), fileId: randomUUID() });
      // Every byte arrived but no completion claimed it (it failed before its claim).
      const arrived = anUpload({ offset: 1000, updatedAt: at(10) });
      const arriving = anUpload({ offset: 1000, updatedAt: at(100) });
      const expired = anUpload({ expiresAt: at(50) });
      const completed = anUpload({ status: 'completed', expiresAt: at(60), offset: 1000 });
      const live = anUpload({ expiresAt: at(500) });
      for (const u of [stale, fresh, arrived, arriving, expired, completed, live]) await h.store.create(u);
      expect((await h.store.stalled(at(50), 10)).map((u) => u.id)).toEqual([stale.id, arrived.id]);
      expect((await h.store.expired(at(100), 10)).map((u) => u.id)).toEqual([expired.id, completed.id]);
      expect((await h.store.expired(at(100), 1)).map((u) => u.id)).toEqual([expired.id]);
    });

    it('removes an upload once', async () => {
      const upload = anUpload();
      await h.store.create(upload);
      expect(await h.store.remove(upload.id)).toBe(true);
      expect(await h.store.remove(upload.id)).toBe(false);
      expect(await h.store.get(upload.id)).toBeNull();
    });

    it('does not remove an upload that is being completed', async () => {
      const upload = anUpload({ status: 'completing', fileId: randomUUID() });
      await h.store.create(upload);
      expect(await h.store.remove(upload.id)).toBe(false);
      expect(await h.store.get(upload.id)).toMatchObject({ status: 'completing' });
    });
  });
}
