import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { checkRateRule } from '../../application/identity/rate-rules';
import type { Clock } from '../../application/ports/clock';
import type { RateDecision, RateLimiter, RateRule } from '../../application/ports/rate-limiter';

/**
 * One atomic step of a sliding-window log: a sorted set of event ids scored by their time (ms).
 * An event at t counts during [t, t + window). The key expires with its newest event, so nothing
 * outlives its window. Time is Redis's own (TIME) unless the caller passes one, so every process
 * sharing the server agrees on the window whatever their clocks say.
 * KEYS[1] log; ARGV: now ('' = server time), window ms, limit, event id, record ('1' | '0').
 */
const SCRIPT = `
local now = tonumber(ARGV[1])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local retry = tonumber(oldest[2]) + window - now
  return {0, 0, math.min(window, math.max(1, retry))}
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
end
return {1, limit - count, 0}
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

const reply = z.tuple([z.union([z.literal(0), z.literal(1)]), z.number().int(), z.number().int()]);

export interface RedisRateLimiterOptions {
  /** Key prefix (default `artstore:rl:`); keys are `<prefix><rule name>:<key>`. */
  readonly prefix?: string;
  /** Time source for the window; tests only. Production leaves it out and uses Redis time. */
  readonly clock?: Clock;
}

/**
 * Sliding-window limits shared by every process on one Redis. Errors propagate: wrap it in
 * FailClosedRateLimiter. The client it is given should be a dedicated connection created with
 * `enableOfflineQueue: false` (a decision while disconnected fails at once instead of queueing
 * until Redis returns), `commandTimeout` (e.g. 500 ms, for a server that accepts but hangs) and
 * a small `maxRetriesPerRequest`, keep the default reconnecting `retryStrategy`, and have an
 * 'error' listener. Until it is 'ready' every decision fails (closed).
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly prefix: string;
  private readonly clock: Clock | undefined;

  constructor(
    private readonly redis: Redis,
    options: RedisRateLimiterOptions = {},
  ) {
    this.prefix = options.prefix ?? 'artstore:rl:';
    this.clock = options.clock;
  }

  consume(key: string, rule: RateRule): Promise<RateDecision> {
    return this.decide(key, rule, true);
  }

  peek(key: string, rule: RateRule): Promise<RateDecision> {
    return this.decide(key, rule, false);
  }

  async reset(key: string, rule: RateRule): Promise<void> {
    await this.redis.del(this.storageKey(key, rule));
  }

  private storageKey(key: string, rule: RateRule): string {
    return `${this.prefix}${rule.name}:${key}`;
  }

  private async decide(key: string, rule: RateRule, record: boolean): Promise<RateDecision> {
    checkRateRule(rule);
    const args = [
      this.storageKey(key, rule),
      this.clock ? String(this.clock.now().getTime()) : '',
      String(rule.windowMs),
      String(rule.limit),
      record ? randomBytes(9).toString('base64url') : '',
      record ? '1' : '0',
    ];
    const [allowed, remaining, retryAfterMs] = reply.parse(await this.run(args));
    return { allowed: allowed === 1, remaining, retryAfterMs, degraded: false };
  }

  /** EVALSHA first; a server that lost its script cache (restart, failover) gets the script. */
  private async run(args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(SHA, 1, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(SCRIPT, 1, ...args);
    }
  }
}
