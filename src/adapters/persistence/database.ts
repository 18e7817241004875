import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { MIGRATIONS } from '../../../migrations';
import { ENTITIES } from './entities';

export type Orm = MikroORM;

export interface DatabaseOptions {
  readonly url: string;
  readonly poolMax?: number;
  /**
   * Bounds on every query and on getting a connection (none by default: CLI jobs may run long).
   * Without them a database that stops answering without closing (a dropped route) holds every
   * request waiting on it forever.
   */
  readonly queryTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Orm> {
  return MikroORM.init({
    clientUrl: options.url,
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'artstore_migrations',
      snapshot: false,
      silent: true,
    },
    pool: { min: 0, max: options.poolMax ?? 10 },
    // Passed to pg's Pool: query_timeout fails a query client-side, connectionTimeoutMillis a
    // connect or a wait for a pooled client; keepAlive lets the OS notice a peer that vanished.
    driverOptions: {
      ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
      ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
      keepAlive: true,
    },
    debug: false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
  });
}

/** Applies every pending migration; returns the names applied. */
export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}
