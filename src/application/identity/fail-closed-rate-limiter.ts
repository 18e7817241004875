import type { RateDecision, RateLimiter, RateRule } from '../ports/rate-limiter';

export interface FailClosedOptions {
  /** The Retry-After of a refusal caused by a store failure (default 1 s). */
  readonly retryAfterMs?: number;
  /**
   * A store that has not answered after this long counts as failed (default 1 s). A backstop:
   * the Redis client should also bound its commands itself (see RedisRateLimiter).
   */
  readonly timeoutMs?: number;
}

/**
 * Decisions fail closed: when the backing store errors or hangs, the answer is a refusal marked
 * `degraded` rather than an exception or an allowance. Nothing is logged here; the caller sees
 * `degraded` and logs. It holds no state, so it recovers as soon as the store answers again.
 */
export class FailClosedRateLimiter implements RateLimiter {
  private readonly refusal: RateDecision;
  private readonly timeoutMs: number;

  constructor(
    private readonly inner: RateLimiter,
    options: FailClosedOptions = {},
  ) {
    this.refusal = Object.freeze({
      allowed: false,
      remaining: 0,
      retryAfterMs: options.retryAfterMs ?? 1000,
      degraded: true,
    });
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  consume(key: string, rule: RateRule): Promise<RateDecision> {
    return this.guard(() => this.inner.consume(key, rule));
  }

  peek(key: string, rule: RateRule): Promise<RateDecision> {
    return this.guard(() => this.inner.peek(key, rule));
  }

  /** A reset that fails leaves events to age out, which is the safe direction: it still throws. */
  reset(key: string, rule: RateRule): Promise<void> {
    return this.inner.reset(key, rule);
  }

  private async guard(decide: () => Promise<RateDecision>): Promise<RateDecision> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<RateDecision>((resolve) => {
      timer = setTimeout(() => resolve(this.refusal), this.timeoutMs);
    });
    try {
      return await Promise.race([decide(), timedOut]);
    } catch {
      return this.refusal;
    } finally {
      clearTimeout(timer);
    }
  }
}
