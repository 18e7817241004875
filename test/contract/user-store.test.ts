import { MemorySessionStore, MemoryUserStore } from '../../src/adapters/memory/memory-user-store';
import { MikroOrmSessionStore, MikroOrmUserStore } from '../../src/adapters/persistence/mikro-orm-user-store';
import { useUserTestOrm } from '../support/user-test-orm';
import { describeUserStoreContract } from './user-store.contract';

describe('on PostgreSQL', () => {
  const db = useUserTestOrm();

  it('the migration DDL agrees with USER_ENTITIES: no schema difference on the users tables', async () => {
    await expect(db.userSchemaDiff()).resolves.toEqual([]);
  });

  describeUserStoreContract('MikroOrmUserStore', async () => ({
    users: new MikroOrmUserStore(db.orm),
    sessions: new MikroOrmSessionStore(db.orm),
    cleanup: () => db.truncate(),
  }));
});

describeUserStoreContract('MemoryUserStore', async () => {
  const sessions = new MemorySessionStore();
  return { users: new MemoryUserStore(sessions), sessions, cleanup: async () => undefined };
});
