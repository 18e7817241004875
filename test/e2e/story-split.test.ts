import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { createTestDatabase } from '../support/database';
import { requireInfrastructure } from '../support/infrastructure';
import { describeStory } from './story';

afterAll(killAll);

describeStory('split: admin, ingester, query and two storage processes over HTTP', async () => {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-split-'));
  const shared = {
    ARTSTORE_DATABASE_URL: db.url,
    ARTSTORE_REDIS_URL: requireInfrastructure('redis'),
    ARTSTORE_REDIS_PREFIX: `artstore-e2e-${randomBytes(4).toString('hex')}:`,
    ARTSTORE_HEARTBEAT_MS: '500',
  };
  const processes: ArtStoreProcess[] = [];
  const storage = (id: string, mode: string) =>
    startServe(['--role', 'storage', '--data-dir', join(dataDir, id)], {
      ...shared,
      ARTSTORE_SE_ID: id,
      ARTSTORE_SE_MODE: mode,
    });
  processes.push(...(await Promise.all([storage('edit-1', 'edit'), storage('rw-1', 'rw')])));
  const [admin, ingester, query] = await Promise.all(
    ['admin', 'ingester', 'query'].map((role) =>
      startServe(['--role', role, '--data-dir', join(dataDir, role)], shared),
    ),
  );
  processes.push(admin!, ingester!, query!);
  return {
    admin: admin!.url,
    ingester: ingester!.url,
    query: query!.url,
    stop: async () => {
      const codes = await Promise.all(processes.map((p) => p.stop()));
      expect(codes).toEqual(processes.map(() => 0));
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
