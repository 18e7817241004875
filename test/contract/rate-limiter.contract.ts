import type { RateLimiter, RateRule } from '../../src/application/ports/rate-limiter';

export interface RateLimiterHarness {
  readonly limiter: RateLimiter;
  /** Moves the limiter's clock forward. */
  advance(ms: number): void;
  cleanup(): Promise<void>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const failures: RateRule = { name: 'failures', limit: 10, windowMs: MINUTE };

/** The behaviour every RateLimiter adapter must have, on a clock the test controls. */
export function describeRateLimiterContract(name: string, open: () => Promise<RateLimiterHarness>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let h: RateLimiterHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** The brute-force pattern: peek before checking credentials, consume on a failure. */
    async function fail(key: string, rule = failures): Promise<void> {
      await expect(h.limiter.peek(key, rule)).resolves.toMatchObject({ allowed: true });
      await expect(h.limiter.consume(key, rule)).resolves.toMatchObject({ allowed: true });
    }

    it('allows up to the limit, counting remaining down, then refuses the 11th failure', async () => {
      for (let n = 1; n <= 10; n += 1) {
        await expect(h.limiter.consume('client|ip', failures)).resolves.toEqual({
          allowed: true,
          remaining: 10 - n,
          retryAfterMs: 0,
          degraded: false,
        });
        h.advance(SECOND);
      }
      // First failure at 0 s, now 10 s: it ages out at 60 s.
      const refused = { allowed: false, remaining: 0, retryAfterMs: 50 * SECOND, degraded: false };
      await expect(h.limiter.peek('client|ip', failures)).resolves.toEqual(refused);
      await expect(h.limiter.consume('client|ip', failures)).resolves.toEqual(refused);
    });

    it('keeps retryAfter above 0 and within the window', async () => {
      const rule: RateRule = { name: 'burst', limit: 3, windowMs: 5 * SECOND };
      for (let n = 0; n < 3; n += 1) await h.limiter.consume('k', rule);
      const now = await h.limiter.consume('k', rule);
      expect(now).toMatchObject({ allowed: false, retryAfterMs: 5 * SECOND });
      h.advance(5 * SECOND - 1);
      await expect(h.limiter.peek('k', rule)).resolves.toMatchObject({ allowed: false, retryAfterMs: 1 });
    });

    it('does not record a peek', async () => {
      for (let n = 0; n < 25; n += 1)
        await expect(h.limiter.peek('k', failures)).resolves.toMatchObject({ allowed: true, remaining: 10 });
      await expect(h.limiter.consume('k', failures)).resolves.toMatchObject({ remaining: 9 });
    });

    it('does not record a refused consume, so hammering does not extend the lockout', async () => {
      for (let n = 0; n < 10; n += 1) await fail('k');
      h.advance(30 * SECOND);
      for (let n = 0; n < 20; n += 1)
        await expect(h.limiter.consume('k', failures)).resolves.toMatchObject({ allowed: false });
      h.advance(30 * SECOND);
      await expect(h.limiter.peek('k', failures)).resolves.toMatchObject({ allowed: true, remaining: 10 });
    });

    it('slides: each event ages out one window after it happened', async () => {
      const rule: RateRule = { name: 'pair', limit: 2, windowMs: MINUTE };
      await h.limiter.consume('k', rule); // t = 0
      h.advance(30 * SECOND);
      await h.limiter.consume('k', rule); // t = 30 s
      h.advance(30 * SECOND - 1);
      await expect(h.limiter.peek('k', rule)).resolves.toMatchObject({ allowed: false, retryAfterMs: 1 });
      h.advance(1); // t = 60 s: the first has aged out, the second has not
      await expect(h.limiter.consume('k', rule)).resolves.toMatchObject({ allowed: true, remaining: 0 });
      await expect(h.limiter.peek('k', rule)).resolves.toMatchObject({
        allowed: false,
        retryAfterMs: 30 * SECOND,
      });
    });

    it('lets a full window age out entirely', async () => {
      for (let n = 0; n < 10; n += 1) await fail('k');
      h.advance(MINUTE);
      await expect(h.limiter.peek('k', failures)).resolves.toMatchObject({ allowed: true, remaining: 10 });
      for (let n = 0; n < 10; n += 1) await fail('k');
    });

    it('keeps keys and rules independent', async () => {
      const other: RateRule = { ...failures, name: 'other' };
      for (let n = 0; n < 10; n += 1) await fail('alice|10.0.0.1');
      await expect(h.limiter.peek('alice|10.0.0.1', failures)).resolves.toMatchObject({ allowed: false });
      await expect(h.limiter.peek('alice|10.0.0.2', failures)).resolves.toMatchObject({ remaining: 10 });
      await expect(h.limiter.peek('bob|10.0.0.1', failures)).resolves.toMatchObject({ remaining: 10 });
      await expect(h.limiter.peek('alice|10.0.0.1', other)).resolves.toMatchObject({ remaining: 10 });
    });

    it('forgets a key on reset, and only that key', async () => {
      for (let n = 0; n < 10; n += 1) {
        await h.limiter.consume('a', failures);
        await h.limiter.consume('b', failures);
      }
      await h.limiter.reset('a', failures);
      await expect(h.limiter.peek('a', failures)).resolves.toMatchObject({ allowed: true, remaining: 10 });
      await expect(h.limiter.peek('b', failures)).resolves.toMatchObject({ allowed: false });
      await expect(h.limiter.reset('never-seen', failures)).resolves.toBeUndefined();
    });

    it('never allows more than the limit among 100 parallel consumes', async () => {
      const decisions = await Promise.all(
        Array.from({ length: 100 }, () => h.limiter.consume('parallel', failures)),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      expect(
        decisions
          .filter((d) => d.allowed)
          .map((d) => d.remaining)
          .sort(),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('rejects a malformed rule instead of guessing', async () => {
      await expect(h.limiter.consume('k', { ...failures, limit: 0 })).rejects.toThrow(RangeError);
      await expect(h.limiter.peek('k', { ...failures, windowMs: 1.5 })).rejects.toThrow(RangeError);
      await expect(h.limiter.consume('k', { ...failures, name: 'a:b' })).rejects.toThrow(RangeError);
    });
  });
}
