import { CachingFileCatalog } from '../../../src/adapters/cache/caching-file-catalog';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import type { CatalogEntry } from '../../../src/application/ports/file-catalog';
import { aDocument } from '../../support/builders';

/** A catalog written behind the cache's back, as another process would. */
function setUp() {
  const shared = new MemoryFileCatalog();
  const cached = new CachingFileCatalog(shared, { maxEntries: 10, ttlMs: 60_000 });
  const file = aDocument();
  const entry: CatalogEntry = { file, copies: [{ seId: 'se-1', key: file.stored.key }] };
  return { shared, cached, entry };
}

describe('CachingFileCatalog', () => {
  it('keeps serving what it read until a file.changed event names the file', async () => {
    const { shared, cached, entry } = setUp();
    const events = new MemoryEventBus();
    const unsubscribe = await cached.listen(events);
    await shared.add(entry);
    expect(await cached.get(entry.file.fileId)).toEqual(entry);
    const moved: CatalogEntry = { ...entry, copies: [{ seId: 'se-2', key: entry.file.stored.key }] };
    await shared.restore(moved);
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(entry.copies);
    await events.publish('file.changed', { fileId: entry.file.fileId });
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(moved.copies);
    await unsubscribe();
  });

  it('sees its own writes at once and never caches a miss', async () => {
    const { shared, cached, entry } = setUp();
    expect(await cached.get(entry.file.fileId)).toBeNull();
    await shared.add(entry);
    expect(await cached.get(entry.file.fileId)).toEqual(entry);
    const moved: CatalogEntry = { ...entry, copies: [{ seId: 'se-3', key: entry.file.stored.key }] };
    await cached.restore(moved);
    expect((await cached.get(entry.file.fileId))?.copies).toEqual(moved.copies);
  });
});
