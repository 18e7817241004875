import fc from 'fast-check';
import { MemoryRestoredCopies } from '../../../src/adapters/memory/memory-restored-copies';
import { ApplicationError } from '../../../src/application/errors';
import type { CatalogEntry } from '../../../src/application/ports/file-catalog';
import type { RestoredCopy } from '../../../src/application/ports/restored-copies';
import { ArchiveReads, readableCopies, type ModeOf } from '../../../src/application/query/archive-reads';
import { STORAGE_MODES, type StorageMode } from '../../../src/domain/storage-mode/storage-mode';
import { aDocument, FixedClock, T0 } from '../../support/builders';

const FILE = aDocument(Buffer.from('archived'));

function entryOn(...seIds: string[]): CatalogEntry {
  return { file: FILE, copies: seIds.map((seId) => ({ seId, key: `key-on-${seId}` })) };
}

const modes =
  (table: Record<string, StorageMode>): ModeOf =>
  (seId) =>
    table[seId];

function restoredOn(seId: string, expiresInMs: number, fileId = FILE.fileId): RestoredCopy {
  return {
    fileId,
    seId,
    key: `restored-on-${seId}`,
    expiresAt: new Date(T0.getTime() + expiresInMs),
    restoredAt: T0,
  };
}

function refusal(run: () => unknown): ApplicationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApplicationError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('readableCopies', () => {
  const MODES = modes({ 'ar-1': 'ar', 'ar-2': 'ar', 'ro-1': 'ro', 'rw-1': 'rw', 'edit-1': 'edit' });

  it('reads copies on SEs that serve content, as they are', () => {
    expect(readableCopies(entryOn('rw-1', 'ro-1'), MODES, [], T0)).toEqual(entryOn('rw-1', 'ro-1').copies);
  });

  it('leaves archived copies out when another copy serves content', () => {
    expect(readableCopies(entryOn('ar-1', 'ro-1'), MODES, [], T0)).toEqual([
      { seId: 'ro-1', key: 'key-on-ro-1' },
    ]);
  });

  it('answers restore_required (409 in the error table) when only archived copies are left', () => {
    const error = refusal(() => readableCopies(entryOn('ar-1', 'ar-2'), MODES, [], T0));
    expect(error.code).toBe('restore_required');
    expect(error.details).toEqual({ file_id: FILE.fileId });
    expect(error.message).toContain(`POST /api/v1/files/${FILE.fileId}/restore`);
  });

  it('reads a live restored copy first, instead of the archived ones', () => {
    expect(readableCopies(entryOn('ar-1', 'ar-2'), MODES, [restoredOn('edit-1', 1)], T0)).toEqual([
      { seId: 'edit-1', key: 'restored-on-edit-1' },
    ]);
    expect(readableCopies(entryOn('ar-1', 'ro-1'), MODES, [restoredOn('edit-1', 1)], T0)).toEqual([
      { seId: 'edit-1', key: 'restored-on-edit-1' },
      { seId: 'ro-1', key: 'key-on-ro-1' },
    ]);
  });

  it('stops reading a restored copy at its expiry, swept or not', () => {
    const expired = [restoredOn('edit-1', 0), restoredOn('edit-2', -1)];
    expect(refusal(() => readableCopies(entryOn('ar-1'), MODES, expired, T0)).code).toBe('restore_required');
  });

  it('ignores restored copies of another file', () => {
    const other = restoredOn('edit-1', 60_000, '00000000-0000-7000-8000-000000000000');
    expect(refusal(() => readableCopies(entryOn('ar-1'), MODES, [other], T0)).code).toBe('restore_required');
  });

  it('still tries a copy on an SE the registry does not know (it may answer)', () => {
    expect(readableCopies(entryOn('ar-1', 'gone-1'), MODES, [], T0)).toEqual([
      { seId: 'gone-1', key: 'key-on-gone-1' },
    ]);
  });

  it('has nothing to offer, and no refusal to make, for a file without copies', () => {
    expect(readableCopies(entryOn(), MODES, [], T0)).toEqual([]);
  });

  it('never offers an archived or expired copy, and refuses only when nothing else is left', () => {
    const copyArb = fc.record({
      mode: fc.option(fc.constantFrom(...STORAGE_MODES), { nil: undefined }),
    });
    const restoredArb = fc.record({ expiresInMs: fc.integer({ min: -10_000, max: 10_000 }) });
    fc.assert(
      fc.property(
        fc.array(copyArb, { maxLength: 5 }),
        fc.array(restoredArb, { maxLength: 3 }),
        (copies, restored) => {
          const table: Record<string, StorageMode> = {};
          copies.forEach((c, i) => {
            if (c.mode) table[`se-${i}`] = c.mode;
          });
          const entry = entryOn(...copies.map((_, i) => `se-${i}`));
          const restoredCopies = restored.map((r, i) => restoredOn(`edit-${i}`, r.expiresInMs));
          const live = restored.filter((r) => r.expiresInMs > 0).length;
          const direct = copies.filter((c) => c.mode !== 'ar').length;
          let offered;
          try {
            offered = readableCopies(entry, modes(table), restoredCopies, T0);
          } catch (error) {
            expect((error as ApplicationError).code).toBe('restore_required');
            expect(live + direct).toBe(0);
            expect(copies.length).toBeGreaterThan(0);
            return;
          }
          expect(offered).toHaveLength(live + direct);
          expect(offered.some((c) => table[c.seId] === 'ar')).toBe(false);
          // Restored copies come first.
          expect(offered.slice(0, live).every((c) => c.key.startsWith('restored-on-'))).toBe(true);
        },
      ),
    );
  });
});

describe('ArchiveReads', () => {
  class CountingRestoredCopies extends MemoryRestoredCopies {
    lookups = 0;
    override list(fileId: string): Promise<RestoredCopy[]> {
      this.lookups += 1;
      return super.list(fileId);
    }
  }

  it('looks restored copies up only for a file with an archived copy', async () => {
    const restored = new CountingRestoredCopies();
    const clock = new FixedClock();
    const archive = new ArchiveReads(restored, clock);
    const modeOf = modes({ 'rw-1': 'rw', 'ar-1': 'ar' });
    await expect(archive.copiesToRead(entryOn('rw-1'), modeOf)).resolves.toHaveLength(1);
    expect(restored.lookups).toBe(0);
    await restored.put(restoredOn('edit-1', 1_000));
    await expect(archive.copiesToRead(entryOn('ar-1'), modeOf)).resolves.toEqual([
      { seId: 'edit-1', key: 'restored-on-edit-1' },
    ]);
    expect(restored.lookups).toBe(1);
    clock.advance(1_000);
    await expect(archive.copiesToRead(entryOn('ar-1'), modeOf)).rejects.toMatchObject({
      code: 'restore_required',
    });
  });
});
