import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';
import type { Redis } from 'ioredis';

export interface RedisLockerOptions {
  readonly prefix: string;
  /** A lock not renewed for this long is free: its holder died. */
  readonly ttlMs: number;
  /** How long a request waits for a lock before giving up (423 for the client to retry). */
  readonly acquireTimeoutMs: number;
}

/** Renews our lock and reports whether another request asked us to release it. */
const RENEW = `
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return redis.call('exists', KEYS[2])
end
return -1`;

const RELEASE = `
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

/**
 * tus's Locker across ingester replicas: `SET NX PX` with a random token, renewed while held and
 * released only by its holder. A waiter asks the holder to let go (tus's requestRelease) by setting
 * a release key the holder sees at its next renewal; a holder that died frees the lock by expiry.
 */
export class RedisLocker implements Locker {
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisLockerOptions,
  ) {}

  newLock(id: string): Lock {
    return new RedisLock(this.redis, this.options, `${this.options.prefix}tus-lock:${id}`);
  }
}

class RedisLock implements Lock {
  private readonly token = randomBytes(12).toString('base64url');
  private renewal: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisLockerOptions,
    private readonly key: string,
  ) {}

  private get releaseKey(): string {
    return `${this.key}:release`;
  }

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.options.acquireTimeoutMs;
    const pace = Math.max(20, Math.min(200, Math.floor(this.options.ttlMs / 10)));
    for (;;) {
      if (signal.aborted) throw ERRORS.ABORTED;
      const ok = await this.redis.set(this.key, this.token, 'PX', this.options.ttlMs, 'NX');
      if (ok === 'OK') break;
      await this.redis.set(this.releaseKey, '1', 'PX', this.options.ttlMs);
      if (Date.now() > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await delay(pace, undefined, { signal }).catch(() => undefined);
    }
    await this.redis.del(this.releaseKey);
    let asked = false;
    this.renewal = setInterval(
      () => {
        this.redis
          .eval(RENEW, 2, this.key, this.releaseKey, this.token, this.options.ttlMs)
          .then((result) => {
            if (result === 1 && !asked) {
              asked = true;
              void requestRelease();
            }
          })
          .catch(() => undefined);
      },
      Math.max(50, Math.floor(this.options.ttlMs / 4)),
    );
    this.renewal.unref();
  }

  async unlock(): Promise<void> {
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
