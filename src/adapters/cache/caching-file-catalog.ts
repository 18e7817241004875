import { z } from 'zod';
import type { EventBus } from '../../application/ports/event-bus';
import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  FileCopy,
  SearchFacets,
  SearchPage,
} from '../../application/ports/file-catalog';
import type { DocumentAttributes } from '../../domain/document/document';
import type { JsonSidecarCodec } from '../sidecar/json-sidecar-codec';
import { fromWire, stableHash, toWire } from './cache-wire';
import { ReadThroughCache } from './read-through-cache';
import type { SharedCache, SharedRead } from './shared-cache';

export type CacheName = 'metadata' | 'search';
export type CacheLevel = 'l1' | 'l2';

/** Hit and miss counts per cache and level (Prometheus counters in production). */
export interface CacheObserver {
  hit(cache: CacheName, level: CacheLevel): void;
  miss(cache: CacheName, level: CacheLevel): void;
  /** A value read back from the shared cache that could not be decoded (served from the source). */
  undecodable(cache: CacheName, error: unknown): void;
}

export interface CatalogCacheOptions {
  /** Entries kept in this process (level 1); 0 turns that level off. */
  readonly metadataEntries: number;
  readonly searchEntries: number;
  /** How long a level-1 value may be served without a change event (bounds a lost event). */
  readonly ttlMs: number;
}

const entryWire = z.object({ file: z.unknown(), copies: z.array(z.unknown()) });
const pageWire = z.looseObject({ items: z.array(z.unknown()) });
const facetsWire = z.looseObject({ contentType: z.array(z.unknown()), retention: z.array(z.unknown()) });

/**
 * The read path's multi-level cache of the catalog: level 1 in this process (LRU), level 2 shared
 * in Redis when configured (`SharedCache`), then PostgreSQL. Searches are cached by a hash of the
 * whole query (text, filters, the caller's collection grants), so a cached page is only served
 * for the same question asked with the same rights.
 *
 * Coherence: every write through this object invalidates level 2 (the file's entry and every
 * search) after the source changed, then level 1, then announces `file.changed`; every process
 * drops its level-1 copies when the event arrives (`listen`). A load that began before an
 * invalidation is returned to its caller but stored at neither level (generations in level 1,
 * tokens in level 2). A lost event is bounded by the level-1 TTL, a lost level-2 invalidation by
 * the level-2 TTL.
 */
export class CachingFileCatalog implements FileCatalog {
  private readonly entries: ReadThroughCache<CatalogEntry> | null;
  private readonly searches: ReadThroughCache<object> | null;

  constructor(
    private readonly inner: FileCatalog,
    private readonly deps: {
      readonly events: EventBus;
      readonly codec: JsonSidecarCodec;
      readonly shared: SharedCache | null;
      readonly observer: CacheObserver;
    },
    options: CatalogCacheOptions,
  ) {
    const ttlMs = options.ttlMs;
    this.entries =
      options.metadataEntries > 0 ? new ReadThroughCache({ max: options.metadataEntries, ttlMs }) : null;
    this.searches =
      options.searchEntries > 0 ? new ReadThroughCache({ max: options.searchEntries, ttlMs }) : null;
  }

  /**
   * The same catalog with every read straight from the source and every write through this
   * object (both levels invalidated, the change announced): for the write paths, whose decisions
   * (a version check, a saga's recovery) must not rest on a copy that a crash or a lost event left
   * behind. The caches serve the query path.
   */
  readonly forWriters: FileCatalog = {
    get: (fileId) => this.inner.get(fileId),
    search: (query) => this.inner.search(query),
    facets: (query) => this.inner.facets(query),
    countUnderReplicated: (seId, required) => this.inner.countUnderReplicated(seId, required),
    add: (entry) => this.add(entry),
    update: (file) => this.update(file),
    restore: (entry) => this.restore(entry),
  };

  /** Drops level-1 copies whenever any role announces a change to a file. */
  listen(): Promise<() => Promise<void>> {
    return this.deps.events.subscribe('file.changed', ({ fileId }) => {
      this.entries?.forget(fileId);
      this.searches?.clear();
    });
  }

  /** Forgets every level-1 value: after a gap in event delivery (a reconnect) events may be lost. */
  forgetAll(): void {
    this.entries?.clear();
    this.searches?.clear();
  }

  get(fileId: string): Promise<CatalogEntry | null> {
    const load = () => this.loadEntry(fileId);
    return this.throughLevel1('metadata', this.entries, fileId, load);
  }

  async search(query: CatalogSearch): Promise<SearchPage> {
    const hash = stableHash(query);
    const load = () => this.loadSearch(hash, () => this.inner.search(query), pageWire);
    // A search always answers a page: never null.
    return (await this.throughLevel1('search', this.searches, hash, load)) as SearchPage;
  }

  /** Cached with the searches (a key of its own), so the same changes drop it. */
  async facets(query: CatalogSearch): Promise<SearchFacets> {
    const hash = stableHash({ facets: query });
    const load = () => this.loadSearch(hash, () => this.inner.facets(query), facetsWire);
    return (await this.throughLevel1('search', this.searches, hash, load)) as SearchFacets;
  }

  countUnderReplicated(seId: string, required: number): Promise<number> {
    return this.inner.countUnderReplicated(seId, required);
  }

  add(entry: CatalogEntry): Promise<void> {
    return this.changing(entry.file.fileId, () => this.inner.add(entry));
  }

  update(file: DocumentAttributes): Promise<boolean> {
    return this.changing(file.fileId, () => this.inner.update(file));
  }

  restore(entry: CatalogEntry): Promise<void> {
    return this.changing(entry.file.fileId, () => this.inner.restore(entry));
  }

  private async throughLevel1<V extends object>(
    cache: CacheName,
    level1: ReadThroughCache<V> | null,
    key: string,
    load: () => Promise<V | null>,
  ): Promise<V | null> {
    if (!level1) return load();
    let missed = false;
    const value = await level1.read(key, () => {
      missed = true;
      return load();
    });
    if (missed) this.deps.observer.miss(cache, 'l1');
    else this.deps.observer.hit(cache, 'l1');
    return value;
  }

  private async loadEntry(fileId: string): Promise<CatalogEntry | null> {
    const { shared, observer } = this.deps;
    if (!shared) return this.inner.get(fileId);
    const cached = await shared.readEntry(fileId);
    const hit = this.decode('metadata', cached, (raw) => this.decodeEntry(raw));
    if (hit) return hit;
    const entry = await this.inner.get(fileId);
    if (entry && cached.token !== null)
      await shared.storeEntry(fileId, cached.token, JSON.stringify(this.encodeEntry(entry)));
    if (cached.token !== null) observer.miss('metadata', 'l2');
    return entry;
  }

  private async loadSearch<V extends object>(
    hash: string,
    source: () => Promise<V>,
    shape: z.ZodType,
  ): Promise<V> {
    const { shared, observer } = this.deps;
    if (!shared) return source();
    const cached = await shared.readSearch(hash);
    const hit = this.decode('search', cached, (raw) => shape.parse(fromWire(raw)) as V);
    if (hit) return hit;
    const page = await source();
    if (cached.token !== null) {
      await shared.storeSearch(hash, cached.token, JSON.stringify(toWire(page)));
      observer.miss('search', 'l2');
    }
    return page;
  }

  /** A level-2 hit, counted; null on a miss or a value that does not decode (then reloaded). */
  private decode<V>(cache: CacheName, cached: SharedRead, decode: (raw: unknown) => V): V | null {
    if (cached.value === null) return null;
    try {
      const value = decode(JSON.parse(cached.value));
      this.deps.observer.hit(cache, 'l2');
      return value;
    } catch (error) {
      this.deps.observer.undecodable(cache, error);
      return null;
    }
  }

  /** The file as its sidecar document (dates as ISO strings, validated on the way back). */
  private encodeEntry(entry: CatalogEntry): unknown {
    return { file: this.deps.codec.toDocument(entry.file), copies: toWire(entry.copies) };
  }

  private decodeEntry(raw: unknown): CatalogEntry {
    const wire = entryWire.parse(raw);
    return {
      file: this.deps.codec.fromDocument(wire.file),
      copies: fromWire(wire.copies) as FileCopy[],
    };
  }

  /**
   * A write to the source with every level invalidated after it (level 1 also before, so nothing
   * read meanwhile is kept), then the change announced to every process.
   */
  private async changing<T>(fileId: string, write: () => Promise<T>): Promise<T> {
    const writeAndInvalidate = async (): Promise<T> => {
      try {
        return await write();
      } finally {
        await this.deps.shared?.invalidate(fileId);
        this.searches?.clear();
      }
    };
    const result = this.entries
      ? await this.entries.writing(fileId, writeAndInvalidate)
      : await writeAndInvalidate();
    await this.deps.events.publish('file.changed', { fileId }).catch(() => undefined);
    return result;
  }
}
