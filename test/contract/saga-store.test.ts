import { MemorySagaStore } from '../../src/adapters/memory/memory-saga-store';
import { MikroOrmSagaStore } from '../../src/adapters/persistence/mikro-orm-saga-store';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeSagaStoreContract } from './saga-store.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeSagaStoreContract('MikroOrmSagaStore', async () => ({
    store: new MikroOrmSagaStore(db.orm),
    cleanup: () => db.truncate('sagas'),
  }));
});

describeSagaStoreContract('MemorySagaStore', async () => ({
  store: new MemorySagaStore(),
  cleanup: async () => undefined,
}));
