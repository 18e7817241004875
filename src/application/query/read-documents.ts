import type { Principal } from '../../domain/access/principal';
import { collectionPatterns } from '../../domain/access/principal';
import { DomainError } from '../../domain/errors';
import { ApplicationError } from '../errors';
import type { ByteRange } from '../ports/blob-store';
import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  SearchFacets,
  SearchFilters,
  SearchHit,
  SearchSort,
  SortOrder,
} from '../ports/file-catalog';
import type { Page } from '../ports/file-index';
import type { FixityCheck, FixityLog } from '../ports/fixity-log';
import type { OpenedContent, StorageElementDirectory } from '../ports/storage-element-client';
import { requireFileAccess, requireScope } from '../shared/authorize';
import type { ArchiveReads } from './archive-reads';
import type { RegistryView } from '../shared/registry-view';

export interface SearchCommand {
  readonly text: string;
  readonly filters?: SearchFilters | undefined;
  readonly sort?: SearchSort | undefined;
  readonly order?: SortOrder | undefined;
  readonly limit: number;
  readonly cursor: string | null;
  /** Also count the matches by content type and retention. */
  readonly facets?: boolean | undefined;
}

export interface SearchResult extends Page<SearchHit> {
  readonly facets: SearchFacets | null;
}

/** The query role's reads (§2): metadata, content with ranges, search. */
export class ReadDocuments {
  constructor(
    private readonly catalog: FileCatalog,
    private readonly directory: StorageElementDirectory,
    private readonly registry: RegistryView,
    private readonly fixity: FixityLog,
    private readonly archive: ArchiveReads,
  ) {}

  /** The fixity history of a file the caller may read: every check of every copy, newest first. */
  async fixityHistory(principal: Principal, fileId: string, limit: number): Promise<FixityCheck[]> {
    await this.describe(principal, fileId);
    return this.fixity.history(fileId, { limit });
  }

  /** The catalog entry of an active file the caller may read; anything else is "not found". */
  async describe(principal: Principal, fileId: string): Promise<CatalogEntry> {
    const entry = await this.catalog.get(fileId);
    if (!entry || entry.file.status !== 'active') {
      requireScope(principal, 'files:read');
      throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
    }
    requireFileAccess(principal, 'files:read', entry.file.collection, fileId);
    return entry;
  }

  /** Refuses as `open` would when only archived copies are left, without opening one (HEAD). */
  async assertReadable(entry: CatalogEntry): Promise<void> {
    const known = new Map((await this.registry.list()).map((se) => [se.id, se]));
    await this.archive.copiesToRead(entry, (seId) => known.get(seId)?.mode);
  }

  /**
   * Opens the content from the first copy that answers. A copy that fails before sending bytes
   * is skipped; the caller sees an error only when no copy can serve.
   */
  async open(entry: CatalogEntry, range?: ByteRange): Promise<OpenedContent> {
    const known = new Map((await this.registry.list()).map((se) => [se.id, se]));
    const readable = await this.archive.copiesToRead(entry, (seId) => known.get(seId)?.mode);
    const copies = readable.sort((a, b) => Number(known.has(b.seId)) - Number(known.has(a.seId)));
    let lastError: unknown = null;
    for (const copy of copies) {
      try {
        return await this.directory.client(copy.seId).open(entry.file.fileId, range);
      } catch (error) {
        if (error instanceof ApplicationError && error.code === 'range_not_satisfiable') throw error;
        lastError = error;
      }
    }
    if (lastError === null)
      throw new ApplicationError('storage_unavailable', `no copy of file ${entry.file.fileId} is reachable`);
    if (
      (lastError instanceof ApplicationError &&
        (lastError.code === 'storage_unavailable' || lastError.code === 'file_corrupt')) ||
      // Every copy is on an SE whose mode withholds content (`ar` without a restore): a refusal, not an outage.
      (lastError instanceof DomainError && lastError.code === 'mode_forbids_operation')
    )
      throw lastError;
    throw new ApplicationError(
      'storage_unavailable',
      `no copy of file ${entry.file.fileId} could be read`,
      {},
      {
        cause: lastError,
      },
    );
  }

  async search(principal: Principal, command: SearchCommand): Promise<SearchResult> {
    requireScope(principal, 'files:read');
    // Deleted and expired files are tombstones: `describe` hides them from every reader, and only
    // administrators may list them.
    if (command.filters?.statuses?.some((status) => status !== 'active'))
      requireScope(principal, 'admin:read');
    // Grants narrow the query itself, so pages are full and counts never include hidden files.
    const query: CatalogSearch = {
      text: command.text,
      filters: command.filters,
      sort: command.sort,
      order: command.order,
      limit: command.limit,
      cursor: command.cursor,
      collectionPatterns: collectionPatterns(principal, 'files:read'),
    };
    const [page, facets] = await Promise.all([
      this.catalog.search(query),
      command.facets ? this.catalog.facets(query) : null,
    ]);
    return { ...page, facets };
  }
}
