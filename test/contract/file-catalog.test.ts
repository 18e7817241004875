import { MemoryFileCatalog } from '../../src/adapters/memory/memory-file-catalog';
import { MikroOrmFileCatalog } from '../../src/adapters/persistence/mikro-orm-file-catalog';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeFileCatalogContract } from './file-catalog.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeFileCatalogContract('MikroOrmFileCatalog', async () => ({
    catalog: new MikroOrmFileCatalog(db.orm, new JsonSidecarCodec()),
    cleanup: () => db.truncate('files', 'file_copies'),
  }));
});

describeFileCatalogContract('MemoryFileCatalog', async () => ({
  catalog: new MemoryFileCatalog(),
  cleanup: async () => undefined,
}));
