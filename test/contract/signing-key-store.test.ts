import { MemorySigningKeyStore } from '../../src/adapters/memory/memory-signing-key-store';
import { MikroOrmSigningKeyStore } from '../../src/adapters/persistence/mikro-orm-signing-key-store';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeSigningKeyStoreContract } from './signing-key-store.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeSigningKeyStoreContract('MikroOrmSigningKeyStore', async () => ({
    store: new MikroOrmSigningKeyStore(db.orm),
    cleanup: () => db.truncate('signing_keys'),
  }));
});

describeSigningKeyStoreContract('MemorySigningKeyStore', async () => ({
  store: new MemorySigningKeyStore(),
  cleanup: async () => undefined,
}));
