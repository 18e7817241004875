import type { FileCopy } from './file-catalog';

/**
 * A temporary copy of an archived file (§3.3, mode `ar`: content after restore), placed on an
 * `edit` SE by a restore job and removed once `expiresAt` has passed. It is not one of the file's
 * catalogued copies: it counts for no replica and the archived copies stay as they are.
 */
export interface RestoredCopy extends FileCopy {
  readonly fileId: string;
  readonly expiresAt: Date;
  readonly restoredAt: Date;
}

/** Where the restored copies are recorded (the admin's PostgreSQL; memory in tests). */
export interface RestoredCopies {
  /** Records a copy; a copy of the same file on the same SE is replaced. */
  put(copy: RestoredCopy): Promise<void>;
  /** The file's restored copies, live or expired, the latest expiry first. */
  list(fileId: string): Promise<RestoredCopy[]>;
  /** Copies whose expiry is at or before `now`, oldest expiry first. */
  expired(now: Date, limit: number): Promise<RestoredCopy[]>;
  /** Forgets a copy; nothing happens when it is not recorded. */
  remove(fileId: string, seId: string): Promise<void>;
}
