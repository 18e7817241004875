import { MikroORM } from '@mikro-orm/postgresql';
import { USERS_UP_SQL } from '../../migrations/Migration20261201000200_users';
import type { Orm } from '../../src/adapters/persistence/database';
import { ENTITIES } from '../../src/adapters/persistence/entities';
import { USER_ENTITIES } from '../../src/adapters/persistence/user-entities';
import { openTestOrm } from './database';

export interface UserTestOrm {
  readonly orm: Orm;
  truncate(): Promise<void>;
  /** What MikroORM would still change on the users tables to match USER_ENTITIES. */
  userSchemaDiff(): Promise<string[]>;
}

/**
 * A database of this block's own (cloned from the migrated template) with the users tables. Until
 * the users migration is registered the template lacks them, so they are built from its DDL here.
 */
export function useUserTestOrm(): UserTestOrm {
  let opened: Awaited<ReturnType<typeof openTestOrm>> | null = null;
  beforeAll(async () => {
    opened = await openTestOrm();
    const connection = opened.orm.em.getConnection();
    const [found] = await connection.execute<{ present: boolean }[]>(
      "select to_regclass('public.users') is not null as present",
    );
    if (!found?.present) for (const sql of USERS_UP_SQL) await connection.execute(sql, [], 'run');
  });
  afterAll(async () => {
    await opened?.done();
    opened = null;
  });
  const current = (): NonNullable<typeof opened> => {
    if (!opened) throw new Error('the test database is not open (used outside a test?)');
    return opened;
  };
  return {
    get orm() {
      return current().orm;
    },
    async truncate() {
      await current().orm.em.getConnection().execute('truncate "user_sessions", "users"', [], 'run');
    },
    async userSchemaDiff() {
      const orm = await MikroORM.init({
        clientUrl: current().db.url,
        entities: [...ENTITIES, ...USER_ENTITIES],
        pool: { min: 0, max: 1 },
        debug: false,
        discovery: { warnWhenNoEntities: false },
      });
      try {
        const sql = await orm.schema.getUpdateSchemaSQL();
        return sql
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => /"users"|"user_sessions"|users_|user_sessions_/u.test(line));
      } finally {
        await orm.close();
      }
    },
  };
}
