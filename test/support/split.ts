import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startServe, type ArtStoreProcess } from './artstore-process';
import { createAccount, signInAsBootstrapAdmin } from './auth';
import { requireInfrastructure } from './infrastructure';

export interface SplitDeployment {
  readonly admin: ArtStoreProcess;
  readonly ingester: ArtStoreProcess;
  /** Every ingester process (`ingester` is the first); more than one with the `ingesters` option. */
  readonly ingesters: readonly ArtStoreProcess[];
  readonly query: ArtStoreProcess;
  /** Every query process (`query` is the first); more than one with the `queries` option. */
  readonly queries: readonly ArtStoreProcess[];
  /** By storage element id. */
  readonly storage: ReadonlyMap<string, ArtStoreProcess>;
  /** Every process, the admin first. */
  readonly processes: readonly ArtStoreProcess[];
  /** The bootstrap admin's token, already authorized for admin, ingester and query. */
  readonly adminToken: string;
}

/**
 * Starts the split topology as separate processes: the admin (the token issuer) first, then one
 * storage process per element and the ingester and query roles, each with its own internal
 * service account, all verifying tokens with the admin's keys.
 */
export async function startSplit(options: {
  readonly databaseUrl: string;
  /** Default: the test Redis (ARTSTORE_TEST_REDIS_URL). */
  readonly redisUrl?: string;
  readonly dataDir: string;
  readonly storageElements: readonly {
    readonly id: string;
    readonly mode: string;
    /** More environment for this storage process (capacity, scrub settings, ...). */
    readonly env?: Record<string, string>;
  }[];
  readonly adminEnv?: Record<string, string>;
  /** How many ingester processes (replicas sharing the database and Redis); default 1. */
  readonly ingesters?: number;
  /** More environment for every ingester process (a shared staging directory, ...). */
  readonly ingesterEnv?: Record<string, string>;
  /** How many query processes (replicas sharing the database and Redis); default 1. */
  readonly queries?: number;
  /** More environment for every query process (its data centre, ...). */
  readonly queryEnv?: Record<string, string>;
}): Promise<SplitDeployment> {
  const { dataDir } = options;
  const shared = {
    ARTSTORE_DATABASE_URL: options.databaseUrl,
    ARTSTORE_REDIS_URL: options.redisUrl ?? requireInfrastructure('redis'),
    ARTSTORE_REDIS_PREFIX: `artstore-e2e-${randomBytes(4).toString('hex')}:`,
    ARTSTORE_HEARTBEAT_MS: '500',
  };
  const admin = await startServe(['--role', 'admin', '--data-dir', join(dataDir, 'admin')], {
    ...shared,
    ...options.adminEnv,
  });
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
  const storage = await Promise.all(
    options.storageElements.map(({ id, mode, env }) =>
      startServe(['--role', 'storage', '--data-dir', join(dataDir, id)], {
        ...verifying,
        ARTSTORE_SE_ID: id,
        ARTSTORE_SE_MODE: mode,
        ...env,
      }),
    ),
  );
  processes.push(...storage);
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
        ...(role === 'ingester' ? options.ingesterEnv : options.queryEnv),
      }),
    ),
  );
  processes.push(ingester!, query!);
  const replicas = await Promise.all(
    Array.from({ length: (options.ingesters ?? 1) - 1 }, (_, i) =>
      startServe(['--role', 'ingester', '--data-dir', join(dataDir, `ingester-${i + 2}`)], {
        ...verifying,
        ARTSTORE_CLIENT_ID: ingesterAccount.clientId,
        ARTSTORE_CLIENT_SECRET: ingesterAccount.clientSecret,
        ...options.ingesterEnv,
      }),
    ),
  );
  processes.push(...replicas);
  const queryReplicas = await Promise.all(
    Array.from({ length: (options.queries ?? 1) - 1 }, (_, i) =>
      startServe(['--role', 'query', '--data-dir', join(dataDir, `query-${i + 2}`)], {
        ...verifying,
        ARTSTORE_CLIENT_ID: queryAccount.clientId,
        ARTSTORE_CLIENT_SECRET: queryAccount.clientSecret,
        ...options.queryEnv,
      }),
    ),
  );
  processes.push(...queryReplicas);
  const adminToken = await signInAsBootstrapAdmin(
    admin.url,
    join(dataDir, 'admin'),
    ingester!.url,
    query!.url,
    ...replicas.map((r) => r.url),
    ...queryReplicas.map((r) => r.url),
  );
  return {
    admin,
    ingester: ingester!,
    ingesters: [ingester!, ...replicas],
    query: query!,
    queries: [query!, ...queryReplicas],
    storage: new Map(options.storageElements.map(({ id }, i) => [id, storage[i]!])),
    processes,
    adminToken,
  };
}
