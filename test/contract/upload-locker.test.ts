import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { MemoryLocker } from '@tus/server';
import { Redis } from 'ioredis';
import { RedisLocker } from '../../src/adapters/tus/redis-locker';
import { requireInfrastructure } from '../support/infrastructure';
import { describeLockerContract } from './upload-locker.contract';

describeLockerContract('MemoryLocker (@tus/server, one process)', async () => ({
  locker: (acquireTimeoutMs) => new MemoryLocker({ acquireLockTimeout: acquireTimeoutMs }),
  cleanup: async () => undefined,
}));

describe('on Redis', () => {
  let redis: Redis;
  const prefix = `artstore-test:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    redis = new Redis(requireInfrastructure('redis'));
    await once(redis, 'ready');
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  describeLockerContract('RedisLocker', async () => ({
    locker: (acquireTimeoutMs) => new RedisLocker(redis, { prefix, ttlMs: 1_000, acquireTimeoutMs }),
    cleanup: async () => undefined,
  }));

  it('frees the lock of a holder that died once its TTL runs out', async () => {
    const locker = new RedisLocker(redis, { prefix, ttlMs: 300, acquireTimeoutMs: 5_000 });
    const upload = randomBytes(16).toString('hex');
    // A holder in a killed process: its key stays, nobody renews it or answers release requests.
    await redis.set(`${prefix}tus-lock:${upload}`, 'dead-holder', 'PX', 300);
    const lock = locker.newLock(upload);
    await lock.lock(new AbortController().signal, () => undefined);
    expect(await redis.get(`${prefix}tus-lock:${upload}`)).not.toBe('dead-holder');
    await lock.unlock();
    expect(await redis.exists(`${prefix}tus-lock:${upload}`)).toBe(0);
  });

  it('keeps a held lock alive past its TTL by renewing it', async () => {
    const locker = new RedisLocker(redis, { prefix, ttlMs: 200, acquireTimeoutMs: 5_000 });
    const upload = randomBytes(16).toString('hex');
    const lock = locker.newLock(upload);
    await lock.lock(new AbortController().signal, () => undefined);
    const key = `${prefix}tus-lock:${upload}`;
    const token = await redis.get(key);
    // Outlive several TTLs: the renewal must keep the key with the same holder.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await redis.get(key)).toBe(token);
    await lock.unlock();
    expect(await redis.exists(key)).toBe(0);
  });
});
