import { SCOPES, type Principal, type Scope } from './principal';

/** People who use the UI (§6). A role is a fixed set of scopes; users get no per-collection limits. */
export const ROLES = ['admin', 'operator', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.freeze({
  admin: Object.freeze([...SCOPES]),
  operator: Object.freeze([
    'files:read',
    'files:write',
    'files:delete',
    'storage:read',
    'storage:write',
    'admin:read',
    'audit:read',
  ] as const),
  readonly: Object.freeze(['files:read', 'storage:read', 'admin:read'] as const),
});

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export interface User {
  readonly id: string;
  /** Lower-case, unique. */
  readonly username: string;
  readonly role: Role;
  readonly passwordHash: string;
  /** Consecutive failed logins since the last success or the last lock. */
  readonly failedLogins: number;
  readonly lockedUntil: Date | null;
  readonly passwordChangedAt: Date;
  readonly lastLoginAt: Date | null;
  readonly lastLoginSource: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Optimistic concurrency: every stored change increments it. */
  readonly version: number;
}

const USERNAME = /^[a-z0-9._-]{3,64}$/u;

/** The stored form of a username, or null when it cannot be one (3–64 of `[a-z0-9._-]`). */
export function normalizeUsername(raw: string): string | null {
  const lower = raw.toLowerCase();
  return USERNAME.test(lower) ? lower : null;
}

export function userPrincipal(user: Pick<User, 'id' | 'role'>): Principal {
  return { kind: 'user', subject: user.id, scopes: new Set(ROLE_SCOPES[user.role]), collections: {} };
}

// ---- password policy (NIST SP 800-63B §5.1.1.2: length first, a blocklist, no forced rotation) ----

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
/** Past this length a password needs no mix of character classes. */
export const PASSPHRASE_LENGTH = 16;

export type PasswordViolation = 'too_short' | 'too_long' | 'contains_username' | 'too_common' | 'too_simple';

/** Lower-cased; only entries of 12+ characters matter, shorter ones fail on length already. */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456789012',
  '1234567890123',
  '12345678901234',
  '123456789012345',
  '1234567890123456',
  '123123123123',
  '111111111111',
  '000000000000',
  '123qweasdzxc',
  '1q2w3e4r5t6y',
  '1qaz2wsx3edc',
  'qwertyuiopas',
  'qwertyuiop123',
  'qwerty123456',
  'qwerty12345678',
  'asdfghjkl123',
  'zxcvbnm12345',
  'password1234',
  'password12345',
  'password123!',
  'password2024',
  'password2025',
  'password2026',
  'passwordpassword',
  'p@ssw0rd1234',
  'p@ssword1234',
  'iloveyou1234',
  'letmein12345',
  'welcome12345',
  'welcome@1234',
  'changeme1234',
  'administrator',
  'administrator1',
  'admin1234567',
  'adminadmin12',
  'football1234',
  'baseball1234',
  'sunshine1234',
  'princess1234',
  'trustno1trustno1',
  'abcdefghijkl',
  'abc123abc123',
  'aaaaaaaaaaaa',
  'monkey123456',
  'dragon123456',
  'superman1234',
  'starwars1234',
  'correcthorsebatterystaple',
]);

function characterClasses(password: string): number {
  const classes = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u];
  return classes.filter((c) => c.test(password)).length;
}

/** Every rule the password breaks; empty when it may be used. Length counts code points. */
export function passwordViolations(password: string, username: string): PasswordViolation[] {
  const length = [...password].length;
  const lower = password.toLowerCase();
  const violations: PasswordViolation[] = [];
  if (length < PASSWORD_MIN_LENGTH) violations.push('too_short');
  if (length > PASSWORD_MAX_LENGTH) violations.push('too_long');
  if (username !== '' && lower.includes(username.toLowerCase())) violations.push('contains_username');
  if (COMMON_PASSWORDS.has(lower)) violations.push('too_common');
  if (length < PASSPHRASE_LENGTH && characterClasses(password) < 3) violations.push('too_simple');
  return violations;
}

// ---- lockout (OWASP Authentication Cheat Sheet: account lockout) ----

export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = Object.freeze({ maxFailures: 5, lockMs: 15 * 60_000 });

export type LoginCounters = Pick<User, 'failedLogins' | 'lockedUntil'>;

/** Milliseconds until the account may try again; 0 when it is not locked. */
export function lockRemainingMs(user: LoginCounters, now: Date): number {
  return user.lockedUntil ? Math.max(0, user.lockedUntil.getTime() - now.getTime()) : 0;
}

/**
 * The counters after a failed login. The failure that reaches the limit locks the account and
 * starts a new count, so every run of `maxFailures` failures earns another lock.
 */
export function afterFailedLogin(
  user: LoginCounters,
  now: Date,
  policy: LockoutPolicy = DEFAULT_LOCKOUT,
): LoginCounters {
  const failures = user.failedLogins + 1;
  return failures >= policy.maxFailures
    ? { failedLogins: 0, lockedUntil: new Date(now.getTime() + policy.lockMs) }
    : { failedLogins: failures, lockedUntil: user.lockedUntil };
}

export const AFTER_SUCCESSFUL_LOGIN: LoginCounters = Object.freeze({ failedLogins: 0, lockedUntil: null });
