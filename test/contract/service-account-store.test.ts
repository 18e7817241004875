import { MemoryServiceAccountStore } from '../../src/adapters/memory/memory-service-account-store';
import { MikroOrmServiceAccountStore } from '../../src/adapters/persistence/mikro-orm-service-account-store';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeServiceAccountStoreContract } from './service-account-store.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeServiceAccountStoreContract('MikroOrmServiceAccountStore', async () => ({
    store: new MikroOrmServiceAccountStore(db.orm),
    cleanup: () => db.truncate('service_accounts'),
  }));
});

describeServiceAccountStoreContract('MemoryServiceAccountStore', async () => ({
  store: new MemoryServiceAccountStore(),
  cleanup: async () => undefined,
}));
