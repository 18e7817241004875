import { randomBytes } from 'node:crypto';
import { ERRORS, type Locker } from '@tus/utils';

export interface LockerHarness {
  /** A locker whose waiters give up after `acquireTimeoutMs`. */
  readonly locker: (acquireTimeoutMs: number) => Locker;
  cleanup(): Promise<void>;
}

const id = (): string => randomBytes(16).toString('hex');

/** The behaviour @tus/server expects of every Locker (its lock(signal, requestRelease) contract). */
export function describeLockerContract(name: string, open: () => Promise<LockerHarness>): void {
  describe(`tus Locker contract: ${name}`, () => {
    let h: LockerHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(() => h.cleanup());

    it('makes a second request wait, asks the holder to release, and hands the lock over', async () => {
      const locker = h.locker(10_000);
      const upload = id();
      const holder = locker.newLock(upload);
      const order: string[] = [];
      await holder.lock(new AbortController().signal, async () => {
        order.push('asked');
        await holder.unlock();
        order.push('released');
      });
      const waiter = locker.newLock(upload);
      await waiter.lock(new AbortController().signal, () => undefined);
      order.push('acquired');
      expect(order).toEqual(['asked', 'released', 'acquired']);
      await waiter.unlock();
    });

    it('does not make locks on different uploads wait for each other', async () => {
      const locker = h.locker(200);
      const a = locker.newLock(id());
      const b = locker.newLock(id());
      await a.lock(new AbortController().signal, () => undefined);
      await b.lock(new AbortController().signal, () => undefined);
      await Promise.all([a.unlock(), b.unlock()]);
    });

    it('gives up with a lock timeout when the holder does not let go', async () => {
      const locker = h.locker(300);
      const upload = id();
      const holder = locker.newLock(upload);
      await holder.lock(new AbortController().signal, () => undefined);
      await expect(locker.newLock(upload).lock(new AbortController().signal, () => undefined)).rejects.toBe(
        ERRORS.ERR_LOCK_TIMEOUT,
      );
      await holder.unlock();
      const next = locker.newLock(upload);
      await next.lock(new AbortController().signal, () => undefined);
      await next.unlock();
    });
  });
}
