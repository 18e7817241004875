import type { RateDecision, RateRule } from '../ports/rate-limiter';

const MINUTE = 60_000;

/** Failed client authentications at the token endpoint, per (client_id, source IP). */
export const TOKEN_FAILURES: RateRule = Object.freeze({
  name: 'token-failures',
  limit: 10,
  windowMs: MINUTE,
});

/** Failed logins, per (username, source IP). */
export const LOGIN_FAILURES: RateRule = Object.freeze({
  name: 'login-failures',
  limit: 10,
  windowMs: MINUTE,
});

/** Requests per authenticated account (a default until it becomes configurable). */
export const ACCOUNT_REQUESTS: RateRule = Object.freeze({
  name: 'account-requests',
  limit: 6000,
  windowMs: MINUTE,
});

/**
 * Each part is URI-encoded so no two different tuples give the same key (a username may contain
 * ':'). Normalising a case-insensitive username is the caller's job: it must pass the form it
 * looks the account up by, or an attacker gets a fresh budget per spelling.
 */
export function rateKey(...parts: readonly string[]): string {
  // encodeURIComponent throws on a lone surrogate (JSON may carry one): those become `%uXXXX`,
  // which its own output never contains ('%' is encoded), so keys stay distinct.
  return parts
    .map((part) =>
      part
        .split(/(\p{Surrogate})/u)
        .map((piece, i) =>
          i % 2 === 1 ? `%u${piece.charCodeAt(0).toString(16)}` : encodeURIComponent(piece),
        )
        .join(''),
    )
    .join(':');
}

export const tokenFailureKey = (clientId: string, sourceIp: string): string => rateKey(clientId, sourceIp);
export const loginFailureKey = (username: string, sourceIp: string): string => rateKey(username, sourceIp);
export const accountRequestKey = (accountId: string): string => rateKey(accountId);

/** The Retry-After value in whole seconds (RFC 9110 §10.2.3), never 0 for a refusal. */
export function retryAfterSeconds(decision: RateDecision): number {
  return decision.allowed ? 0 : Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
}

/** Adapters call this so a bad rule fails loudly instead of allowing everything or nothing. */
export function checkRateRule(rule: RateRule): void {
  const { name, limit, windowMs } = rule;
  if (!/^[\w.-]+$/u.test(name)) throw new RangeError(`rate rule name '${name}' must match [\\w.-]+`);
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`rate rule '${name}': limit must be a positive integer`);
  if (!Number.isSafeInteger(windowMs) || windowMs < 1)
    throw new RangeError(`rate rule '${name}': windowMs must be a positive integer`);
}
