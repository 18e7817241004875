import { MemorySessionStore, MemoryUserStore } from '../../src/adapters/memory/memory-user-store';
import { MikroOrmSessionStore, MikroOrmUserStore } from '../../src/adapters/persistence/mikro-orm-user-store';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeUserStoreContract } from './user-store.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeUserStoreContract('MikroOrmUserStore', async () => ({
    users: new MikroOrmUserStore(db.orm),
    sessions: new MikroOrmSessionStore(db.orm),
    cleanup: () => db.truncate('user_sessions', 'users'),
  }));
});

describeUserStoreContract('MemoryUserStore', async () => {
  const sessions = new MemorySessionStore();
  return { users: new MemoryUserStore(sessions), sessions, cleanup: async () => undefined };
});
