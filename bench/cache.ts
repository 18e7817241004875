/**
 * Scenario 9: metadata read latency (`GET /api/v1/files/{id}`, c=1) through the catalog cache
 * against the same ArtStore with the cache turned off (every read goes to PostgreSQL), both in
 * the same run: levels 1+2 warm (an in-process hit), and level 2 alone (level 1 off: a Redis hit).
 * There is no goal in ARCHITECTURE §8 for it; the row's "≤ 1" only says a cached read must not be
 * slower than an uncached one.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { bufferBody, Errors, LoadClient, runCount, type RunResult } from './client';
import type { Bench } from './context';
import type { ServerProcess } from './processes';
import { reportErrors, Row } from './report';
import { percentile } from './stats';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const OFF = {
  ARTSTORE_CACHE_METADATA_ENTRIES: '0',
  ARTSTORE_CACHE_SEARCH_ENTRIES: '0',
  ARTSTORE_CACHE_L2_TTL_S: '0',
};

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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

export async function cachedReads(bench: Bench): Promise<void> {
  const { settings } = bench;
  const files = settings.quick ? 50 : 200;
  const reads = settings.quick ? 500 : 3000;
  const redisUrl = process.env.ARTSTORE_BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
  const withRedis = await redisAnswers(redisUrl);
  say(
    `\n[9] metadata GET latency at c=1 over ${files} files, ${reads} reads per measurement, ${settings.rounds} paired rounds: ` +
      `cached vs the cache off${withRedis ? '' : ` (no Redis at ${redisUrl}: level 2 not measured)`}`,
  );
  const redisEnv = (): Record<string, string> =>
    withRedis
      ? {
          ARTSTORE_REDIS_URL: redisUrl,
          ARTSTORE_REDIS_PREFIX: `artstore-bench-${randomBytes(4).toString('hex')}:`,
        }
      : {};
  const configs: { key: string; env: Record<string, string> }[] = [
    { key: 'off', env: { ...redisEnv(), ...OFF } },
    { key: 'l1', env: redisEnv() },
    ...(withRedis ? [{ key: 'l2', env: { ...redisEnv(), ARTSTORE_CACHE_METADATA_ENTRIES: '0' } }] : []),
  ];
  const servers = new Map<string, ServerProcess>();
  const ids = new Map<string, string[]>();
  const dirs: string[] = [];
  const errors = new Errors();
  const rows = {
    l1p50: new Row('9a', 'metadata GET p50, c=1, levels 1+2 warm', 'ms', 'cache off', {
      kind: 'max',
      value: 1,
    }),
    l1p95: new Row('9b', 'metadata GET p95, c=1, levels 1+2 warm', 'ms', 'cache off', {
      kind: 'max',
      value: 1,
    }),
    l2p50: new Row('9c', 'metadata GET p50, c=1, level 2 only', 'ms', 'cache off', { kind: 'max', value: 1 }),
  };
  const client = new LoadClient(1);
  const measure = async (key: string): Promise<RunResult> => {
    const server = servers.get(key)!;
    const list = ids.get(key)!;
    const result = await runCount(reads, 1, async (i, e) => {
      const res = await client.send({
        method: 'GET',
        url: `${server.url}/api/v1/files/${list[i % list.length]}`,
      });
      if (res.status !== 200) {
        e.add(`metadata GET: status ${res.status}`);
        return null;
      }
      return res.ms;
    });
    errors.merge(result.errors);
    return result;
  };
  try {
    for (const { key, env } of configs) {
      const dir = await bench.dir(`s9-${key}`);
      dirs.push(dir);
      const server = await bench.startArtStore(`s9-${key}`, dir, await bench.newArtStoreDatabase(), env);
      servers.set(key, server);
      const uploaded: string[] = [];
      for (let i = 0; i < files; i += 1) {
        const body = bufferBody(bench.pool.subarray(i * 1024, (i + 1) * 1024));
        const res = await client.send({
          method: 'POST',
          url: `${server.url}/api/v1/files?name=bench-${i}.bin`,
          headers: { 'content-type': 'application/octet-stream' },
          body,
          collect: true,
        });
        if (res.status !== 201) throw new Error(`upload for scenario 9 answered ${res.status}`);
        uploaded.push((JSON.parse(res.body.toString('utf8')) as { file_id: string }).file_id);
      }
      ids.set(key, uploaded);
      await measure(key); // warm: every id read once (caches filled, connections open)
    }
    const p = (r: RunResult, q: number): number =>
      r.latencies.length ? percentile(r.latencies, q) : Number.NaN;
    for (let round = 0; round < settings.rounds; round += 1) {
      const off = await measure('off');
      const l1 = await measure('l1');
      rows.l1p50.add(p(off, 50), p(l1, 50));
      rows.l1p95.add(p(off, 95), p(l1, 95));
      if (withRedis) rows.l2p50.add(p(off, 50), p(await measure('l2'), 50));
    }
    for (const key of ['l1', 'l2']) {
      const server = servers.get(key);
      if (!server) continue;
      const metrics = await client.send({ method: 'GET', url: `${server.url}/metrics`, collect: true });
      const lines = metrics.body
        .toString('utf8')
        .split('\n')
        .filter(
          (l) =>
            (l.startsWith('artstore_cache_') && l.includes('cache="metadata"')) ||
            l.startsWith('artstore_cache_errors_total'),
        );
      say(
        `  [9] ${key} process counters: ${lines.map((l) => l.replace(/\{cache="metadata",(level="l\d")[^}]*\}/u, '{$1}').replace(/,?roles="[^"]*"/u, '')).join(', ')}`,
      );
    }
  } finally {
    client.close();
    reportErrors('ArtStore (scenario 9)', errors);
    await Promise.all([...servers.values()].map((server) => server.stop()));
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
  bench.rows.push(rows.l1p50, rows.l1p95, ...(withRedis ? [rows.l2p50] : []));
}
