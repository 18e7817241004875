import { SCOPES, type Principal, type Scope } from './principal';

/** A machine client of the OAuth issuer (§6): its client id is its id. */
export interface ServiceAccount {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Per scope, the collection glob patterns it is limited to; a missing scope means any collection. */
  readonly collections: Readonly<Partial<Record<Scope, readonly string[]>>>;
  readonly status: 'active' | 'suspended';
  readonly secretHash: string;
  readonly secretExpiresAt: Date;
  /** Requests per minute this account may make; null means the server default. */
  readonly rateLimitPerMinute: number | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastUsedAt: Date | null;
  /** Set for the accounts the roles use to call each other in split mode. */
  readonly internal: boolean;
}

export const DEFAULT_SECRET_TTL_DAYS = 90;
const DAY_MS = 86_400_000;

export function secretExpiry(from: Date, days = DEFAULT_SECRET_TTL_DAYS): Date {
  return new Date(from.getTime() + days * DAY_MS);
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** RFC 6749 §3.3: a space-delimited list; returns the unknown entries alongside the known ones. */
export function parseScopeList(text: string): { scopes: Scope[]; unknown: string[] } {
  const words = [...new Set(text.split(' ').filter((w) => w !== ''))];
  return { scopes: words.filter(isScope), unknown: words.filter((w) => !isScope(w)) };
}

/**
 * The scopes a token carries: everything granted when nothing is asked for, otherwise exactly the
 * asked-for scopes, which must all be granted (RFC 6749 §3.3: the server may not widen them).
 */
export function grantScopes(
  granted: readonly Scope[],
  requested: string | undefined,
): { scopes: Scope[] } | { refused: string[] } {
  if (requested === undefined || requested.trim() === '') return { scopes: [...granted] };
  const { scopes, unknown } = parseScopeList(requested);
  const refused = [...unknown, ...scopes.filter((s) => !granted.includes(s))];
  return refused.length > 0 ? { refused } : { scopes };
}

/** Why an account may not obtain a token now, or null when it may. */
export function accountBlocker(account: ServiceAccount, now: Date): 'suspended' | 'secret_expired' | null {
  if (account.status !== 'active') return 'suspended';
  if (account.secretExpiresAt.getTime() <= now.getTime()) return 'secret_expired';
  return null;
}

/** The storage elements' internal API is for the roles' own accounts only (§6). */
export const INTERNAL_SCOPES: readonly Scope[] = ['storage:read', 'storage:write'];

/**
 * The principal of a request made with one of this account's tokens: the token's scopes that the
 * account still holds, never an internal scope for an ordinary account, with its collection grants.
 */
export function servicePrincipal(account: ServiceAccount, tokenScopes: readonly Scope[]): Principal {
  const allowed = (s: Scope): boolean =>
    account.scopes.includes(s) && (account.internal || !INTERNAL_SCOPES.includes(s));
  const scopes = new Set(tokenScopes.filter(allowed));
  const collections: Partial<Record<Scope, readonly string[]>> = {};
  for (const scope of scopes) {
    const patterns = account.collections[scope];
    if (patterns) collections[scope] = patterns;
  }
  return { kind: 'service', subject: account.id, scopes, collections };
}
