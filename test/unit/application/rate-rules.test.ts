import {
  ACCOUNT_REQUESTS,
  LOGIN_FAILURES,
  TOKEN_FAILURES,
  checkRateRule,
  loginFailureKey,
  rateKey,
  retryAfterSeconds,
  tokenFailureKey,
} from '../../../src/application/identity/rate-rules';

describe('rate rules', () => {
  it('limits token and login failures to 10 a minute and accounts to 6000 requests a minute', () => {
    expect(TOKEN_FAILURES).toEqual({ name: 'token-failures', limit: 10, windowMs: 60_000 });
    expect(LOGIN_FAILURES).toEqual({ name: 'login-failures', limit: 10, windowMs: 60_000 });
    expect(ACCOUNT_REQUESTS).toEqual({ name: 'account-requests', limit: 6000, windowMs: 60_000 });
    for (const rule of [TOKEN_FAILURES, LOGIN_FAILURES, ACCOUNT_REQUESTS]) {
      expect(() => checkRateRule(rule)).not.toThrow();
      expect(Object.isFrozen(rule)).toBe(true);
    }
  });

  it('builds keys no two different tuples share', () => {
    expect(loginFailureKey('a:b', 'c')).not.toBe(loginFailureKey('a', 'b:c'));
    expect(tokenFailureKey('client', '::1')).toBe('client:%3A%3A1');
    expect(rateKey('x')).toBe('x');
  });

  // Found by the malformed-input campaign: a login whose JSON username held a lone surrogate
  // made encodeURIComponent throw, answered 500.
  it('keys a lone surrogate without throwing, apart from its replacement character', () => {
    expect(rateKey('a\ud800b', '1.2.3.4')).toBe('a%ud800b:1.2.3.4');
    expect(rateKey('\ud800')).not.toBe(rateKey('\ufffd'));
  });

  it('gives Retry-After in whole seconds, at least 1 for a refusal', () => {
    const refusal = (retryAfterMs: number) => ({
      allowed: false,
      remaining: 0,
      retryAfterMs,
      degraded: false,
    });
    expect(retryAfterSeconds(refusal(1))).toBe(1);
    expect(retryAfterSeconds(refusal(1000))).toBe(1);
    expect(retryAfterSeconds(refusal(1001))).toBe(2);
    expect(retryAfterSeconds(refusal(0))).toBe(1);
    expect(retryAfterSeconds({ allowed: true, remaining: 3, retryAfterMs: 0, degraded: false })).toBe(0);
  });

  it('rejects rules that would allow everything or nothing', () => {
    const ok = { name: 'r', limit: 1, windowMs: 1 };
    expect(() => checkRateRule(ok)).not.toThrow();
    for (const bad of [
      { ...ok, limit: 0 },
      { ...ok, limit: -1 },
      { ...ok, limit: Number.NaN },
      { ...ok, limit: Infinity },
      { ...ok, windowMs: 0 },
      { ...ok, windowMs: 0.5 },
      { ...ok, name: '' },
      { ...ok, name: 'has space' },
    ])
      expect(() => checkRateRule(bad)).toThrow(RangeError);
  });
});
