import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../../src/adapters/system/free-port';
import { anonymousFetch, clientToken, createAccount, type ClientCredentials } from '../../support/auth';
import { requireInfrastructure } from '../../support/infrastructure';
import { until } from '../../support/poll';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy';
import type { Pool, Refused, Stored, Target } from './outages';

/** A Redis of the test's own, so that flushing it touches no one else. */
export interface PrivateRedis {
  readonly url: string;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  client.on('error', () => undefined);
  await until(
    'the private redis-server to answer',
    () =>
      client.connect().then(
        () => true,
        () => {
          client.disconnect();
          return null;
        },
      ),
    10_000,
  );
  return {
    url,
    flush: async () => void (await client.flushall()),
    stop: async () => {
      client.disconnect();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One proxy per dependency, between ArtStore and it: the faults are made here. */
export interface Dependencies {
  readonly postgres: TcpProxy;
  readonly redis: TcpProxy;
  readonly s3: TcpProxy;
  /** ArtStore's database URL, through the proxy. */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly s3Endpoint: string;
}

export async function proxiedDependencies(databaseUrl: string, redisUrl: string): Promise<Dependencies> {
  const s3 = requireInfrastructure('s3');
  const [postgres, redis, s3Proxy] = await Promise.all([
    startTcpProxy(databaseUrl),
    startTcpProxy(redisUrl),
    startTcpProxy(s3.endpoint),
  ]);
  const proxiedDb = new URL(databaseUrl);
  proxiedDb.port = new URL(postgres.url).port;
  return {
    postgres,
    redis,
    s3: s3Proxy,
    databaseUrl: proxiedDb.toString(),
    redisUrl: redis.url,
    s3Endpoint: s3Proxy.url,
  };
}

/** A config file: a local `edit` SE for temporary files and an S3 `rw` SE (through the proxy). */
export async function writeConfig(dir: string, s3Endpoint: string): Promise<string> {
  const s3 = requireInfrastructure('s3');
  const file = join(dir, 'config.json');
  await writeFile(
    file,
    JSON.stringify({
      storage_elements: [
        { id: 'edit-1', mode: 'edit' },
        {
          id: 'rw-s3',
          mode: 'rw',
          backend: 's3',
          s3_endpoint: s3Endpoint,
          s3_bucket: `artstore-outage-${randomBytes(4).toString('hex')}`,
          s3_prefix: 'se/rw-s3/',
          s3_access_key: s3.accessKey,
          s3_secret_key: s3.secretKey,
        },
      ],
    }),
  );
  return file;
}

async function send(url: string, token: string, init: RequestInit = {}): Promise<Response> {
  const response = await anonymousFetch(url, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
  if (response.status >= 300)
    throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return response;
}

/** The accounts and tokens of the auth checks: suspended, deleted and rate-limited ones, a forgery. */
export async function prepareRefusals(target: Target): Promise<Refused> {
  const accounts = `${target.admin}/api/v1/admin/service-accounts`;
  const scopes = ['files:read', 'files:write'];
  const good = await createAccount(target.admin, { name: 'good', scopes });
  const guessed = await createAccount(target.admin, { name: 'guessed', scopes });
  const suspended = await createAccount(target.admin, { name: 'suspended', scopes });
  const deleted = await createAccount(target.admin, { name: 'deleted', scopes });
  const tokenOf = (c: ClientCredentials) => clientToken(target.admin, c);
  const [goodToken, suspendedToken, deletedToken] = await Promise.all([
    tokenOf(good),
    tokenOf(suspended),
    tokenOf(deleted),
  ]);
  await send(`${accounts}/${suspended.clientId}/suspend`, target.token, { method: 'POST' });
  await send(`${accounts}/${deleted.clientId}`, target.token, { method: 'DELETE' });
  const [header, payload, signature] = goodToken.split('.') as [string, string, string];
  const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
  return {
    good,
    guessed,
    suspendedToken,
    deletedToken,
    limited: await limitedAccount(target),
    forgedToken: `${header}.${payload}.${flipped}`,
  };
}

/**
 * A new account limited to 2 requests a minute, both used: until a minute after the first of
 * them its requests must be refused (a margin of 5 s for clocks and queues).
 */
export async function limitedAccount(target: Target): Promise<{ token: string; until: number }> {
  const created = (await (
    await send(`${target.admin}/api/v1/admin/service-accounts`, target.token, {
      method: 'POST',
      body: JSON.stringify({ name: 'limited', scopes: ['files:read'], rate_limit_per_minute: 2 }),
    })
  ).json()) as { client_id: string; client_secret: string };
  const token = await clientToken(target.admin, {
    clientId: created.client_id,
    clientSecret: created.client_secret,
  });
  const first = Date.now();
  for (let i = 0; i < 2; i++) await send(`${target.query}/api/v1/search?q=x`, token);
  const refused = await anonymousFetch(`${target.query}/api/v1/search?q=x`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await refused.arrayBuffer();
  if (refused.status !== 429) throw new Error(`the limited account was not refused: ${refused.status}`);
  return { token, until: first + 55_000 };
}

async function store(target: Target, name: string, retention: string): Promise<Stored> {
  const content = randomBytes(4096 + Math.floor(Math.random() * 16_384));
  const response = await send(
    `${target.ingester}/api/v1/files?${new URLSearchParams({ name, retention_policy: retention })}`,
    target.token,
    { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: content },
  );
  const { file_id } = (await response.json()) as { file_id: string };
  return { fileId: file_id, sha256: createHash('sha256').update(content).digest('hex') };
}

/** Fresh files for one fault's rounds; the temporary one is read once, so its metadata is cached. */
export async function preparePool(
  target: Target,
  shared: { temporary: Stored; permanent: Stored },
): Promise<Pool> {
  const [uncachedRead, toDelete, toFinalize] = await Promise.all([
    store(target, 'chaos uncached.bin', 'temporary'),
    store(target, 'chaos delete.bin', 'temporary'),
    store(target, 'chaos finalize.bin', 'temporary'),
  ]);
  await send(`${target.query}/api/v1/files/${shared.temporary.fileId}`, target.token);
  return { ...shared, uncachedRead, toDelete, toFinalize };
}

export async function prepareShared(target: Target): Promise<{ temporary: Stored; permanent: Stored }> {
  const [temporary, permanent] = await Promise.all([
    store(target, 'chaos temporary.bin', 'temporary'),
    store(target, 'chaos permanent.bin', 'permanent'),
  ]);
  return { temporary, permanent };
}
