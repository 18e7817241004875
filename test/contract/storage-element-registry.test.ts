import { MemoryStorageElementRegistry } from '../../src/adapters/memory/memory-registry';
import { MikroOrmStorageElementRegistry } from '../../src/adapters/persistence/mikro-orm-registry';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeStorageElementRegistryContract } from './storage-element-registry.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeStorageElementRegistryContract('MikroOrmStorageElementRegistry', async () => ({
    registry: new MikroOrmStorageElementRegistry(db.orm),
    cleanup: () => db.truncate('storage_elements'),
  }));
});

describeStorageElementRegistryContract('MemoryStorageElementRegistry', async () => ({
  registry: new MemoryStorageElementRegistry(),
  cleanup: async () => undefined,
}));
