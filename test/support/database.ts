import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Orm } from '../../src/adapters/persistence/database';
import { ENV, requireInfrastructure } from './infrastructure';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: requireInfrastructure('database') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database cloned from the migrated template (each test file gets its own), or from
 * `source`: a database nothing is connected to, prepared once and copied for each test.
 */
export async function createTestDatabase(source?: TestDatabase): Promise<TestDatabase> {
  const template = source?.name ?? process.env[ENV.template];
  if (!template) throw new Error('no template database: globalSetup found no PostgreSQL');
  const name = `artstore_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`create database ${name} template ${template}`));
  const url = new URL(requireInfrastructure('database'));
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** A cloned database with an open ORM; close with `done()`. */
export async function openTestOrm(): Promise<{ orm: Orm; db: TestDatabase; done: () => Promise<void> }> {
  const db = await createTestDatabase();
  const orm = await openDatabase({ url: db.url, poolMax: 4 });
  return {
    orm,
    db,
    done: async () => {
      await orm.close();
      await db.drop();
    },
  };
}
