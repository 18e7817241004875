import { MemoryUploadStore } from '../../src/adapters/memory/memory-upload-store';
import { MikroOrmUploadStore } from '../../src/adapters/persistence/mikro-orm-upload-store';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeUploadStoreContract } from './upload-store.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeUploadStoreContract('MikroOrmUploadStore', async () => ({
    store: new MikroOrmUploadStore(db.orm),
    cleanup: () => db.truncate('uploads'),
  }));
});

describeUploadStoreContract('MemoryUploadStore', async () => ({
  store: new MemoryUploadStore(),
  cleanup: async () => undefined,
}));
