import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { EventBus, Events, Topic } from '../../application/ports/event-bus';

const payloads: { [T in Topic]: z.ZodType<Events[T]> } = {
  'storage_element.changed': z.object({ seId: z.string() }),
  'file.changed': z.object({ fileId: z.string() }),
  'account.changed': z.object({ accountId: z.string() }),
};

const PAUSE_AFTER_FAILURE_MS = 2_000;

/** Redis failed a publish a moment ago; this one was not tried (a 503 if a request sees it). */
class PublishPaused extends Error {
  override readonly name = 'DependencyUnavailable';
  constructor() {
    super('Redis failed a moment ago: publishing is paused');
  }
}

/**
 * Events between processes over Redis pub/sub (split roles). Delivery is at most once: a
 * subscriber also refreshes on its own schedule, so a lost message only delays a refresh.
 */
export class RedisEventBus implements EventBus {
  private readonly handlers = new Map<string, Set<(payload: never) => void>>();
  private readonly subscribing = new Map<string, Promise<void>>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  private channel(topic: Topic): string {
    return `${this.prefix}events:${topic}`;
  }

  private deliver(channel: string, message: string): void {
    const topic = channel.slice(`${this.prefix}events:`.length) as Topic;
    const schema = payloads[topic];
    if (!schema) return;
    let parsed: unknown;
    try {
      parsed = schema.parse(JSON.parse(message));
    } catch {
      return; // a malformed message from another process is ignored, not fatal
    }
    for (const handler of this.handlers.get(channel) ?? []) (handler as (p: unknown) => void)(parsed);
  }

  /**
   * After a publish fails (Redis away or silent: a command timeout), publishes fail at once until
   * this time: a request publishing several events would otherwise wait out a timeout for each.
   * Delivery is at most once anyway; the subscribers resync when their connection comes back.
   */
  private failingUntil = 0;

  async publish<T extends Topic>(topic: T, payload: Events[T]): Promise<void> {
    if (Date.now() < this.failingUntil) throw new PublishPaused();
    try {
      await this.publisher.publish(this.channel(topic), JSON.stringify(payload));
    } catch (error) {
      this.failingUntil = Date.now() + PAUSE_AFTER_FAILURE_MS;
      throw error;
    }
  }

  async subscribe<T extends Topic>(
    topic: T,
    handler: (payload: Events[T]) => void,
  ): Promise<() => Promise<void>> {
    const channel = this.channel(topic);
    const entry = handler as (payload: never) => void;
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      this.subscribing.set(
        channel,
        this.subscriber.subscribe(channel).then(() => undefined),
      );
    }
    set.add(entry);
    // Every subscriber of a channel waits until Redis has confirmed the SUBSCRIBE.
    await this.subscribing.get(channel);
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      const current = this.handlers.get(channel);
      if (!current?.delete(entry) || current.size > 0) return;
      this.handlers.delete(channel);
      this.subscribing.delete(channel);
      await this.subscriber.unsubscribe(channel);
    };
  }
}

/**
 * Calls `handler` each time `subscriber` is back after losing its connection, once Redis has
 * taken the renewed subscriptions (a PING queued behind them has answered): whatever was
 * published while it was away is lost, so a subscriber drops what those events would have
 * invalidated. Returns a function that stops watching.
 */
export function afterResubscribe(subscriber: Redis, handler: () => void): () => Promise<void> {
  let lost = false;
  const onClose = (): void => {
    lost = true;
  };
  const onReady = (): void => {
    if (!lost) return;
    lost = false;
    subscriber.ping().then(handler, () => {
      lost = true;
    });
  };
  subscriber.on('close', onClose);
  subscriber.on('ready', onReady);
  return async () => {
    subscriber.off('close', onClose);
    subscriber.off('ready', onReady);
  };
}
