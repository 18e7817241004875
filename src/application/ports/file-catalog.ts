import type { DocumentAttributes } from '../../domain/document/document';
import type { Page } from './file-index';

export interface FileCopy {
  readonly seId: string;
  readonly key: string;
}

export interface CatalogEntry {
  readonly file: DocumentAttributes;
  readonly copies: readonly FileCopy[];
}

export interface CatalogSearch {
  readonly text: string;
  /** Only collections matching one of these glob patterns (`*`, `?`); undefined means every collection. */
  readonly collectionPatterns?: readonly string[] | undefined;
  readonly limit: number;
  readonly cursor: string | null;
}

/** The admin's catalog of every file and its copies (§2). */
export interface FileCatalog {
  add(entry: CatalogEntry): Promise<void>;
  get(fileId: string): Promise<CatalogEntry | null>;
  search(query: CatalogSearch): Promise<Page<DocumentAttributes>>;
  /** Replaces what the catalog knows about a file from an SE's authoritative sidecar (rebuild). */
  restore(entry: CatalogEntry): Promise<void>;
  /** How many active files with a copy on `seId` have fewer than `required` copies in all. */
  countUnderReplicated(seId: string, required: number): Promise<number>;
  /**
   * Replaces a catalogued file's attributes after a metadata change; its copies stay. A version
   * not newer than the one held is ignored (a retried or late step never rolls a newer change
   * back). False when the catalog does not know the file.
   */
  update(file: DocumentAttributes): Promise<boolean>;
}
