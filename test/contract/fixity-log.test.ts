import { MemoryFixityLog } from '../../src/adapters/memory/memory-fixity-log';
import { MikroOrmFixityLog } from '../../src/adapters/persistence/mikro-orm-fixity-log';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeFixityLogContract } from './fixity-log.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeFixityLogContract('MikroOrmFixityLog', async () => ({
    log: new MikroOrmFixityLog(db.orm),
    cleanup: () => db.truncate('fixity_checks'),
  }));
});

describeFixityLogContract('MemoryFixityLog', async () => ({
  log: new MemoryFixityLog(),
  cleanup: async () => undefined,
}));
