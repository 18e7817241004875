import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MIGRATIONS } from '../../migrations';
import { migrate, openDatabase, type Orm } from '../../src/adapters/persistence/database';
import { requireInfrastructure } from '../support/infrastructure';
import { useSharedTestOrm } from '../support/shared-test-orm';

const MIGRATIONS_TABLE = 'artstore_migrations';

/** What MikroORM would still change to make the database match the entities, without its preamble. */
async function schemaDiff(orm: Orm): Promise<string[]> {
  const sql = await orm.schema.getUpdateSchemaSQL();
  return sql
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^set\s+(names|session_replication_role)\b/iu.test(line));
}

async function tables(orm: Orm): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<{ table_name: string }[]>(
      "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
    );
  return rows.map((r) => r.table_name);
}

async function recorded(orm: Orm): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<{ name: string }[]>(`select name from "${MIGRATIONS_TABLE}" order by id`);
  return rows.map((r) => r.name);
}

async function withAdmin(fn: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: requireInfrastructure('database') });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

const ALL = MIGRATIONS.map((m) => m.name);
const ENTITY_TABLES = [
  'audit_log',
  'file_copies',
  'file_search',
  'fixity_checks',
  'files',
  'restored_copies',
  'sagas',
  'se_files',
  'service_accounts',
  'signing_keys',
  'storage_elements',
  'uploads',
  'user_sessions',
  'users',
];

describe('migrations on a database cloned from the migrated template', () => {
  const db = useSharedTestOrm();

  it('agree with the entity definitions: no schema difference is left', async () => {
    expect(await schemaDiff(db.orm)).toEqual([]);
  });

  it('apply nothing when run again', async () => {
    await expect(migrate(db.orm)).resolves.toEqual([]);
    await expect(db.orm.migrator.getPending()).resolves.toEqual([]);
    expect(await recorded(db.orm)).toEqual(ALL);
    expect(await schemaDiff(db.orm)).toEqual([]);
  });
});

describe('migrations on an empty database', () => {
  // A database of its own per test, created here (not from the template) and dropped after it.
  let name = '';
  let orm: Orm | null = null;
  const open = (): Orm => {
    if (!orm) throw new Error('the empty database is not open');
    return orm;
  };

  beforeEach(async () => {
    name = `artstore_t_empty_${randomBytes(6).toString('hex')}`;
    await withAdmin((c) => c.query(`create database ${name}`));
    const url = new URL(requireInfrastructure('database'));
    url.pathname = `/${name}`;
    orm = await openDatabase({ url: url.toString(), poolMax: 2 });
  });
  afterEach(async () => {
    await orm?.close();
    orm = null;
    await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`));
  });

  it('starts with no tables, and the difference check sees that', async () => {
    expect(await tables(open())).toEqual([]);
    const diff = await schemaDiff(open());
    for (const table of ENTITY_TABLES) expect(diff.join('\n')).toContain(`create table "${table}"`);
  });

  it('applies exactly the listed migrations in order, leaving no difference; a second run applies nothing', async () => {
    await expect(migrate(open())).resolves.toEqual(ALL);
    expect(await recorded(open())).toEqual(ALL);
    expect(await tables(open())).toEqual([...ENTITY_TABLES, MIGRATIONS_TABLE].sort());
    expect(await schemaDiff(open())).toEqual([]);

    await expect(migrate(open())).resolves.toEqual([]);
    expect(await recorded(open())).toEqual(ALL);
  });

  it('the difference check notices a schema that drifted from the entities', async () => {
    await migrate(open());
    const connection = open().em.fork().getConnection();
    await connection.execute('drop index "files_collection_index"');
    await connection.execute('alter table "storage_elements" alter column "priority" type bigint');
    const diff = (await schemaDiff(open())).join('\n');
    expect(diff).toContain('files_collection_index');
    expect(diff).toMatch(/alter table "storage_elements".*"priority"/u);
  });

  it('gives a bootstrap admin created before issue 5 the files:legal_hold scope, and nobody else', async () => {
    await open().migrator.up({ to: 'Migration20261202040000_one_unfinished_saga_per_file' });
    const connection = open().em.fork().getConnection();
    const account = (id: string, name: string, scopes: string[], internal = false) =>
      connection.execute(
        `insert into service_accounts (id, name, scopes, collections, status, secret_hash, secret_expires_at, internal, created_at, updated_at)
         values (?, ?, ?::jsonb, '{}'::jsonb, 'active', 'x', now(), ?, now(), now())`,
        [id, name, JSON.stringify(scopes), internal],
      );
    const old = ['files:read', 'files:write', 'files:delete', 'admin:read', 'admin:write'];
    await account('artstore-bootstrap', 'bootstrap admin', old);
    await account('reader', 'bootstrap admin', ['files:read']);
    await account('other-admin', 'ops', old);
    await migrate(open());
    const rows = await connection.execute<{ id: string; scopes: string[] }[]>(
      'select id, scopes from service_accounts order by id',
    );
    const held = Object.fromEntries(rows.map((r) => [r.id, r.scopes.includes('files:legal_hold')]));
    expect(held).toEqual({ 'artstore-bootstrap': true, reader: false, 'other-admin': false });
  });

  it('moves an existing catalog to file_search with its vectors, then keeps it in step with files', async () => {
    await open().migrator.up({ to: 'Migration20261202050000_restored_copies' });
    const connection = open().em.fork().getConnection();
    const insert = (id: string, name: string, tags: string[]) =>
      connection.execute(
        `insert into files (file_id, name, name_words, collection, content_type, size, sha256, uploader, uploaded_at,
                            status, retention_policy, expires_at, attributes)
         values (?, ?, ?, 'default', 'text/plain', 1, 'x', 'svc', now(), 'active', 'permanent', null,
                 jsonb_build_object('description', 'signed copy', 'tags', ?::jsonb, 'metadata', '{}'::jsonb))`,
        [id, name, name.toLowerCase().replace(/[^a-zа-я0-9]+/gu, ' '), JSON.stringify(tags)],
      );
    const a = '00000000-0000-4000-8000-00000000000a';
    const b = '00000000-0000-4000-8000-00000000000b';
    await insert(a, 'Договор_поставки.pdf', ['finance']);
    await insert(b, 'Annual_report.pdf', []);
    const before = await connection.execute<{ file_id: string; v: string }[]>(
      'select file_id, search_vector::text as v from files order by file_id',
    );
    await migrate(open());
    const side = () =>
      connection.execute<{ file_id: string; status: string; tags: string[]; v: string }[]>(
        'select file_id, status, tags, search_vector::text as v from file_search order by file_id',
      );
    expect((await side()).map((r) => ({ file_id: r.file_id, v: r.v }))).toEqual(before);
    expect((await side()).map((r) => r.tags)).toEqual([['finance'], []]);

    await connection.execute(`update files set status = 'deleted' where file_id = ?`, [b]);
    await connection.execute(
      `update files set attributes = jsonb_set(attributes, '{tags}', '["legal"]') where file_id = ?`,
      [a],
    );
    const [ra, rb] = await side();
    expect(rb?.status).toBe('deleted');
    expect(ra?.tags).toEqual(['legal']);
    expect(ra?.v).toContain(`'legal':`);
    expect(ra?.v).not.toContain('finance');
    await connection.execute('delete from files where file_id = ?', [a]);
    expect((await side()).map((r) => r.file_id)).toEqual([b]);
    await connection.execute('truncate files');
    expect(await side()).toEqual([]);
  });

  it('migrates down to nothing and up again to the same schema', async () => {
    await migrate(open());
    await open().migrator.down({ to: 0 });
    expect(await tables(open())).toEqual([MIGRATIONS_TABLE]);
    expect(await recorded(open())).toEqual([]);
    await expect(migrate(open())).resolves.toEqual(ALL);
    expect(await schemaDiff(open())).toEqual([]);
  });
});
