import type { Readable } from 'node:stream';

/** An open staged file receiving one request's bytes at increasing positions. */
export interface StagedWriter {
  write(chunk: Buffer, position: number): Promise<void>;
  /** Makes everything written so far durable (fsync). */
  sync(): Promise<void>;
  /** Drops every byte from `length` on. */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** Partial upload bytes, reachable by every ingester replica (a shared directory). */
export interface StagingArea {
  /** Creates an empty staged file. */
  create(key: string): Promise<void>;
  open(key: string): Promise<StagedWriter>;
  /** The first `length` bytes (the committed part; anything after is a crashed write's tail). */
  read(key: string, length: number): Readable;
  /** Removes the staged bytes; a missing file is not an error. */
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}
