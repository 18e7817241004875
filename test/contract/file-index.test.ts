import { CachingFileIndex } from '../../src/adapters/cache/caching-file-index';
import { MemoryFileIndex } from '../../src/adapters/memory/memory-file-index';
import { MikroOrmFileIndex } from '../../src/adapters/persistence/mikro-orm-file-index';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import { useSharedTestOrm } from '../support/shared-test-orm';
import { describeFileIndexContract } from './file-index.contract';

describe('on PostgreSQL', () => {
  const db = useSharedTestOrm();
  describeFileIndexContract('MikroOrmFileIndex', async () => ({
    index: new MikroOrmFileIndex(db.orm, new JsonSidecarCodec()),
    cleanup: () => db.truncate('se_files'),
  }));
  // What the storage role runs: the same contract must hold with the cache in front.
  describeFileIndexContract('CachingFileIndex over MikroOrmFileIndex', async () => ({
    index: new CachingFileIndex(new MikroOrmFileIndex(db.orm, new JsonSidecarCodec()), 2),
    cleanup: () => db.truncate('se_files'),
  }));
});

describeFileIndexContract('MemoryFileIndex', async () => ({
  index: new MemoryFileIndex(),
  cleanup: async () => undefined,
}));
