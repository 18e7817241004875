/**
 * A cache shared by every process (level 2), keyed by a file id for metadata and by a query hash
 * for search results. A read returns, with the value, the token under which a fresh load may be
 * stored: a store carrying a token that an invalidation has since made old is dropped, so a load
 * that began before a change never lands in the cache. A null token means the shared cache is
 * unavailable: the caller goes to the source and stores nothing.
 */
export interface SharedCache {
  readEntry(fileId: string): Promise<SharedRead>;
  storeEntry(fileId: string, token: string, value: string): Promise<void>;
  readSearch(hash: string): Promise<SharedRead>;
  storeSearch(hash: string, token: string, value: string): Promise<void>;
  /** After a change to a file: its entry and every cached search stop being served. */
  invalidate(fileId: string): Promise<void>;
}

export interface SharedRead {
  readonly value: string | null;
  readonly token: string | null;
}

export const UNAVAILABLE: SharedRead = Object.freeze({ value: null, token: null });
