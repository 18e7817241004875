import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe } from '../support/artstore-process';
import { signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase } from '../support/database';
import { describeMetadataUpdates } from './metadata-story';

afterAll(killAll);

describeMetadataUpdates('--role all, one process', async () => {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-metadata-'));
  const proc = await startServe(['--role', 'all', '--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
  await signInAsBootstrapAdmin(proc.url, dataDir);
  return {
    ingester: proc.url,
    query: proc.url,
    admin: proc.url,
    storageDir: join(dataDir, 'se'),
    stop: async () => {
      expect(await proc.stop()).toBe(0);
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
