import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { createAccount, signInAsBootstrapAdmin } from '../support/auth';
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
  // The admin (the token issuer) first; every other role verifies tokens with its keys.
  const admin = await startServe(['--role', 'admin', '--data-dir', join(dataDir, 'admin')], shared);
  const processes: ArtStoreProcess[] = [admin];
  await signInAsBootstrapAdmin(admin.url, join(dataDir, 'admin'));
  const roleAccount = (role: string) =>
    createAccount(admin.url, {
      name: `${role} role`,
      scopes: ['storage:read', 'storage:write'],
      internal: true,
    });
  const [ingesterAccount, queryAccount] = await Promise.all([roleAccount('ingester'), roleAccount('query')]);
  const verifying = { ...shared, ARTSTORE_ISSUER_URL: admin.url };
  const storage = (id: string, mode: string) =>
    startServe(['--role', 'storage', '--data-dir', join(dataDir, id)], {
      ...verifying,
      ARTSTORE_SE_ID: id,
      ARTSTORE_SE_MODE: mode,
    });
  processes.push(...(await Promise.all([storage('edit-1', 'edit'), storage('rw-1', 'rw')])));
  const [ingester, query] = await Promise.all(
    (
      [
        ['ingester', ingesterAccount],
        ['query', queryAccount],
      ] as const
    ).map(([role, account]) =>
      startServe(['--role', role, '--data-dir', join(dataDir, role)], {
        ...verifying,
        ARTSTORE_CLIENT_ID: account.clientId,
        ARTSTORE_CLIENT_SECRET: account.clientSecret,
      }),
    ),
  );
  processes.push(ingester!, query!);
  await signInAsBootstrapAdmin(admin.url, join(dataDir, 'admin'), ingester!.url, query!.url);
  return {
    admin: admin.url,
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
