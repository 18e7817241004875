import { CachingFileCatalog } from '../../../src/adapters/cache/caching-file-catalog';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { JsonSidecarCodec } from '../../../src/adapters/sidecar/json-sidecar-codec';
import type { CatalogEntry, CatalogSearch } from '../../../src/application/ports/file-catalog';
import { aDocument } from '../../support/builders';
import { countingObserver, gate } from '../../support/catalog-cache';
import { Recorder } from '../../support/recorder';

/** A catalog written behind the cache's back, as another process would. */
function setUp(options: { metadataEntries?: number; searchEntries?: number } = {}) {
  const source = new MemoryFileCatalog();
  const events = new MemoryEventBus();
  const counts = countingObserver();
  const cached = new CachingFileCatalog(
    source,
    { events, codec: new JsonSidecarCodec(), shared: null, observer: counts.observer },
    { metadataEntries: 10, searchEntries: 10, ttlMs: 60_000, ...options },
  );
  const file = aDocument(Buffer.from('hello'), { name: 'annual-report.pdf' });
  const entry: CatalogEntry = { file, copies: [{ seId: 'se-1', key: file.stored.key }] };
  return { source, cached, entry, events, counts };
}

const QUERY: CatalogSearch = { text: 'report', limit: 10, cursor: null, collectionPatterns: ['default'] };

describe('CachingFileCatalog (level 1)', () => {
  it('keeps serving what it read until a file.changed event names the file', async () => {
    const { source, cached, entry, events, counts } = setUp();
    const unsubscribe = await cached.listen();
    await source.add(entry);
    expect(await cached.get(entry.file.fileId)).toEqual(entry);
    const moved: CatalogEntry = { ...entry, copies: [{ seId: 'se-2', key: entry.file.stored.key }] };
    await source.restore(moved);
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(entry.copies);
    expect(await counts.count('hits', 'metadata', 'l1')).toBe(1);
    expect(await counts.count('misses', 'metadata', 'l1')).toBe(1);
    const delivered = new Recorder<unknown>();
    await events.subscribe('file.changed', delivered.handler);
    await events.publish('file.changed', { fileId: entry.file.fileId });
    await delivered.until(1);
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(moved.copies);
    await unsubscribe();
  });

  it('sees its own writes at once, announces them and never caches a miss', async () => {
    const { source, cached, entry, events } = setUp();
    const announced = new Recorder<{ fileId: string }>();
    await events.subscribe('file.changed', announced.handler);
    expect(await cached.get(entry.file.fileId)).toBeNull();
    await source.add(entry);
    expect(await cached.get(entry.file.fileId)).toEqual(entry);
    const moved: CatalogEntry = { ...entry, copies: [{ seId: 'se-3', key: entry.file.stored.key }] };
    await cached.restore(moved);
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(moved.copies);
    expect(await announced.until(1)).toEqual([{ fileId: entry.file.fileId }]);
  });

  it('caches a search per whole query and drops every search on any file change', async () => {
    const { source, cached, entry, counts } = setUp();
    await cached.listen();
    await source.add(entry);
    expect((await cached.search(QUERY)).items.map((hit) => hit.file.fileId)).toEqual([entry.file.fileId]);
    // Same query, keys in another order: the same cache entry.
    const reordered = { collectionPatterns: ['default'], cursor: null, limit: 10, text: 'report' };
    expect((await cached.search(reordered)).items).toHaveLength(1);
    expect(await counts.count('hits', 'search', 'l1')).toBe(1);
    // Other grants are another question.
    expect((await cached.search({ ...QUERY, collectionPatterns: ['other'] })).items).toHaveLength(0);
    const other = aDocument(Buffer.from('x'), { name: 'quarterly-report.pdf' });
    await cached.add({ file: other, copies: [] });
    expect((await cached.search(QUERY)).items).toHaveLength(2);
  });

  it('does not keep a value loaded before an invalidation (metadata and search)', async () => {
    const { source, cached, entry, events } = setUp();
    await cached.listen();
    await source.add(entry);
    const held = gate();
    const slow = Object.assign(Object.create(source) as MemoryFileCatalog, {
      get: async (id: string) => {
        const value = await source.get(id);
        await held.opened;
        return value;
      },
      search: async (q: CatalogSearch) => {
        const page = await source.search(q);
        await held.opened;
        return page;
      },
    });
    const racing = new CachingFileCatalog(
      slow,
      { events, codec: new JsonSidecarCodec(), shared: null, observer: countingObserver().observer },
      { metadataEntries: 10, searchEntries: 10, ttlMs: 60_000 },
    );
    await racing.listen();
    const staleGet = racing.get(entry.file.fileId);
    const staleSearch = racing.search(QUERY);
    const moved: CatalogEntry = { ...entry, copies: [{ seId: 'se-9', key: entry.file.stored.key }] };
    const delivered = new Recorder<unknown>();
    await events.subscribe('file.changed', delivered.handler);
    await cached.restore(moved);
    await delivered.until(1);
    held.open();
    expect((await staleGet)?.copies).toEqual(entry.copies);
    await staleSearch;
    expect((await racing.get(entry.file.fileId))?.copies).toEqual(moved.copies);
    expect((await racing.search(QUERY)).items[0]?.file.fileId).toBe(entry.file.fileId);
  });

  it('goes to the source every time when level 1 is off', async () => {
    const { source, cached, entry, counts } = setUp({ metadataEntries: 0, searchEntries: 0 });
    await source.add(entry);
    expect(await cached.get(entry.file.fileId)).toEqual(entry);
    const moved: CatalogEntry = { ...entry, copies: [] };
    await source.restore(moved);
    expect(await cached.get(entry.file.fileId)).toEqual(moved);
    expect(await counts.count('hits', 'metadata', 'l1')).toBe(0);
  });

  it('gives write paths a view that reads the source and writes through the caches', async () => {
    const { source, cached, entry, events } = setUp();
    const announced = new Recorder<{ fileId: string }>();
    await events.subscribe('file.changed', announced.handler);
    await source.add(entry);
    expect(await cached.get(entry.file.fileId)).toEqual(entry);
    const moved: CatalogEntry = { ...entry, copies: [{ seId: 'se-4', key: entry.file.stored.key }] };
    await source.restore(moved);
    // The query path may still hold the old copy list; a writer never decides on it.
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(entry.copies);
    expect((await cached.forWriters.get(entry.file.fileId))?.copies).toEqual(moved.copies);
    const back: CatalogEntry = { ...entry, copies: [{ seId: 'se-5', key: entry.file.stored.key }] };
    await cached.forWriters.restore(back);
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(back.copies);
    expect(await announced.until(1)).toEqual([{ fileId: entry.file.fileId }]);
  });
});
