import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { UNAVAILABLE, type SharedCache, type SharedRead } from '../cache/shared-cache';

/**
 * Bump when the shape of a cached value changes (a field added to CatalogEntry or to a search
 * page): processes of different versions then never read each other's entries.
 */
export const CACHE_FORMAT_VERSION = 1;

/*
 * Keys under `<prefix>cache:v<N>:`: `epoch` and `gen` (counters), `ver:<file>` (a per-file
 * version), `meta:<file>` and `search:<hash>` (values stored as `<token>|<json>`).
 * A metadata token is `<epoch>:<ver>`, a search token is `<gen>`; a value is served only while
 * its token is current, and stored only if its token is still current (compare-and-set in Lua, so
 * nothing can slip between the check and the write).
 */
const CURRENT_ENTRY = `local token = (redis.call('GET', KEYS[1]) or '0') .. ':' .. (redis.call('GET', KEYS[2]) or '0')`;
const CURRENT_SEARCH = `local token = redis.call('GET', KEYS[1]) or '0'`;
const READ = `
local data = redis.call('GET', KEYS[#KEYS])
if data and string.sub(data, 1, #token + 1) == token .. '|' then return {token, string.sub(data, #token + 2)} end
return {token, false}`;
const STORE = `
if token ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[#KEYS], token .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1`;

const SCRIPTS = {
  /** KEYS epoch, ver, meta. */
  readEntry: { keys: 3, lua: `${CURRENT_ENTRY}${READ}` },
  /** KEYS epoch, ver, meta; ARGV token, value, ttl ms. */
  storeEntry: { keys: 3, lua: `${CURRENT_ENTRY}${STORE}` },
  /** KEYS gen, search. */
  readSearch: { keys: 2, lua: `${CURRENT_SEARCH}${READ}` },
  /** KEYS gen, search; ARGV token, value, ttl ms. */
  storeSearch: { keys: 2, lua: `${CURRENT_SEARCH}${STORE}` },
  /** KEYS ver, meta, gen; ARGV ttl ms of the version key. */
  invalidate: {
    keys: 3,
    lua: `redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2]) redis.call('INCR', KEYS[3]) return 1`,
  },
  /** KEYS epoch, gen: every value stored so far stops being served. */
  flush: { keys: 2, lua: `redis.call('INCR', KEYS[1]) redis.call('INCR', KEYS[2]) return 1` },
} as const;
type ScriptName = keyof typeof SCRIPTS;
const SHAS = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, s]) => [name, createHash('sha1').update(s.lua).digest('hex')]),
) as Record<ScriptName, string>;

const readReply = z.tuple([z.string(), z.string().nullable()]);

export interface RedisSharedCacheOptions {
  /** ArtStore's Redis prefix (`redis_prefix`). */
  readonly prefix: string;
  readonly ttlMs: number;
  /** After a failed or timed-out command the cache is skipped for this long, then tried again. */
  readonly pauseMs?: number;
  readonly onError?: (operation: string, error: unknown) => void;
}

/**
 * Level 2 in Redis. The client should be a dedicated connection with `enableOfflineQueue: false`
 * and a short `commandTimeout`: while Redis is away every call fails at once and the caller goes
 * to PostgreSQL; after a failure the cache pauses briefly so a hanging server does not add its
 * timeout to every request. An invalidation that could not reach Redis leaves values that may be
 * stale: until a flush (a new epoch and generation) succeeds, this process neither reads nor
 * stores, and other processes' copies are bounded by the TTL.
 */
export class RedisSharedCache implements SharedCache {
  private readonly ns: string;
  private readonly pauseMs: number;
  private pausedUntil = 0;
  private mustFlush = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisSharedCacheOptions,
  ) {
    this.ns = `${options.prefix}cache:v${CACHE_FORMAT_VERSION}:`;
    this.pauseMs = options.pauseMs ?? 1_000;
  }

  readEntry(fileId: string): Promise<SharedRead> {
    return this.read('readEntry', [this.key('epoch'), this.key(`ver:${fileId}`), this.key(`meta:${fileId}`)]);
  }

  async storeEntry(fileId: string, token: string, value: string): Promise<void> {
    const keys = [this.key('epoch'), this.key(`ver:${fileId}`), this.key(`meta:${fileId}`)];
    await this.attempt('storeEntry', [...keys, token, value, String(this.options.ttlMs)]);
  }

  readSearch(hash: string): Promise<SharedRead> {
    return this.read('readSearch', [this.key('gen'), this.key(`search:${hash}`)]);
  }

  async storeSearch(hash: string, token: string, value: string): Promise<void> {
    const keys = [this.key('gen'), this.key(`search:${hash}`)];
    await this.attempt('storeSearch', [...keys, token, value, String(this.options.ttlMs)]);
  }

  async invalidate(fileId: string): Promise<void> {
    // The version must outlive any load holding an older token (loads take milliseconds).
    const versionTtl = String(Math.max(10 * this.options.ttlMs, 3_600_000));
    const keys = [this.key(`ver:${fileId}`), this.key(`meta:${fileId}`), this.key('gen')];
    const done = await this.call('invalidate', [...keys, versionTtl]);
    if (done === null) this.mustFlush = true;
  }

  private key(name: string): string {
    return `${this.ns}${name}`;
  }

  private async read(script: ScriptName, keys: string[]): Promise<SharedRead> {
    const reply = await this.attempt(script, keys);
    if (reply === null) return UNAVAILABLE;
    const parsed = readReply.safeParse(reply);
    if (!parsed.success) {
      this.options.onError?.(script, parsed.error);
      return UNAVAILABLE;
    }
    const [token, value] = parsed.data;
    return { token, value };
  }

  /** A read or store: skipped while a flush is owed and cannot be made. */
  private async attempt(script: ScriptName, args: string[]): Promise<unknown> {
    if (this.mustFlush) {
      if ((await this.call('flush', [this.key('epoch'), this.key('gen')])) === null) return null;
      this.mustFlush = false;
    }
    return this.call(script, args);
  }

  /** Null when Redis is unavailable (not connected, paused after a failure, or the command failed). */
  private async call(script: ScriptName, args: string[]): Promise<unknown> {
    if (this.redis.status !== 'ready' || Date.now() < this.pausedUntil) return null;
    const { keys, lua } = SCRIPTS[script];
    try {
      try {
        return await this.redis.evalsha(SHAS[script], keys, ...args);
      } catch (error) {
        // A server that lost its script cache (restart, failover) gets the script once.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await this.redis.eval(lua, keys, ...args);
      }
    } catch (error) {
      this.pausedUntil = Date.now() + this.pauseMs;
      this.options.onError?.(script, error);
      return null;
    }
  }
}
