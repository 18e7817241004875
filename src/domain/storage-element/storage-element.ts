import type { StorageMode } from '../storage-mode/storage-mode';

export const BLOB_BACKENDS = ['local', 's3'] as const;
export type BlobBackend = (typeof BLOB_BACKENDS)[number];

export interface Capacity {
  readonly totalBytes: number;
  readonly usedBytes: number;
}

export function freeBytes(capacity: Capacity): number {
  return Math.max(0, capacity.totalBytes - capacity.usedBytes);
}

export function fits(capacity: Capacity, size: number): boolean {
  return size <= freeBytes(capacity);
}

/** A storage element as the rest of the system sees it (the registry's record). */
export interface StorageElementDescriptor {
  readonly id: string;
  readonly mode: StorageMode;
  readonly backend: BlobBackend;
  readonly dc: string;
  /** Lower fills first (§3.4). */
  readonly priority: number;
  readonly capacity: Capacity;
  readonly fileCount: number;
  /** Where other roles reach its internal API. */
  readonly url: string;
  readonly lastSeenAt: Date;
}

const SE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/u;

export function isValidStorageElementId(id: string): boolean {
  return SE_ID_PATTERN.test(id);
}
