import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { CachingFileCatalog } from '../../src/adapters/cache/caching-file-catalog';
import { MemoryEventBus } from '../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../src/adapters/memory/memory-file-catalog';
import { MikroOrmFileCatalog } from '../../src/adapters/persistence/mikro-orm-file-catalog';
import { RedisSharedCache } from '../../src/adapters/redis/redis-shared-cache';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import { countingObserver } from '../support/catalog-cache';
import { requireInfrastructure } from '../support/infrastructure';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeCatalogSearchContract } from './file-catalog-search.contract';
import { describeFileCatalogContract } from './file-catalog.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeFileCatalogContract('MikroOrmFileCatalog', async () => ({
    catalog: new MikroOrmFileCatalog(db.orm, new JsonSidecarCodec()),
    cleanup: () => db.truncate('files', 'file_copies'),
  }));
  describeCatalogSearchContract('MikroOrmFileCatalog', async () => ({
    catalog: new MikroOrmFileCatalog(db.orm, new JsonSidecarCodec()),
    cleanup: () => db.truncate('files', 'file_copies'),
  }));
  // What every role runs: the same contract must hold with the caches in front.
  const codec = new JsonSidecarCodec();
  const caching = (shared: RedisSharedCache | null) =>
    new CachingFileCatalog(
      new MikroOrmFileCatalog(db.orm, codec),
      { events: new MemoryEventBus(), codec, shared, observer: countingObserver().observer },
      // Two entries: most reads of the contract go past level 1.
      { metadataEntries: 2, searchEntries: 2, ttlMs: 60_000 },
    );
  describeCatalogSearchContract('CachingFileCatalog (level 1) over MikroOrmFileCatalog', async () => ({
    catalog: caching(null),
    cleanup: () => db.truncate('files', 'file_copies'),
  }));
  describeFileCatalogContract('CachingFileCatalog (level 1) over MikroOrmFileCatalog', async () => ({
    catalog: caching(null),
    cleanup: () => db.truncate('files', 'file_copies'),
  }));
  describeFileCatalogContract(
    'CachingFileCatalog (levels 1 and 2 on Redis) over MikroOrmFileCatalog',
    async () => {
      const redis = new Redis(requireInfrastructure('redis'), {
        enableOfflineQueue: false,
        lazyConnect: true,
      });
      await redis.connect();
      const prefix = `artstore-test-${randomBytes(4).toString('hex')}:`;
      return {
        catalog: caching(new RedisSharedCache(redis, { prefix, ttlMs: 60_000 })),
        cleanup: async () => {
          await db.truncate('files', 'file_copies');
          const keys = await redis.keys(`${prefix}*`);
          if (keys.length > 0) await redis.del(...keys);
          await redis.quit();
        },
      };
    },
  );
});

describeFileCatalogContract('MemoryFileCatalog', async () => ({
  catalog: new MemoryFileCatalog(),
  cleanup: async () => undefined,
}));

describeCatalogSearchContract('MemoryFileCatalog', async () => ({
  catalog: new MemoryFileCatalog(),
  cleanup: async () => undefined,
}));
