import { SCOPES } from '../../../src/domain/access/principal';
import {
  AFTER_SUCCESSFUL_LOGIN,
  ROLE_SCOPES,
  afterFailedLogin,
  isRole,
  lockRemainingMs,
  normalizeUsername,
  passwordViolations,
  userPrincipal,
  type LoginCounters,
} from '../../../src/domain/access/user';
import { T0 } from '../../support/builders';

const MIN = 60_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);

describe('roles', () => {
  it.each([
    ['admin', [...SCOPES]],
    [
      'operator',
      [
        'files:read',
        'files:write',
        'files:delete',
        'storage:read',
        'storage:write',
        'admin:read',
        'audit:read',
      ],
    ],
    ['readonly', ['files:read', 'storage:read', 'admin:read']],
  ] as const)('%s has exactly its scopes', (role, scopes) => {
    expect([...ROLE_SCOPES[role]].sort()).toEqual([...scopes].sort());
  });

  it('only admin may write admin state', () => {
    expect(ROLE_SCOPES.operator).not.toContain('admin:write');
    expect(ROLE_SCOPES.readonly).not.toContain('admin:write');
  });

  it('knows its roles and nothing else', () => {
    expect(['admin', 'operator', 'readonly'].every(isRole)).toBe(true);
    expect(isRole('root')).toBe(false);
    expect(isRole('Admin')).toBe(false);
  });

  it('makes a user principal from the role, limited to no collection', () => {
    const principal = userPrincipal({ id: 'u-1', role: 'readonly' });
    expect(principal).toEqual({
      kind: 'user',
      subject: 'u-1',
      scopes: new Set(['files:read', 'storage:read', 'admin:read']),
      collections: {},
    });
  });
});

describe('usernames', () => {
  it.each([
    ['alice', 'alice'],
    ['Alice.Smith', 'alice.smith'],
    ['ops_team-2', 'ops_team-2'],
    ['abc', 'abc'],
    ['a'.repeat(64), 'a'.repeat(64)],
    ['ab', null],
    ['a'.repeat(65), null],
    ['alice smith', null],
    ['alice@example.com', null],
    ['élise', null],
    ['', null],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeUsername(raw)).toBe(expected);
  });
});

describe('password policy', () => {
  it.each([
    ['Tr0ub4dor&3x', []],
    ['correct horse battery', []],
    ['alllowercaseletters', []],
    ['Short1!', ['too_short']],
    ['abcdefghijk', ['too_short', 'too_simple']],
    ['lowercase123', ['too_simple']],
    ['Lowercase123', []],
    ['lowercaseonly', ['too_simple']],
    ['x'.repeat(257), ['too_long']],
    ['X1!'.repeat(85) + 'x', []],
    ['my-alice-Secret-9', ['contains_username']],
    ['MY-ALICE-SECRET-9', ['contains_username']],
    ['Alice', ['too_short', 'contains_username', 'too_simple']],
    ['password1234', ['too_common', 'too_simple']],
    ['Password1234', ['too_common']],
    ['123456789012', ['too_common', 'too_simple']],
    ['qwertyuiopas', ['too_common', 'too_simple']],
    ['correcthorsebatterystaple', ['too_common']],
  ])('%j for user alice → %j', (password, violations) => {
    expect(passwordViolations(password, 'alice')).toEqual(violations);
  });

  it('counts characters, not UTF-16 units, and accepts any script', () => {
    expect(passwordViolations('пароль-Ключ-9', 'alice')).toEqual([]);
    expect(passwordViolations('😀'.repeat(11), 'alice')).toContain('too_short');
  });
});

describe('lockout', () => {
  const fresh: LoginCounters = AFTER_SUCCESSFUL_LOGIN;

  function fail(times: number, from: LoginCounters = fresh, when: Date = T0): LoginCounters {
    let state = from;
    for (let i = 0; i < times; i += 1) state = afterFailedLogin(state, when);
    return state;
  }

  it.each([
    [1, { failedLogins: 1, lockedUntil: null }],
    [4, { failedLogins: 4, lockedUntil: null }],
    [5, { failedLogins: 0, lockedUntil: at(15 * MIN) }],
  ])('after %i consecutive failures: %j', (times, expected) => {
    expect(fail(times)).toEqual(expected);
  });

  it.each([
    [0, 15 * MIN],
    [14 * MIN, MIN],
    [15 * MIN, 0],
    [16 * MIN, 0],
  ])('locked for 15 minutes: %i ms in, %i ms remain', (elapsed, remaining) => {
    expect(lockRemainingMs(fail(5), at(elapsed))).toBe(remaining);
  });

  it('an unlocked account has nothing remaining', () => {
    expect(lockRemainingMs(fresh, T0)).toBe(0);
    expect(lockRemainingMs(fail(4), T0)).toBe(0);
  });

  it('a success resets the count', () => {
    expect(AFTER_SUCCESSFUL_LOGIN).toEqual({ failedLogins: 0, lockedUntil: null });
  });

  it('after the lock ends, five more failures lock it again', () => {
    const unlockedAt = at(15 * MIN);
    expect(fail(4, fail(5), unlockedAt)).toEqual({ failedLogins: 4, lockedUntil: at(15 * MIN) });
    expect(fail(5, fail(5), unlockedAt)).toEqual({ failedLogins: 0, lockedUntil: at(30 * MIN) });
  });

  it('honours another policy', () => {
    expect(afterFailedLogin(fresh, T0, { maxFailures: 1, lockMs: 1000 })).toEqual({
      failedLogins: 0,
      lockedUntil: at(1000),
    });
  });
});
