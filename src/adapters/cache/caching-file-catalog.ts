import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  SearchFacets,
  SearchHit,
} from '../../application/ports/file-catalog';
import type { EventBus } from '../../application/ports/event-bus';
import type { Page } from '../../application/ports/file-index';
import type { DocumentAttributes } from '../../domain/document/document';
import { ReadThroughCache } from './read-through-cache';

/**
 * Keeps recently read catalog entries in memory for the read path. Its own writes invalidate at
 * once; writes by other processes arrive as `file.changed` events (see `listen`); the TTL bounds
 * how long an entry can outlive a lost event. Searches always go to the catalog.
 */
export class CachingFileCatalog implements FileCatalog {
  private readonly cache: ReadThroughCache<CatalogEntry>;

  constructor(
    private readonly inner: FileCatalog,
    options: { maxEntries: number; ttlMs: number },
  ) {
    this.cache = new ReadThroughCache({ max: options.maxEntries, ttlMs: options.ttlMs });
  }

  /** Drops an entry whenever any role announces a change to its file. */
  listen(events: EventBus): Promise<() => Promise<void>> {
    return events.subscribe('file.changed', ({ fileId }) => this.cache.forget(fileId));
  }

  add(entry: CatalogEntry): Promise<void> {
    return this.cache.writing(entry.file.fileId, () => this.inner.add(entry));
  }

  get(fileId: string): Promise<CatalogEntry | null> {
    return this.cache.read(fileId, () => this.inner.get(fileId));
  }

  search(query: CatalogSearch): Promise<Page<SearchHit>> {
    return this.inner.search(query);
  }

  facets(query: CatalogSearch): Promise<SearchFacets> {
    return this.inner.facets(query);
  }

  countUnderReplicated(seId: string, required: number): Promise<number> {
    return this.inner.countUnderReplicated(seId, required);
  }

  update(file: DocumentAttributes): Promise<boolean> {
    return this.cache.writing(file.fileId, () => this.inner.update(file));
  }

  restore(entry: CatalogEntry): Promise<void> {
    return this.cache.writing(entry.file.fileId, () => this.inner.restore(entry));
  }
}
