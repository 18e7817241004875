import { LRUCache } from 'lru-cache';
import { checkRateRule } from '../../application/identity/rate-rules';
import type { Clock } from '../../application/ports/clock';
import type { RateDecision, RateLimiter, RateRule } from '../../application/ports/rate-limiter';

export interface MemoryRateLimiterOptions {
  /**
   * Upper bound on stored event timestamps across all keys (default 1,000,000, a few tens of MB).
   * Past it the least recently used keys are forgotten; an attacker who floods distinct keys to
   * evict a victim's key has spent far more attempts than the key would have allowed.
   */
  readonly maxEvents?: number;
}

/**
 * A sliding-window log per (rule, key) in this process: exact, so no window of `windowMs` ever
 * holds more than `limit` recorded events. For a single process or tests; split roles need Redis.
 */
export class MemoryRateLimiter implements RateLimiter {
  /** Timestamps (ms) of the recorded events, oldest first. */
  private readonly logs: LRUCache<string, number[]>;

  constructor(
    private readonly clock: Clock,
    options: MemoryRateLimiterOptions = {},
  ) {
    this.logs = new LRUCache<string, number[]>({
      maxSize: options.maxEvents ?? 1_000_000,
      sizeCalculation: (events) => events.length + 1,
    });
  }

  async consume(key: string, rule: RateRule): Promise<RateDecision> {
    return this.decide(key, rule, true);
  }

  async peek(key: string, rule: RateRule): Promise<RateDecision> {
    return this.decide(key, rule, false);
  }

  async reset(key: string, rule: RateRule): Promise<void> {
    this.logs.delete(storageKey(key, rule));
  }

  private decide(key: string, rule: RateRule, record: boolean): RateDecision {
    checkRateRule(rule);
    const id = storageKey(key, rule);
    const now = this.clock.now().getTime();
    // An event at t counts during [t, t + windowMs).
    const events = (this.logs.get(id) ?? []).filter((t) => t > now - rule.windowMs);
    const oldest = events[0];
    if (events.length >= rule.limit && oldest !== undefined) {
      this.logs.set(id, events);
      const retryAfterMs = Math.min(rule.windowMs, Math.max(1, oldest + rule.windowMs - now));
      return { allowed: false, remaining: 0, retryAfterMs, degraded: false };
    }
    if (record) events.push(now);
    // set() re-measures the entry, which keeps the size bound true after the log changed.
    if (events.length > 0) this.logs.set(id, events);
    else this.logs.delete(id);
    return { allowed: true, remaining: rule.limit - events.length, retryAfterMs: 0, degraded: false };
  }
}

function storageKey(key: string, rule: RateRule): string {
  return `${rule.name}:${key}`;
}
