import { randomUUID } from 'node:crypto';
import type { SagaRecord, SagaStore } from '../../src/application/ports/saga-store';

export interface SagaStoreHarness {
  readonly store: SagaStore;
  cleanup(): Promise<void>;
}

const at = (second: number): Date => new Date(Date.UTC(2026, 11, 2, 10, 0, second));

function saga(overrides: Partial<SagaRecord> = {}): SagaRecord {
  return {
    id: randomUUID(),
    kind: 'upload',
    status: 'running',
    step: 0,
    payload: { fileId: 'f', copies: [] },
    fileId: randomUUID(),
    error: null,
    owner: 'proc-a',
    leaseUntil: at(30),
    attempts: 0,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** The behaviour every SagaStore adapter must have. */
export function describeSagaStoreContract(name: string, open: () => Promise<SagaStoreHarness>): void {
  describe(`SagaStore contract: ${name}`, () => {
    let h: SagaStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(() => h.cleanup());

    it('keeps a saga as created and saves its progress for its owner only', async () => {
      const s = saga({ payload: { nested: { list: [1, 2] }, text: 'ä' } });
      await h.store.create(s);
      expect(await h.store.get(s.id)).toEqual(s);
      const update = {
        status: 'done' as const,
        step: 3,
        payload: { copies: [{ seId: 'rw-1' }] },
        error: null,
        leaseUntil: at(40),
        updatedAt: at(5),
      };
      expect(await h.store.save(s.id, 'proc-b', update)).toBe(false);
      expect((await h.store.get(s.id))?.step).toBe(0);
      expect(await h.store.save(s.id, 'proc-a', update)).toBe(true);
      expect(await h.store.get(s.id)).toEqual({ ...s, ...update });
      expect(await h.store.get(randomUUID())).toBeNull();
    });

    it('keeps at most one unfinished saga per file, even when two are created at once', async () => {
      const fileId = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) => h.store.create(saga({ fileId, createdAt: at(i) }))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const [winner] = (await h.store.list({ limit: 10, cursor: null, fileId })).items;
      expect(await h.store.create(saga({ fileId }))).toBe(false);
      // Once it has finished, the file takes a new saga; sagas of no file never conflict.
      await h.store.save(winner!.id, winner!.owner, {
        status: 'done',
        step: 3,
        payload: {},
        error: null,
        leaseUntil: at(40),
        updatedAt: at(9),
      });
      expect(await h.store.create(saga({ fileId }))).toBe(true);
      expect(await h.store.create(saga({ fileId: null }))).toBe(true);
      expect(await h.store.create(saga({ fileId: null }))).toBe(true);
    });

    it('hands an expired unfinished saga to exactly one taker', async () => {
      const expired = saga({ leaseUntil: at(10) });
      const live = saga({ leaseUntil: at(100), createdAt: at(1) });
      const finished = saga({ status: 'done', leaseUntil: at(10), createdAt: at(2) });
      const undoing = saga({ status: 'compensating', leaseUntil: at(5), createdAt: at(3) });
      for (const s of [expired, live, finished, undoing]) expect(await h.store.create(s)).toBe(true);
      const [first, second] = await Promise.all([
        h.store.claimExpired('proc-b', at(20), at(50), 10),
        h.store.claimExpired('proc-c', at(20), at(50), 10),
      ]);
      const taken = [...first!, ...second!];
      expect(taken.map((s) => s.id).sort()).toEqual([expired.id, undoing.id].sort());
      for (const s of taken) {
        expect(s.attempts).toBe(1);
        expect(s.leaseUntil).toEqual(at(50));
        expect(['proc-b', 'proc-c']).toContain(s.owner);
      }
      // The old owner can no longer save it.
      expect(
        await h.store.save(expired.id, 'proc-a', {
          status: 'done',
          step: 1,
          payload: {},
          error: null,
          leaseUntil: at(60),
          updatedAt: at(21),
        }),
      ).toBe(false);
      expect(await h.store.claimExpired('proc-d', at(20), at(50), 10)).toEqual([]);
    });

    it('renews only its own unfinished sagas', async () => {
      const mine = saga();
      const theirs = saga({ owner: 'proc-b', createdAt: at(1) });
      const done = saga({ status: 'done', createdAt: at(2) });
      for (const s of [mine, theirs, done]) await h.store.create(s);
      await h.store.renew([mine.id, theirs.id, done.id], 'proc-a', at(59));
      expect((await h.store.get(mine.id))?.leaseUntil).toEqual(at(59));
      expect((await h.store.get(theirs.id))?.leaseUntil).toEqual(at(30));
      expect((await h.store.get(done.id))?.leaseUntil).toEqual(at(30));
    });

    it('lists newest first with filters and a keyset cursor', async () => {
      const fileId = randomUUID();
      const all = [
        saga({ createdAt: at(1), kind: 'upload' }),
        saga({ createdAt: at(2), kind: 'delete', fileId, status: 'done' }),
        saga({ createdAt: at(3), kind: 'upload', status: 'done' }),
        saga({ createdAt: at(4), kind: 'finalize', fileId }),
      ];
      for (const s of all) await h.store.create(s);
      const first = await h.store.list({ limit: 3, cursor: null });
      expect(first.items.map((s) => s.id)).toEqual([all[3]!.id, all[2]!.id, all[1]!.id]);
      const rest = await h.store.list({ limit: 3, cursor: first.nextCursor });
      expect(rest.items.map((s) => s.id)).toEqual([all[0]!.id]);
      expect(rest.nextCursor).toBeNull();
      expect((await h.store.list({ limit: 10, cursor: null, kind: 'upload' })).items).toHaveLength(2);
      expect((await h.store.list({ limit: 10, cursor: null, status: 'done' })).items).toHaveLength(2);
      expect(
        (await h.store.list({ limit: 10, cursor: null, fileId })).items.map((s) => s.kind).sort(),
      ).toEqual(['delete', 'finalize']);
    });
  });
}
