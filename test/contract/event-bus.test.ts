import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryEventBus } from '../../src/adapters/memory/memory-event-bus';
import { RedisEventBus } from '../../src/adapters/redis/redis-event-bus';
import type { Events } from '../../src/application/ports/event-bus';
import { requireInfrastructure } from '../support/infrastructure';
import { Recorder } from '../support/recorder';
import { describeEventBusContract } from './event-bus.contract';

/** Redis connections of one test; every one is quit after it. */
class Connections {
  private readonly open: Redis[] = [];

  connect(options: { lazyConnect?: boolean } = {}): Redis {
    const redis = new Redis(requireInfrastructure('redis'), { maxRetriesPerRequest: 1, ...options });
    this.open.push(redis);
    return redis;
  }

  /**
   * As a running process holds it: the publisher already connected, the subscriber connecting on
   * its first subscribe.
   */
  async bus(prefix: string): Promise<RedisEventBus> {
    const publisher = this.connect();
    await publisher.ping();
    return new RedisEventBus(publisher, this.connect({ lazyConnect: true }), prefix);
  }

  async quitAll(): Promise<void> {
    const connections = this.open.splice(0);
    // A lazy connection that never connected has nothing to quit.
    for (const redis of connections) if (redis.status === 'wait') redis.disconnect();
    await Promise.all(connections.filter((redis) => redis.status !== 'end').map((redis) => redis.quit()));
  }
}

const uniquePrefix = (): string => `artstore-test:${randomUUID()}:`;

describeEventBusContract('RedisEventBus', async () => {
  const connections = new Connections();
  const prefix = uniquePrefix();
  return {
    bus: await connections.bus(prefix),
    peer: () => connections.bus(prefix),
    cleanup: () => connections.quitAll(),
  };
});

describeEventBusContract('MemoryEventBus', async () => {
  const bus = new MemoryEventBus();
  return { bus, peer: async () => bus, cleanup: async () => undefined };
});

describe('RedisEventBus specifics', () => {
  const connections = new Connections();
  afterEach(() => connections.quitAll());

  it('ignores malformed messages on its channels and still delivers later valid ones', async () => {
    const prefix = uniquePrefix();
    const bus = await connections.bus(prefix);
    const recorder = new Recorder<Events['file.changed']>();
    await bus.subscribe('file.changed', recorder.handler);
    const raw = connections.connect();
    const channel = `${prefix}events:file.changed`;
    for (const message of ['not json', '{"fileId":', 'null', '[]', '{"fileId":5}', '{"seId":"se-1"}', ''])
      await raw.publish(channel, message);
    await bus.publish('file.changed', { fileId: 'f-valid' });
    await expect(recorder.until(1)).resolves.toEqual([{ fileId: 'f-valid' }]);
  });

  it('keeps buses with different prefixes apart', async () => {
    const one = await connections.bus(uniquePrefix());
    const two = await connections.bus(uniquePrefix());
    const onOne = new Recorder<Events['file.changed']>();
    const onTwo = new Recorder<Events['file.changed']>();
    await one.subscribe('file.changed', onOne.handler);
    await two.subscribe('file.changed', onTwo.handler);

    // Interleaved: each bus's later event would arrive after any stray earlier one from the other.
    await one.publish('file.changed', { fileId: 'one-1' });
    await two.publish('file.changed', { fileId: 'two-1' });
    await one.publish('file.changed', { fileId: 'one-2' });
    await two.publish('file.changed', { fileId: 'two-2' });

    await expect(onOne.until(2)).resolves.toEqual([{ fileId: 'one-1' }, { fileId: 'one-2' }]);
    await expect(onTwo.until(2)).resolves.toEqual([{ fileId: 'two-1' }, { fileId: 'two-2' }]);
  });
});
