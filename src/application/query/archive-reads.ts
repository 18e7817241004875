import { isOperationAllowed, type StorageMode } from '../../domain/storage-mode/storage-mode';
import { ApplicationError } from '../errors';
import type { Clock } from '../ports/clock';
import type { CatalogEntry, FileCopy } from '../ports/file-catalog';
import type { RestoredCopies, RestoredCopy } from '../ports/restored-copies';

/** The mode of an SE by id; undefined when the registry does not know it. */
export type ModeOf = (seId: string) => StorageMode | undefined;

/** A copy on an SE whose mode serves content only from a restored copy (`ar`, §3.3). */
export function withheld(copy: FileCopy, modeOf: ModeOf): boolean {
  const mode = modeOf(copy.seId);
  return mode !== undefined && !isOperationAllowed(mode, 'read');
}

/**
 * The copies a download may read, best first: live restored copies, then every copy whose SE
 * serves content (an SE the registry does not know is tried too: it may answer). When nothing is
 * left but archived copies the answer is `restore_required` (409): a refusal the client can act
 * on, not an outage. A restored copy counts while `now` is before its expiry, whether or not the
 * sweep has removed it yet.
 */
export function readableCopies(
  entry: CatalogEntry,
  modeOf: ModeOf,
  restored: readonly RestoredCopy[],
  now: Date,
): FileCopy[] {
  const live = restored
    .filter((r) => r.fileId === entry.file.fileId && r.expiresAt.getTime() > now.getTime())
    .map((r) => ({ seId: r.seId, key: r.key }));
  const direct = entry.copies.filter((c) => !withheld(c, modeOf));
  const readable = [...live, ...direct];
  if (readable.length === 0 && entry.copies.length > 0) {
    throw new ApplicationError(
      'restore_required',
      `file ${entry.file.fileId} is archived: request a restore (POST /api/v1/files/${entry.file.fileId}/restore) and read it once the restore is done`,
      { file_id: entry.file.fileId },
    );
  }
  return readable;
}

/** Reads of archived files: looks up restored copies only for files that have a withheld copy. */
export class ArchiveReads {
  constructor(
    private readonly restored: RestoredCopies,
    private readonly clock: Clock,
  ) {}

  async copiesToRead(entry: CatalogEntry, modeOf: ModeOf): Promise<FileCopy[]> {
    const archived = entry.copies.some((c) => withheld(c, modeOf));
    // Files on readable SEs (nearly every download) cost no extra query.
    const restored = archived ? await this.restored.list(entry.file.fileId) : [];
    return readableCopies(entry, modeOf, restored, this.clock.now());
  }
}
