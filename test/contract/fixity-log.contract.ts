import { randomUUID } from 'node:crypto';
import type { FixityCheck, FixityLog } from '../../src/application/ports/fixity-log';

export interface FixityLogHarness {
  readonly log: FixityLog;
  cleanup(): Promise<void>;
}

const at = (minute: number): Date => new Date(Date.UTC(2026, 2, 1, 10, minute));

/** The behaviour every FixityLog adapter must have. */
export function describeFixityLogContract(name: string, open: () => Promise<FixityLogHarness>): void {
  describe(`FixityLog contract: ${name}`, () => {
    let h: FixityLogHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(() => h.cleanup());

    it('returns a file’s checks on every SE, newest first, and only that file’s', async () => {
      const fileId = randomUUID();
      const checks: FixityCheck[] = [
        { seId: 'rw-1', fileId, checkedAt: at(1), ok: true, detail: null, trigger: 'scrub' },
        { seId: 'rw-2', fileId, checkedAt: at(3), ok: true, detail: null, trigger: 'reconcile' },
        {
          seId: 'rw-1',
          fileId,
          checkedAt: at(2),
          ok: false,
          detail: 'checksum differs from the sidecar',
          trigger: 'read',
        },
        {
          seId: 'rw-1',
          fileId: randomUUID(),
          checkedAt: at(4),
          ok: true,
          detail: null,
          trigger: 'mode_gate',
        },
      ];
      for (const check of checks) await h.log.record(check);
      expect(await h.log.history(fileId, { limit: 10 })).toEqual([checks[1], checks[2], checks[0]]);
      expect(await h.log.history(fileId, { limit: 2 })).toEqual([checks[1], checks[2]]);
      expect(await h.log.history(randomUUID(), { limit: 10 })).toEqual([]);
    });

    it('tells when an SE last checked a file through given triggers', async () => {
      const seId = `se-${randomUUID().slice(0, 8)}`;
      expect(await h.log.lastCheckedAt(seId, ['scrub'])).toBeNull();
      const check = (minute: number, trigger: FixityCheck['trigger'], se = seId): FixityCheck => ({
        seId: se,
        fileId: randomUUID(),
        checkedAt: at(minute),
        ok: true,
        detail: null,
        trigger,
      });
      for (const c of [
        check(1, 'scrub'),
        check(7, 'read'),
        check(3, 'mode_gate'),
        check(9, 'scrub', 'other'),
      ])
        await h.log.record(c);
      expect(await h.log.lastCheckedAt(seId, ['scrub'])).toEqual(at(1));
      expect(await h.log.lastCheckedAt(seId, ['scrub', 'mode_gate'])).toEqual(at(3));
    });

    it('keeps two checks of the same instant in the order they were recorded, newest first', async () => {
      const fileId = randomUUID();
      const first: FixityCheck = {
        seId: 'a',
        fileId,
        checkedAt: at(5),
        ok: true,
        detail: null,
        trigger: 'scrub',
      };
      const second: FixityCheck = { ...first, ok: false, detail: 'blob missing' };
      await h.log.record(first);
      await h.log.record(second);
      expect(await h.log.history(fileId, { limit: 10 })).toEqual([second, first]);
    });
  });
}
