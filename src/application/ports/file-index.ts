import type { DocumentAttributes } from '../../domain/document/document';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/**
 * A storage element's PostgreSQL metadata cache (§4): rebuildable from the sidecars at any time.
 */
export interface FileIndex {
  upsert(seId: string, file: DocumentAttributes): Promise<void>;
  get(seId: string, fileId: string): Promise<DocumentAttributes | null>;
  remove(seId: string, fileId: string): Promise<void>;
  list(seId: string, options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>>;
  /** Active files and their STORED bytes (compressed content counts its compressed size). */
  stats(seId: string): Promise<{ files: number; bytes: number }>;
  clear(seId: string): Promise<void>;
}
