import { CachingFileCatalog } from '../../src/adapters/cache/caching-file-catalog';
import { MemoryFileCatalog } from '../../src/adapters/memory/memory-file-catalog';
import { MikroOrmFileCatalog } from '../../src/adapters/persistence/mikro-orm-file-catalog';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
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
  // What every role runs: the same contract must hold with the cache in front.
  describeFileCatalogContract('CachingFileCatalog over MikroOrmFileCatalog', async () => ({
    catalog: new CachingFileCatalog(new MikroOrmFileCatalog(db.orm, new JsonSidecarCodec()), {
      maxEntries: 2,
      ttlMs: 60_000,
    }),
    cleanup: () => db.truncate('files', 'file_copies'),
  }));
});

describeFileCatalogContract('MemoryFileCatalog', async () => ({
  catalog: new MemoryFileCatalog(),
  cleanup: async () => undefined,
}));

describeCatalogSearchContract('MemoryFileCatalog', async () => ({
  catalog: new MemoryFileCatalog(),
  cleanup: async () => undefined,
}));
