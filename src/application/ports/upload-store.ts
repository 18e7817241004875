import type { Scope } from '../../domain/access/principal';

export const UPLOAD_STATUSES = ['uploading', 'completing', 'completed', 'failed'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

/** Who created the upload, kept so a completion finished later (another replica, the sweep) acts as them. */
export interface PrincipalSnapshot {
  readonly kind: 'user' | 'service' | 'anonymous' | 'system';
  readonly subject: string;
  readonly scopes: readonly Scope[];
  readonly collections: Readonly<Partial<Record<Scope, readonly string[]>>>;
}

/** What went wrong with a completion that retrying cannot fix. */
export interface UploadProblem {
  readonly code: string;
  readonly detail: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** A resumable (tus) upload: its committed offset and what becomes of the bytes once all arrived. */
export interface UploadRecord {
  readonly id: string;
  readonly owner: string;
  readonly principal: PrincipalSnapshot;
  /** Null while the length is deferred. */
  readonly length: number | null;
  /** Bytes durably staged; the staged file may be longer after a crash, this offset wins. */
  readonly offset: number;
  /** The Upload-Metadata pairs as the client sent them (decoded). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly stagedKey: string;
  /** Reserved when completion starts, so a retried completion stores the same file. */
  readonly fileId: string | null;
  readonly status: UploadStatus;
  readonly error: UploadProblem | null;
  readonly createdAt: Date;
  /** For a completing upload: the completion's lease, renewed while it runs. */
  readonly updatedAt: Date;
  readonly expiresAt: Date;
}

export type UploadChange = Partial<Pick<UploadRecord, 'status' | 'fileId' | 'error' | 'updatedAt'>>;

/** Upload state shared by every ingester replica (PostgreSQL; memory for tests and one process). */
export interface TransitionGuard {
  readonly staleBefore?: Date;
  readonly fileId?: string;
}

export interface UploadStore {
  create(record: UploadRecord): Promise<void>;
  get(id: string): Promise<UploadRecord | null>;
  /** Compare-and-set of the committed offset: false when the offset is no longer `from`. */
  advance(id: string, from: number, to: number, now: Date): Promise<boolean>;
  /**
   * Compare-and-set of the status: applies `change` only when the row is in `from` and, if given,
   * was last updated before `staleBefore` (a completion lease that ran out) and holds `fileId`
   * (the completion that claimed it still owns it). Returns the new row or null.
   */
  transition(
    id: string,
    from: readonly UploadStatus[],
    change: UploadChange,
    guard?: TransitionGuard,
  ): Promise<UploadRecord | null>;
  /** Removes an upload unless it is being completed (then false: the completion owns it now). */
  remove(id: string): Promise<boolean>;
  /** Rows whose expiry has passed, in any status. */
  expired(now: Date, limit: number): Promise<UploadRecord[]>;
  /**
   * Completing rows whose lease ran out (their process died mid-completion), and rows with every
   * byte staged that no completion claimed (it failed before its claim), oldest first.
   */
  stalled(staleBefore: Date, limit: number): Promise<UploadRecord[]>;
}
