import { LRUCache } from 'lru-cache';

/**
 * An LRU read-through cache that never keeps a value loaded before an invalidation: every
 * `forget` bumps a generation, and a load that started under an older generation is returned to
 * its caller but not cached. Misses (null) are never cached.
 */
export class ReadThroughCache<V extends object> {
  private readonly lru: LRUCache<string, V>;
  private generation = 0;

  constructor(options: { max: number; ttlMs?: number }) {
    this.lru = new LRUCache<string, V>({
      max: options.max,
      ...(options.ttlMs ? { ttl: options.ttlMs, ttlAutopurge: false } : {}),
    });
  }

  async read(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const hit = this.lru.get(key);
    if (hit) return hit;
    const generation = this.generation;
    const value = await load();
    // A write that landed meanwhile owns the slot; only fill it from an unchanged source.
    if (value && generation === this.generation && !this.lru.has(key)) this.lru.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.lru.set(key, value);
  }

  forget(key: string): void {
    this.generation += 1;
    this.lru.delete(key);
  }

  /** Forgets everything, and every load under way is not cached. */
  clear(): void {
    this.generation += 1;
    this.lru.clear();
  }

  forgetWhere(matches: (key: string) => boolean): void {
    this.generation += 1;
    for (const key of [...this.lru.keys()]) if (matches(key)) this.lru.delete(key);
  }

  /** Runs a write to the source with the key forgotten before and after it. */
  async writing<T>(key: string, write: () => Promise<T>): Promise<T> {
    this.forget(key);
    try {
      return await write();
    } finally {
      this.forget(key);
    }
  }
}
