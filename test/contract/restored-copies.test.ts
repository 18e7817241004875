import { MemoryRestoredCopies } from '../../src/adapters/memory/memory-restored-copies';
import { MikroOrmRestoredCopies } from '../../src/adapters/persistence/mikro-orm-restored-copies';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeRestoredCopiesContract } from './restored-copies.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeRestoredCopiesContract('MikroOrmRestoredCopies', async () => ({
    copies: new MikroOrmRestoredCopies(db.orm),
    cleanup: () => db.truncate('restored_copies'),
  }));
});

describeRestoredCopiesContract('MemoryRestoredCopies', async () => ({
  copies: new MemoryRestoredCopies(),
  cleanup: async () => undefined,
}));
