import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { killAll } from '../support/artstore-process';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { startSplit } from '../support/split';
import { describeMetadataUpdates } from './metadata-story';

afterAll(killAll);

describeMetadataUpdates('split: the ingester changes copies on storage processes over HTTP', async () => {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-metadata-split-'));
  const split = await startSplit({
    databaseUrl: db.url,
    dataDir,
    storageElements: [
      { id: 'edit-1', mode: 'edit' },
      { id: 'rw-1', mode: 'rw' },
    ],
  });
  return {
    admin: split.admin.url,
    ingester: split.ingester.url,
    query: split.query.url,
    storageDir: dataDir,
    stop: async () => {
      const codes = await Promise.all(split.processes.map((p) => p.stop()));
      expect(codes).toEqual(split.processes.map(() => 0));
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
