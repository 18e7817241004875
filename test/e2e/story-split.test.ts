import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll } from '../support/artstore-process';
import { createTestDatabase } from '../support/database';
import { startSplit } from '../support/split';
import { describeStory } from './story';

afterAll(killAll);

describeStory('split: admin, ingester, query and two storage processes over HTTP', async () => {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-split-'));
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
    stop: async () => {
      const codes = await Promise.all(split.processes.map((p) => p.stop()));
      expect(codes).toEqual(split.processes.map(() => 0));
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
