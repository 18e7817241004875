import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { CachingFileCatalog } from '../../src/adapters/cache/caching-file-catalog';
import { MemoryEventBus } from '../../src/adapters/memory/memory-event-bus';
import { MikroOrmFileCatalog } from '../../src/adapters/persistence/mikro-orm-file-catalog';
import { afterResubscribe, RedisEventBus } from '../../src/adapters/redis/redis-event-bus';
import { RedisSharedCache } from '../../src/adapters/redis/redis-shared-cache';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import type { EventBus } from '../../src/application/ports/event-bus';
import type { CatalogEntry, CatalogSearch, FileCatalog } from '../../src/application/ports/file-catalog';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { aDocument } from '../support/builders';
import { countingObserver, gate } from '../support/catalog-cache';
import { requireInfrastructure } from '../support/infrastructure';
import { eventually } from '../support/poll';
import { Recorder } from '../support/recorder';
import { once } from 'node:events';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const db = useSharedTestOrm();
const codec = new JsonSidecarCodec();
const QUERY: CatalogSearch = { text: 'report', limit: 10, cursor: null, collectionPatterns: ['default'] };

/** Redis connections and proxies of one test, closed after it. */
const opened: Redis[] = [];
const proxies: TcpProxy[] = [];
let prefix = '';

beforeEach(() => {
  prefix = `artstore-test-cache-${randomBytes(4).toString('hex')}:`;
});

afterEach(async () => {
  const redis = await connect();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(
    opened
      .splice(0)
      .filter((r) => r.status !== 'end')
      .map(async (r) => {
        await r.quit().catch(() => r.disconnect());
      }),
  );
  await db.truncate('files', 'file_copies');
});

/** A connection as production opens the cache's: no offline queue, a short command timeout. */
async function connect(url = requireInfrastructure('redis'), options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: 200,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
    ...options,
  });
  redis.on('error', () => undefined);
  opened.push(redis);
  await redis.connect();
  return redis;
}

async function redisEvents(): Promise<EventBus> {
  const subscriber = new Redis(requireInfrastructure('redis'), { lazyConnect: true });
  opened.push(subscriber);
  return new RedisEventBus(await connect(), subscriber, prefix);
}

/** One process's catalog: its own level 1 over the shared Redis and PostgreSQL. */
async function aProcess(
  options: {
    metadataEntries?: number;
    searchEntries?: number;
    redis?: Redis;
    events?: EventBus;
    source?: FileCatalog;
  } = {},
) {
  const counts = countingObserver();
  const redis = options.redis ?? (await connect());
  const catalog = new CachingFileCatalog(
    options.source ?? new MikroOrmFileCatalog(db.orm, codec),
    {
      events: options.events ?? new MemoryEventBus(),
      codec,
      shared: new RedisSharedCache(redis, { prefix, ttlMs: 60_000, pauseMs: 50 }),
      observer: counts.observer,
    },
    {
      metadataEntries: options.metadataEntries ?? 10,
      searchEntries: options.searchEntries ?? 10,
      ttlMs: 60_000,
    },
  );
  await catalog.listen();
  return { catalog, counts };
}

/** PostgreSQL written behind every cache's back: what a cache serves instead is from a cache. */
const behindTheCache = (): MikroOrmFileCatalog => new MikroOrmFileCatalog(db.orm, codec);

function aReport(name = 'annual-report.pdf'): CatalogEntry {
  const file = aDocument(Buffer.from(name), {
    name,
    uploadedAt: new Date(Date.UTC(2026, 2, 1, 10, 0, 0, Math.floor(Math.random() * 1000))),
  });
  return { file, copies: [{ seId: 'rw-1', key: file.stored.key }] };
}

const described = (file: DocumentAttributes, description: string): DocumentAttributes => ({
  ...file,
  description,
  attrVersion: file.attrVersion + 1,
});

describe('the catalog cache over Redis and PostgreSQL', () => {
  it('answers from level 2 after a level-1 eviction and in another process, dates and all', async () => {
    const one = await aProcess({ metadataEntries: 1 });
    const x = aReport('x-report.pdf');
    const y = aReport('y-report.pdf');
    await behindTheCache().add(x);
    await behindTheCache().add(y);
    expect(await one.catalog.get(x.file.fileId)).toEqual(x);
    await one.catalog.get(y.file.fileId); // evicts x from level 1
    await behindTheCache().update(described(x.file, 'changed behind the cache'));
    const again = await one.catalog.get(x.file.fileId);
    expect(again).toEqual(x);
    expect(again?.file.uploadedAt).toBeInstanceOf(Date);
    expect(await one.counts.count('hits', 'metadata', 'l2')).toBe(1);
    expect(await one.counts.count('misses', 'metadata', 'l2')).toBe(2);

    const two = await aProcess();
    expect(await two.catalog.get(x.file.fileId)).toEqual(x);
    expect(await two.counts.count('hits', 'metadata', 'l2')).toBe(1);
    expect(await two.catalog.get(x.file.fileId)).toEqual(x);
    expect(await two.counts.count('hits', 'metadata', 'l1')).toBe(1);
  });

  it('caches searches across processes and drops them on any file change, in every process', async () => {
    const one = await aProcess({ events: await redisEvents() });
    const two = await aProcess({ events: await redisEvents() });
    const x = aReport();
    await behindTheCache().add(x);
    expect((await one.catalog.search(QUERY)).items.map((hit) => hit.file)).toEqual([x.file]);
    await behindTheCache().add(aReport('hidden-report.pdf'));
    // Two's first search is one's page, from Redis: the row added behind the cache is not in it.
    expect((await two.catalog.search(QUERY)).items.map((hit) => hit.file)).toEqual([x.file]);
    expect(await two.counts.count('hits', 'search', 'l2')).toBe(1);
    // Another caller's grants are another question.
    expect((await two.catalog.search({ ...QUERY, collectionPatterns: ['other'] })).items).toEqual([]);

    const z = aReport('z-report.pdf');
    await one.catalog.add(z);
    const seen = await eventually(
      () => two.catalog.search(QUERY),
      (page) => page.items.length === 3,
      1_000,
    );
    expect(seen.items.map((hit) => hit.file.fileId).sort()).toHaveLength(3);
  });

  it('shows a change made in one process to another within a second', async () => {
    const one = await aProcess({ events: await redisEvents() });
    const two = await aProcess({ events: await redisEvents() });
    const x = aReport();
    await behindTheCache().add(x);
    expect(await one.catalog.get(x.file.fileId)).toEqual(x);
    expect(await two.catalog.get(x.file.fileId)).toEqual(x);
    const changed = described(x.file, 'new words');
    await one.catalog.update(changed);
    expect((await one.catalog.get(x.file.fileId))?.file.description).toBe('new words');
    const seen = await eventually(
      () => two.catalog.get(x.file.fileId),
      (entry) => entry?.file.description === 'new words',
      1_000,
    );
    expect(seen?.file).toEqual(changed);
  });

  it('never stores at level 2 a load that began before an invalidation', async () => {
    const x = aReport();
    await behindTheCache().add(x);
    const held = gate();
    const [gotten, searched] = [gate(), gate()];
    const source = behindTheCache();
    // Reads the source, then waits: the value it returns is from before the writes below.
    const slow: FileCatalog = Object.assign(Object.create(source) as FileCatalog, {
      get: async (id: string) => {
        const entry = await source.get(id);
        gotten.open();
        await held.opened;
        return entry;
      },
      search: async (q: CatalogSearch) => {
        const page = await source.search(q);
        searched.open();
        await held.opened;
        return page;
      },
    });
    // Level 1 off: only level 2 could keep the stale value.
    const reader = await aProcess({ metadataEntries: 0, searchEntries: 0, source: slow });
    const writer = await aProcess();
    const staleGet = reader.catalog.get(x.file.fileId);
    const staleSearch = reader.catalog.search(QUERY);
    await Promise.all([gotten.opened, searched.opened]);
    await writer.catalog.update(described(x.file, 'after'));
    const y = aReport('y-report.pdf');
    await writer.catalog.add(y);
    held.open();
    expect((await staleGet)?.file.description).toBeNull();
    expect((await staleSearch).items).toHaveLength(1);

    const fresh = await aProcess({ metadataEntries: 0, searchEntries: 0 });
    expect((await fresh.catalog.get(x.file.fileId))?.file.description).toBe('after');
    expect((await fresh.catalog.search(QUERY)).items).toHaveLength(2);
  });

  it('answers from PostgreSQL while Redis is away and uses it again, flushed, once it is back', async () => {
    const proxy = await startTcpProxy(requireInfrastructure('redis'));
    proxies.push(proxy);
    const flaky = await aProcess({ metadataEntries: 0, searchEntries: 0, redis: await connect(proxy.url) });
    const other = await aProcess({ metadataEntries: 0, searchEntries: 0 });
    const x = aReport();
    await behindTheCache().add(x);
    expect(await flaky.catalog.get(x.file.fileId)).toEqual(x);
    expect(await other.catalog.get(x.file.fileId)).toEqual(x);
    expect(await other.counts.count('hits', 'metadata', 'l2')).toBe(1);

    await proxy.cut();
    // Reads still answer (from PostgreSQL), and a write's invalidation cannot reach Redis.
    const changed = described(x.file, 'while redis was away');
    await flaky.catalog.update(changed);
    expect((await flaky.catalog.get(x.file.fileId))?.file).toEqual(changed);
    expect((await flaky.catalog.search(QUERY)).items.map((hit) => hit.file)).toEqual([changed]);
    // Another process still holds the old value in Redis: bounded by the level-2 TTL...
    expect((await other.catalog.get(x.file.fileId))?.file.description).toBeNull();

    await proxy.restore();
    // ...or until the process that missed its invalidation reaches Redis again and flushes.
    const back = await eventually(
      async () => {
        const entry = await flaky.catalog.get(x.file.fileId);
        return { entry, hits: await flaky.counts.count('hits', 'metadata', 'l2') };
      },
      ({ hits }) => hits > 0,
      10_000,
    );
    expect(back.hits).toBeGreaterThan(0);
    expect(back.entry?.file).toEqual(changed);
    expect((await other.catalog.get(x.file.fileId))?.file).toEqual(changed);
  });

  it('answers from PostgreSQL when Redis hangs: a command times out and level 2 pauses', async () => {
    const proxy = await startTcpProxy(requireInfrastructure('redis'));
    proxies.push(proxy);
    const failures: string[] = [];
    const redis = await connect(proxy.url);
    const counts = countingObserver();
    const catalog = new CachingFileCatalog(
      behindTheCache(),
      {
        events: new MemoryEventBus(),
        codec,
        shared: new RedisSharedCache(redis, {
          prefix,
          ttlMs: 60_000,
          pauseMs: 60_000,
          onError: (operation, error) => failures.push(`${operation}: ${(error as Error).message}`),
        }),
        observer: counts.observer,
      },
      { metadataEntries: 0, searchEntries: 0, ttlMs: 60_000 },
    );
    const x = aReport();
    await behindTheCache().add(x);
    proxy.stall();
    expect(await catalog.get(x.file.fileId)).toEqual(x);
    expect((await catalog.search(QUERY)).items.map((hit) => hit.file)).toEqual([x.file]);
    // One command waited for its timeout; the next read skipped Redis (paused).
    expect(failures).toEqual([expect.stringMatching(/^readEntry: .*timed out/iu)]);
    expect(await counts.count('misses', 'metadata', 'l2')).toBe(0);
  });

  it('reads a value that does not decode as a miss, from PostgreSQL', async () => {
    const one = await aProcess({ metadataEntries: 0 });
    const x = aReport();
    await behindTheCache().add(x);
    expect(await one.catalog.get(x.file.fileId)).toEqual(x);
    const redis = await connect();
    const key = `${prefix}cache:v1:meta:${x.file.fileId}`;
    const stored = await redis.get(key);
    const token = stored?.slice(0, stored.indexOf('|'));
    await redis.set(key, `${token}|{"file":{"file_id":"not a document"},"copies":[]}`);
    expect(await one.catalog.get(x.file.fileId)).toEqual(x);
    expect(await one.counts.errors()).toBe(1);
  });

  it('forgets level 1 once its event subscription is back after a lost connection', async () => {
    const proxy = await startTcpProxy(requireInfrastructure('redis'));
    proxies.push(proxy);
    const subscriber = new Redis(proxy.url, { lazyConnect: true, retryStrategy: () => 50 });
    subscriber.on('error', () => undefined);
    opened.push(subscriber);
    const events = new RedisEventBus(await connect(), subscriber, prefix);
    const reader = await aProcess({ events });
    const writer = await aProcess({ events: await redisEvents() });
    const resynced = new Recorder<void>();
    const stop = afterResubscribe(subscriber, () => {
      reader.catalog.forgetAll();
      resynced.handler();
    });
    const x = aReport();
    await behindTheCache().add(x);
    expect(await reader.catalog.get(x.file.fileId)).toEqual(x);

    const closed = once(subscriber, 'close');
    await proxy.cut();
    await closed;
    await writer.catalog.update(described(x.file, 'published while away'));
    // The event is lost: level 1 still answers the old value...
    expect((await reader.catalog.get(x.file.fileId))?.file.description).toBeNull();
    await proxy.restore();
    await resynced.until(1, 10_000);
    // ...until the subscription is back and level 1 is forgotten.
    expect((await reader.catalog.get(x.file.fileId))?.file.description).toBe('published while away');
    await stop();
  });
});
