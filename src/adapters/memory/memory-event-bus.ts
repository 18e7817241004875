import type { EventBus, Events, Topic } from '../../application/ports/event-bus';

/** In-process event bus (`--role all` without Redis): handlers run after the publisher's turn. */
export class MemoryEventBus implements EventBus {
  private readonly handlers = new Map<Topic, Set<(payload: never) => void>>();

  async publish<T extends Topic>(topic: T, payload: Events[T]): Promise<void> {
    for (const handler of this.handlers.get(topic) ?? [])
      queueMicrotask(() => (handler as (p: Events[T]) => void)(payload));
  }

  async subscribe<T extends Topic>(
    topic: T,
    handler: (payload: Events[T]) => void,
  ): Promise<() => Promise<void>> {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler as (payload: never) => void);
    return async () => {
      set.delete(handler as (payload: never) => void);
    };
  }
}
