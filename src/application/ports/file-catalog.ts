import type { DocumentAttributes } from '../../domain/document/document';
import type { FileStatus } from '../../domain/document/document';
import type { RetentionPolicy } from '../../domain/retention/retention';
import type { Page } from './file-index';

export interface FileCopy {
  readonly seId: string;
  readonly key: string;
}

export interface CatalogEntry {
  readonly file: DocumentAttributes;
  readonly copies: readonly FileCopy[];
}

export const SEARCH_SORTS = ['relevance', 'date', 'name', 'size'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];
export type SortOrder = 'asc' | 'desc';

/** Filters of a catalog search; every one given must hold. Ranges are inclusive. */
export interface SearchFilters {
  /** Exact collection names (any of them). */
  readonly collections?: readonly string[] | undefined;
  /** Exact declared content types (any of them). */
  readonly contentTypes?: readonly string[] | undefined;
  readonly tagsAll?: readonly string[] | undefined;
  readonly tagsAny?: readonly string[] | undefined;
  readonly uploader?: string | undefined;
  readonly sizeMin?: number | undefined;
  readonly sizeMax?: number | undefined;
  readonly uploadedFrom?: Date | undefined;
  readonly uploadedTo?: Date | undefined;
  readonly retention?: RetentionPolicy | undefined;
  /** Temporary files expiring within [expiresFrom, expiresTo]. */
  readonly expiresFrom?: Date | undefined;
  readonly expiresTo?: Date | undefined;
  /** Default: active only. */
  readonly statuses?: readonly FileStatus[] | undefined;
  /** Files with a copy on this storage element. */
  readonly seId?: string | undefined;
}

export interface CatalogSearch {
  /**
   * Search text (search-text.ts syntax). Blank means every file the filters let through; text
   * with no searchable word in it matches nothing.
   */
  readonly text: string;
  /** Only collections matching one of these glob patterns (`*`, `?`); undefined means every collection. */
  readonly collectionPatterns?: readonly string[] | undefined;
  readonly filters?: SearchFilters | undefined;
  /** Default: relevance when there is text, else date. Relevance without text is date. */
  readonly sort?: SearchSort | undefined;
  /** Default: desc for relevance, date and size; asc for name. Relevance is always desc. */
  readonly order?: SortOrder | undefined;
  readonly limit: number;
  readonly cursor: string | null;
}

export interface SearchHit {
  readonly file: DocumentAttributes;
  /** Higher is better; null when the search has no text. */
  readonly rank: number | null;
  /** Matched words marked `<mark>…</mark>` in name, description, tags or metadata; null without text. */
  readonly snippet: string | null;
}

/**
 * Relevance ranks at most the newest `size` matches of a query (the catalog's cap): set when more
 * matched, with the upload time of the oldest file ranked. Other sorts see every match.
 */
export interface RelevanceWindow {
  readonly size: number;
  readonly uploadedFrom: Date;
}

export interface SearchPage extends Page<SearchHit> {
  /** Null (or absent) when every match was ranked. */
  readonly relevanceWindow?: RelevanceWindow | null;
}

export interface FacetCount {
  readonly value: string;
  readonly count: number;
}

/** Counts over every match of a search (not one page), largest first. */
export interface SearchFacets {
  readonly contentType: FacetCount[];
  readonly retention: FacetCount[];
}

/** The sort a search ends up with (the defaults above applied). */
export function effectiveSort(query: Pick<CatalogSearch, 'text' | 'sort' | 'order'>): {
  sort: SearchSort;
  order: SortOrder;
} {
  const hasText = query.text.trim() !== '';
  const sort =
    query.sort === 'relevance' && !hasText ? 'date' : (query.sort ?? (hasText ? 'relevance' : 'date'));
  if (sort === 'relevance') return { sort, order: 'desc' };
  return { sort, order: query.order ?? (sort === 'name' ? 'asc' : 'desc') };
}

/** The admin's catalog of every file and its copies (§2). */
export interface FileCatalog {
  add(entry: CatalogEntry): Promise<void>;
  get(fileId: string): Promise<CatalogEntry | null>;
  search(query: CatalogSearch): Promise<SearchPage>;
  /** Content-type and retention counts over everything `query` matches (limit and cursor ignored). */
  facets(query: CatalogSearch): Promise<SearchFacets>;
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
