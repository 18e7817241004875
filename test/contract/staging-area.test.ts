import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStagingArea } from '../../src/adapters/memory/memory-staging-area';
import { FsStagingArea } from '../../src/adapters/staging/fs-staging-area';
import { describeStagingAreaContract } from './staging-area.contract';

describeStagingAreaContract('FsStagingArea', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'artstore-staging-'));
  return {
    // A directory that does not exist yet: the first upload creates it.
    staging: new FsStagingArea(join(dir, 'staging')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStagingAreaContract('MemoryStagingArea', async () => ({
  staging: new MemoryStagingArea(),
  cleanup: async () => undefined,
}));
