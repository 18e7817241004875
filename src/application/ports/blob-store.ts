import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP Range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface BlobStat {
  readonly size: number;
}

export interface IncompleteWrite {
  /** The key the interrupted `put` was writing. */
  readonly key: string;
  readonly startedAt: Date;
}

/**
 * Objects of one storage element's backend (a directory or a bucket prefix), addressed by key.
 * Blobs and sidecars are both objects. Every adapter passes test/contract/blob-store.contract.ts.
 */
export interface BlobStore {
  /**
   * Writes `source` under `key` atomically and durably: when the promise resolves the complete
   * object is there and survives a crash; when it rejects nothing of it is visible under `key`
   * (an existing object under `key` is replaced only on success).
   */
  put(key: string, source: Readable | Buffer): Promise<BlobStat>;
  /** Streams the object, or the inclusive range of it. Rejects with BlobNotFound when absent. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Reads a small object whole (sidecars). Rejects with BlobNotFound when absent. */
  read(key: string): Promise<Buffer>;
  stat(key: string): Promise<BlobStat | null>;
  /** Removes the object durably; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Every key under the prefix, in no particular order; partial writes are never listed. */
  list(prefix?: string): AsyncIterable<string>;
  /** Removes whatever an interrupted `put` of `key` may have left (temp files, incomplete uploads). */
  discardIncomplete(key: string): Promise<void>;
  /** What interrupted or running `put`s have left (temp files, incomplete uploads), by target key. */
  listIncomplete(): AsyncIterable<IncompleteWrite>;
  /**
   * Moves an object to another key (quarantine): afterwards it is under `to` and no longer under
   * `from`, durably. Rejects with BlobNotFound when `from` is absent.
   */
  move(from: string, to: string): Promise<void>;
  /** Total and free bytes of the underlying medium, when it knows them. */
  space(): Promise<{ totalBytes: number; freeBytes: number } | null>;
}

export class BlobNotFound extends Error {
  override readonly name = 'BlobNotFound';
  constructor(readonly key: string) {
    super(`no object under key '${key}'`);
  }
}

/**
 * The blob backend itself failed (an S3 endpoint that resets, times out or refuses): unlike the
 * same errno coming from the content being written, it is never the client's doing.
 */
export class BlobBackendUnavailable extends Error {
  override readonly name = 'BlobBackendUnavailable';
  constructor(cause: unknown) {
    super(`the blob backend failed: ${(cause as Error | null)?.message ?? String(cause)}`, { cause });
  }
}
