import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter';
import { RedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter';
import { freePort } from '../../src/adapters/system/free-port';
import { FailClosedRateLimiter } from '../../src/application/identity/fail-closed-rate-limiter';
import type { RateDecision, RateLimiter, RateRule } from '../../src/application/ports/rate-limiter';
import { FixedClock } from '../support/builders';
import { requireInfrastructure } from '../support/infrastructure';
import { describeRateLimiterContract } from './rate-limiter.contract';

const rule: RateRule = { name: 'failures', limit: 10, windowMs: 60_000 };

/** As production must configure it (RedisRateLimiter's doc): never queue, bound every command. */
const failFast: RedisOptions = { enableOfflineQueue: false, commandTimeout: 500, maxRetriesPerRequest: 1 };

/** Redis connections and key prefixes of one test; keys are deleted and connections quit after it. */
class RedisFixture {
  private readonly open: Redis[] = [];
  private readonly prefixes: string[] = [];

  async connect(): Promise<Redis> {
    const redis = new Redis(requireInfrastructure('redis'), failFast);
    this.open.push(redis);
    await once(redis, 'ready');
    return redis;
  }

  prefix(): string {
    const prefix = `artstore-test:${randomUUID()}:rl:`;
    this.prefixes.push(prefix);
    return prefix;
  }

  async keys(redis: Redis, prefix: string): Promise<string[]> {
    const found: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 }))
      found.push(...(batch as string[]));
    return found;
  }

  async cleanup(): Promise<void> {
    const [redis] = this.open;
    for (const prefix of this.prefixes.splice(0)) {
      const keys = redis ? await this.keys(redis, prefix) : [];
      if (redis && keys.length > 0) await redis.del(...keys);
    }
    await Promise.all(this.open.splice(0).map((r) => r.quit()));
  }
}

describeRateLimiterContract('MemoryRateLimiter', async () => {
  const clock = new FixedClock();
  return {
    limiter: new MemoryRateLimiter(clock),
    advance: (ms) => clock.advance(ms),
    cleanup: async () => undefined,
  };
});

describeRateLimiterContract('RedisRateLimiter', async () => {
  const fixture = new RedisFixture();
  const clock = new FixedClock();
  const limiter = new RedisRateLimiter(await fixture.connect(), { prefix: fixture.prefix(), clock });
  return { limiter, advance: (ms) => clock.advance(ms), cleanup: () => fixture.cleanup() };
});

describe('RedisRateLimiter specifics', () => {
  const fixture = new RedisFixture();
  afterEach(() => fixture.cleanup());

  it('sets a TTL of at most one window on every key it writes', async () => {
    const redis = await fixture.connect();
    const prefix = fixture.prefix();
    const limiter = new RedisRateLimiter(redis, { prefix });
    await limiter.consume('a', rule);
    await limiter.consume('b', { ...rule, name: 'other', windowMs: 5_000 });
    await limiter.peek('c', rule); // a peek writes nothing
    const keys = (await fixture.keys(redis, prefix)).sort();
    expect(keys).toEqual([`${prefix}failures:a`, `${prefix}other:b`]);
    const ttl = async (key: string): Promise<number> => redis.pttl(key);
    expect(await ttl(`${prefix}failures:a`)).toBeGreaterThan(0);
    expect(await ttl(`${prefix}failures:a`)).toBeLessThanOrEqual(60_000);
    expect(await ttl(`${prefix}other:b`)).toBeGreaterThan(0);
    expect(await ttl(`${prefix}other:b`)).toBeLessThanOrEqual(5_000);
  });

  it('uses the default prefix artstore:rl:', async () => {
    const redis = await fixture.connect();
    const name = `test-${randomUUID()}`;
    await new RedisRateLimiter(redis).consume('k', { ...rule, name });
    const key = `artstore:rl:${name}:k`;
    try {
      expect(await redis.exists(key)).toBe(1);
    } finally {
      await redis.del(key);
    }
  });

  it('counts on Redis server time when no clock is given', async () => {
    const limiter = new RedisRateLimiter(await fixture.connect(), { prefix: fixture.prefix() });
    for (let n = 0; n < 10; n += 1)
      await expect(limiter.consume('k', rule)).resolves.toMatchObject({ allowed: true });
    const refused = await limiter.consume('k', rule);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, degraded: false });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('never allows more than the limit among 100 parallel consumes from several connections', async () => {
    const prefix = fixture.prefix();
    const limiters = await Promise.all(
      [0, 1, 2, 3].map(async () => new RedisRateLimiter(await fixture.connect(), { prefix })),
    );
    const decisions = await Promise.all(
      Array.from({ length: 100 }, (_, n) => limiters[n % limiters.length]!.consume('k', rule)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });

  it('reloads its script when the server has lost it', async () => {
    const redis = await fixture.connect();
    const limiter = new RedisRateLimiter(redis, { prefix: fixture.prefix() });
    await limiter.consume('k', rule);
    await redis.script('FLUSH');
    await expect(limiter.consume('k', rule)).resolves.toMatchObject({ allowed: true, remaining: 8 });
  });
});

describe('FailClosedRateLimiter', () => {
  const refused: RateDecision = { allowed: false, remaining: 0, retryAfterMs: 1000, degraded: true };

  it('passes decisions through while the store answers', async () => {
    const limiter = new FailClosedRateLimiter(new MemoryRateLimiter(new FixedClock()));
    await expect(limiter.consume('k', rule)).resolves.toEqual({
      allowed: true,
      remaining: 9,
      retryAfterMs: 0,
      degraded: false,
    });
  });

  it('refuses, marked degraded, when the store throws or hangs', async () => {
    const broken: RateLimiter = {
      consume: () => Promise.reject(new Error('store down')),
      peek: () => new Promise<never>(() => undefined),
      reset: () => Promise.reject(new Error('store down')),
    };
    const limiter = new FailClosedRateLimiter(broken, { timeoutMs: 10, retryAfterMs: 2000 });
    await expect(limiter.consume('k', rule)).resolves.toEqual({ ...refused, retryAfterMs: 2000 });
    await expect(limiter.peek('k', rule)).resolves.toEqual({ ...refused, retryAfterMs: 2000 });
    await expect(limiter.reset('k', rule)).rejects.toThrow('store down');
  });

  describe('on a Redis that is down, then comes up', () => {
    let port: number;
    let client: Redis;
    let limiter: FailClosedRateLimiter;
    let server: ChildProcess | undefined;

    beforeAll(async () => {
      port = await freePort(); // nothing listens there now
      // Reconnect quickly so the test does not wait on ioredis's default back-off.
      client = new Redis({ host: '127.0.0.1', port, ...failFast, retryStrategy: () => 50 });
      client.on('error', () => undefined); // connection refused, until the server starts
      limiter = new FailClosedRateLimiter(new RedisRateLimiter(client, { prefix: 'artstore-test:rl:' }));
    });

    afterAll(async () => {
      client.disconnect();
      if (server && server.exitCode === null && server.signalCode === null) {
        const exited = once(server, 'exit');
        server.kill('SIGTERM');
        await exited;
      }
    });

    it('refuses, marked degraded, while nothing listens', async () => {
      await expect(limiter.peek('k', rule)).resolves.toEqual(refused);
      await expect(limiter.consume('k', rule)).resolves.toEqual(refused);
    });

    it('recovers by itself once Redis answers, without a new limiter', async () => {
      // Not events.once: it would reject on the connection-refused 'error' events before the start.
      const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      const exited = once(server, 'exit').then(([code]) => {
        throw new Error(`redis-server on port ${port} exited with ${String(code)}`);
      });
      exited.catch(() => undefined); // afterAll's kill must not surface as an unhandled rejection
      await Promise.race([ready, exited]);
      await expect(limiter.consume('k', rule)).resolves.toEqual({
        allowed: true,
        remaining: 9,
        retryAfterMs: 0,
        degraded: false,
      });
      await expect(limiter.peek('k', rule)).resolves.toMatchObject({ remaining: 9, degraded: false });
    });
  });
});
