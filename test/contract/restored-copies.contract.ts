import { randomUUID } from 'node:crypto';
import type { RestoredCopies, RestoredCopy } from '../../src/application/ports/restored-copies';

export interface RestoredCopiesHarness {
  readonly copies: RestoredCopies;
  cleanup(): Promise<void>;
}

const T0 = new Date('2026-12-01T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

function aCopy(overrides: Partial<RestoredCopy> = {}): RestoredCopy {
  const fileId = overrides.fileId ?? randomUUID();
  return {
    fileId,
    seId: 'edit-1',
    key: `2026/12/01/report_${fileId}.pdf`,
    expiresAt: at(3600),
    restoredAt: T0,
    ...overrides,
  };
}

/** The behaviour every RestoredCopies adapter must have (restored copies of archived files). */
export function describeRestoredCopiesContract(
  name: string,
  open: () => Promise<RestoredCopiesHarness>,
): void {
  describe(`RestoredCopies contract: ${name}`, () => {
    let h: RestoredCopiesHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('returns a recorded copy field for field, and nothing for another file', async () => {
      const copy = aCopy({ expiresAt: new Date('2026-12-02T10:00:00.123Z') });
      await h.copies.put(copy);
      expect(await h.copies.list(copy.fileId)).toEqual([copy]);
      expect(await h.copies.list(randomUUID())).toEqual([]);
    });

    it('replaces the copy of a file on the same SE, keeps copies on other SEs', async () => {
      const first = aCopy();
      await h.copies.put(first);
      const again = { ...first, key: `${first.key}.2`, expiresAt: at(7200), restoredAt: at(60) };
      const other = { ...first, seId: 'edit-2', expiresAt: at(10) };
      await h.copies.put(again);
      await h.copies.put(other);
      expect(await h.copies.list(first.fileId)).toEqual([again, other]);
    });

    it('lists expired copies up to and including now, oldest expiry first, at most limit', async () => {
      const soon = aCopy({ expiresAt: at(10) });
      const sooner = aCopy({ expiresAt: at(5) });
      const exactly = aCopy({ expiresAt: at(20) });
      const later = aCopy({ expiresAt: at(21) });
      for (const copy of [soon, later, exactly, sooner]) await h.copies.put(copy);
      expect(await h.copies.expired(at(20), 10)).toEqual([sooner, soon, exactly]);
      expect(await h.copies.expired(at(20), 2)).toEqual([sooner, soon]);
      expect(await h.copies.expired(at(4), 10)).toEqual([]);
    });

    it('removes one copy and ignores a copy it does not know', async () => {
      const copy = aCopy();
      const other = { ...copy, seId: 'edit-2' };
      await h.copies.put(copy);
      await h.copies.put(other);
      await h.copies.remove(copy.fileId, 'edit-1');
      await h.copies.remove(copy.fileId, 'edit-1');
      await h.copies.remove(randomUUID(), 'edit-1');
      expect(await h.copies.list(copy.fileId)).toEqual([other]);
    });
  });
}
