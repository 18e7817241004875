/**
 * A limit of `limit` events in any sliding window of `windowMs`. `name` namespaces the stored
 * state, so one subject key can be counted under several rules.
 */
export interface RateRule {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** How many more `consume` calls would be allowed right now. */
  readonly remaining: number;
  /** 0 when allowed; otherwise how long until one event ages out of the window (> 0, ≤ windowMs). */
  readonly retryAfterMs: number;
  /**
   * The backing store failed and the decision is a fail-closed refusal, not a count. The limiter
   * logs nothing itself; the caller decides whether to log.
   */
  readonly degraded: boolean;
}

/**
 * Sliding-window rate limiting. Two ways to use it:
 * - failure counting (brute force): `peek` before checking credentials and refuse while it is not
 *   allowed; `consume` only on a failed attempt. Failures age out; no reset on success is needed.
 * - request limits: `consume` on every request.
 * A refused `consume` is not counted, so hammering a closed window does not extend it.
 */
export interface RateLimiter {
  /** Records one event if the window has room; refuses without recording otherwise. */
  consume(key: string, rule: RateRule): Promise<RateDecision>;
  /** What `consume` would decide now, without recording anything. */
  peek(key: string, rule: RateRule): Promise<RateDecision>;
  /** Forgets every event of `key` under `rule`. */
  reset(key: string, rule: RateRule): Promise<void>;
}
