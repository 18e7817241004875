import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { AuditTrail } from '../../../src/application/audit/audit-trail';
import { createHash } from 'node:crypto';
import { ScryptSecretHasher } from '../../../src/adapters/auth/scrypt-secret-hasher';
import { MemorySessionStore, MemoryUserStore } from '../../../src/adapters/memory/memory-user-store';
import { Users, type UserGrant } from '../../../src/application/identity/users';
import type { SecretHasher } from '../../../src/application/ports/secret-hasher';
import type { Principal } from '../../../src/domain/access/principal';
import { ROLE_SCOPES, userPrincipal } from '../../../src/domain/access/user';
import { FixedClock, SequenceIds, aPrincipal } from '../../support/builders';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PASSWORD = 'Correct-Horse-42';
const OTHER_PASSWORD = 'Another-Secret-77';

/** The real hasher at test cost, counting burns. */
class CountingHasher implements SecretHasher {
  private readonly inner = new ScryptSecretHasher({ N: 2 ** 10, r: 8, p: 1 });
  burns = 0;
  hash = (secret: string) => this.inner.hash(secret);
  verify = (secret: string, encoded: string) => this.inner.verify(secret, encoded);
  burn = async (secret: string) => {
    this.burns += 1;
    await this.inner.burn(secret);
  };
}

const ADMIN: Principal = aPrincipal({ kind: 'user', subject: 'admin-id' });
const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

function setup() {
  const clock = new FixedClock();
  const sessions = new MemorySessionStore();
  const users = new MemoryUserStore(sessions);
  const hasher = new CountingHasher();
  const service = new Users(
    users,
    sessions,
    hasher,
    clock,
    new SequenceIds(),
    new AuditTrail(new MemoryAuditLog(clock)),
  );
  const alice = () => service.createUser(ADMIN, { username: 'Alice', password: PASSWORD, role: 'operator' });
  return { clock, sessions, users, hasher, service, alice };
}

type Setup = ReturnType<typeof setup>;

async function failLogins(s: Setup, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    await expect(s.service.login('alice', 'wrong-password-1', '192.0.2.1')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
  }
}

async function expectInvalidGrant(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code: 'invalid_grant' });
}

describe('managing users', () => {
  it('creates a user with a lower-cased username and answers no password hash', async () => {
    const s = setup();
    const user = await s.alice();
    expect(user).toMatchObject({ username: 'alice', role: 'operator', failedLogins: 0, lockedUntil: null });
    expect(user).not.toHaveProperty('passwordHash');
    expect(JSON.stringify(user)).not.toContain('scrypt');
    await expect(s.service.getUser(ADMIN, user.id)).resolves.toEqual(user);
    const page = await s.service.listUsers(ADMIN, { cursor: null, limit: 10 });
    expect(page.items).toEqual([user]);
    expect(page.items[0]).not.toHaveProperty('passwordHash');
  });

  it('refuses a second user of the same username in any case', async () => {
    const s = setup();
    await s.alice();
    await expect(
      s.service.createUser(ADMIN, { username: 'ALICE', password: OTHER_PASSWORD, role: 'readonly' }),
    ).rejects.toMatchObject({ code: 'conflict' });
  });

  it.each([
    [{ username: 'a', password: PASSWORD, role: 'admin' }, 'invalid_request'],
    [{ username: 'bob', password: PASSWORD, role: 'root' }, 'invalid_request'],
    [{ username: 'bob', password: 'short', role: 'admin' }, 'weak_password'],
    [{ username: 'bob', password: 'Bob-is-great-1', role: 'admin' }, 'weak_password'],
  ])('refuses %j with %s', async (input, code) => {
    await expect(setup().service.createUser(ADMIN, input)).rejects.toMatchObject({ code });
  });

  it('lists the password policy violations', async () => {
    await expect(
      setup().service.createUser(ADMIN, { username: 'bob', password: 'password1234', role: 'admin' }),
    ).rejects.toMatchObject({ code: 'weak_password', details: { violations: ['too_common', 'too_simple'] } });
  });

  it('refuses callers without admin:write or admin:read', async () => {
    const s = setup();
    const user = await s.alice();
    const operator = userPrincipal({ id: 'op', role: 'operator' });
    const nobody = aPrincipal({ scopes: new Set() });
    const forbidden = { code: 'forbidden', details: { scope: 'admin:write' } };
    await expect(
      s.service.createUser(operator, { username: 'bob', password: PASSWORD, role: 'admin' }),
    ).rejects.toMatchObject(forbidden);
    await expect(s.service.changeRole(operator, user.id, 'admin')).rejects.toMatchObject(forbidden);
    await expect(s.service.resetPassword(operator, user.id, OTHER_PASSWORD)).rejects.toMatchObject(forbidden);
    await expect(s.service.deleteUser(operator, user.id)).rejects.toMatchObject(forbidden);
    await expect(s.service.getUser(nobody, user.id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(s.service.listUsers(nobody, { cursor: null, limit: 1 })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(s.service.getUser(operator, user.id)).resolves.toMatchObject({ username: 'alice' });
  });

  it('changes a role; the next refresh carries the new scopes', async () => {
    const s = setup();
    const user = await s.alice();
    const grant = await s.service.login('alice', PASSWORD, 'ui');
    await expect(s.service.changeRole(ADMIN, user.id, 'readonly')).resolves.toMatchObject({
      role: 'readonly',
    });
    const refreshed = await s.service.refresh(grant.refreshToken);
    expect(refreshed.scopes).toEqual([...ROLE_SCOPES.readonly]);
  });

  it('keeps an admin from demoting or deleting themselves', async () => {
    const s = setup();
    const self = await s.service.createUser(ADMIN, { username: 'root', password: PASSWORD, role: 'admin' });
    const me = userPrincipal(self);
    await expect(s.service.changeRole(me, self.id, 'operator')).rejects.toMatchObject({ code: 'conflict' });
    await expect(s.service.deleteUser(me, self.id)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('deletes a user and their sessions; an unknown user is user_not_found', async () => {
    const s = setup();
    const user = await s.alice();
    const grant = await s.service.login('alice', PASSWORD, 'ui');
    await s.service.deleteUser(ADMIN, user.id);
    await expect(s.service.getUser(ADMIN, user.id)).rejects.toMatchObject({ code: 'user_not_found' });
    await expectInvalidGrant(s.service.refresh(grant.refreshToken));
    await expect(s.service.deleteUser(ADMIN, user.id)).rejects.toMatchObject({ code: 'user_not_found' });
    await expect(s.service.changeRole(ADMIN, 'nope', 'admin')).rejects.toMatchObject({
      code: 'user_not_found',
    });
  });
});

describe('login', () => {
  it('answers what the access-token signer needs and a refresh token stored only as a hash', async () => {
    const s = setup();
    const user = await s.alice();
    const grant = await s.service.login('ALICE', PASSWORD, '192.0.2.1');
    expect(grant).toMatchObject({
      kind: 'user',
      subject: user.id,
      scopes: [...ROLE_SCOPES.operator],
      user: { id: user.id, username: 'alice', lastLoginAt: s.clock.now(), lastLoginSource: '192.0.2.1' },
      refreshExpiresAt: new Date(s.clock.now().getTime() + 12 * HOUR),
    });
    expect(grant.user).not.toHaveProperty('passwordHash');
    expect(grant.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    const stored = await s.sessions.findByTokenHash(hashOf(grant.refreshToken));
    expect(stored).toMatchObject({
      userId: user.id,
      familyId: grant.sessionId,
      rotatedAt: null,
      revokedAt: null,
    });
  });

  it('answers a wrong password and an unknown user alike, burning a hash for the unknown one', async () => {
    const s = setup();
    await s.alice();
    const wrong = await s.service.login('alice', 'not-the-password', 'x').catch((e: unknown) => e);
    const unknown = await s.service.login('mallory', PASSWORD, 'x').catch((e: unknown) => e);
    const invalid = await s.service.login('no such name!', PASSWORD, 'x').catch((e: unknown) => e);
    for (const error of [wrong, unknown, invalid]) {
      expect(error).toMatchObject({ code: 'invalid_credentials', message: 'wrong username or password' });
    }
    expect(s.hasher.burns).toBe(2);
  });

  it('locks after 5 consecutive failures, refuses even the right password, unlocks after 15 minutes', async () => {
    const s = setup();
    await s.alice();
    await failLogins(s, 5);
    await expect(s.service.login('alice', PASSWORD, 'x')).rejects.toMatchObject({
      code: 'account_locked',
      details: { retry_after: 900 },
    });
    s.clock.advance(14 * MIN + 30_000);
    await expect(s.service.login('alice', PASSWORD, 'x')).rejects.toMatchObject({
      code: 'account_locked',
      details: { retry_after: 30 },
    });
    s.clock.advance(30_000);
    await expect(s.service.login('alice', PASSWORD, 'x')).resolves.toMatchObject({
      user: { failedLogins: 0, lockedUntil: null },
    });
  });

  it('counts only consecutive failures: a success resets the count', async () => {
    const s = setup();
    await s.alice();
    await failLogins(s, 4);
    await s.service.login('alice', PASSWORD, 'x');
    await failLogins(s, 4);
    await expect(s.service.login('alice', PASSWORD, 'x')).resolves.toMatchObject({ kind: 'user' });
  });

  it('counts concurrent failures without losing any', async () => {
    const s = setup();
    const user = await s.alice();
    await Promise.all(
      Array.from({ length: 3 }, () =>
        s.service.login('alice', 'wrong-password-1', 'x').catch(() => undefined),
      ),
    );
    await expect(s.users.get(user.id)).resolves.toMatchObject({ failedLogins: 3 });
  });
});

describe('refresh tokens', () => {
  async function loggedIn(): Promise<Setup & { grant: UserGrant }> {
    const s = setup();
    await s.alice();
    return { ...s, grant: await s.service.login('alice', PASSWORD, 'x') };
  }

  it('rotate: a refresh answers a new token in the same family, and the old one is spent', async () => {
    const s = await loggedIn();
    s.clock.advance(10 * MIN);
    const next = await s.service.refresh(s.grant.refreshToken);
    expect(next.refreshToken).not.toBe(s.grant.refreshToken);
    expect(next).toMatchObject({
      subject: s.grant.subject,
      sessionId: s.grant.sessionId,
      refreshExpiresAt: s.grant.refreshExpiresAt,
    });
    await expect(s.sessions.findByTokenHash(hashOf(s.grant.refreshToken))).resolves.toMatchObject({
      rotatedAt: s.clock.now(),
    });
    await expect(s.service.refresh(next.refreshToken)).resolves.toMatchObject({ kind: 'user' });
  });

  it('reuse of a rotated token revokes the whole family', async () => {
    const s = await loggedIn();
    const next = await s.service.refresh(s.grant.refreshToken);
    await expectInvalidGrant(s.service.refresh(s.grant.refreshToken));
    await expectInvalidGrant(s.service.refresh(next.refreshToken));
    await expect(s.sessions.findByTokenHash(hashOf(next.refreshToken))).resolves.toMatchObject({
      revokedAt: s.clock.now(),
    });
  });

  it('lets one of two concurrent refreshes of a token win; the loser counts as reuse', async () => {
    const s = await loggedIn();
    const results = await Promise.allSettled([
      s.service.refresh(s.grant.refreshToken),
      s.service.refresh(s.grant.refreshToken),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'invalid_grant' } });
  });

  it('ends with the family: 12 hours after login, however often it was rotated', async () => {
    const s = await loggedIn();
    s.clock.advance(11 * HOUR);
    const next = await s.service.refresh(s.grant.refreshToken);
    s.clock.advance(HOUR);
    await expectInvalidGrant(s.service.refresh(next.refreshToken));
    await expect(s.service.pruneSessions()).resolves.toBe(2);
  });

  it('refuses tokens it never issued', async () => {
    const s = await loggedIn();
    await expectInvalidGrant(s.service.refresh('A'.repeat(43)));
    await expectInvalidGrant(s.service.refresh('not a token'));
    await expectInvalidGrant(s.service.refresh(''));
  });

  it('logout revokes the family server-side and is idempotent', async () => {
    const s = await loggedIn();
    const next = await s.service.refresh(s.grant.refreshToken);
    const other = await s.service.login('alice', PASSWORD, 'x');
    await s.service.logout(next.refreshToken);
    await expectInvalidGrant(s.service.refresh(next.refreshToken));
    await expect(s.service.logout(next.refreshToken)).resolves.toBeUndefined();
    await expect(s.service.logout('garbage')).resolves.toBeUndefined();
    await expect(s.service.refresh(other.refreshToken)).resolves.toMatchObject({ kind: 'user' });
  });
});

describe('passwords', () => {
  it('an admin reset sets the password, unlocks the account and ends every session', async () => {
    const s = setup();
    const user = await s.alice();
    const grant = await s.service.login('alice', PASSWORD, 'x');
    await failLogins(s, 5);
    await expect(s.service.resetPassword(ADMIN, user.id, OTHER_PASSWORD)).resolves.toMatchObject({
      lockedUntil: null,
      failedLogins: 0,
    });
    await expectInvalidGrant(s.service.refresh(grant.refreshToken));
    await expect(s.service.login('alice', PASSWORD, 'x')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    await expect(s.service.login('alice', OTHER_PASSWORD, 'x')).resolves.toMatchObject({ kind: 'user' });
  });

  it('an admin reset obeys the policy', async () => {
    const s = setup();
    const user = await s.alice();
    await expect(s.service.resetPassword(ADMIN, user.id, 'alice-alice-alice')).rejects.toMatchObject({
      code: 'weak_password',
      details: { violations: ['contains_username'] },
    });
  });

  it('changing one’s own password needs the old one and ends the other sessions only', async () => {
    const s = setup();
    const user = await s.alice();
    const mine = await s.service.login('alice', PASSWORD, 'x');
    const elsewhere = await s.service.login('alice', PASSWORD, 'y');
    const me = userPrincipal(user);
    await expect(s.service.changeOwnPassword(me, 'wrong-password-1', OTHER_PASSWORD)).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    await expect(s.service.changeOwnPassword(me, PASSWORD, PASSWORD)).rejects.toMatchObject({
      code: 'weak_password',
    });
    await s.service.changeOwnPassword(me, PASSWORD, OTHER_PASSWORD, mine.sessionId);
    await expect(s.service.refresh(mine.refreshToken)).resolves.toMatchObject({ kind: 'user' });
    await expectInvalidGrant(s.service.refresh(elsewhere.refreshToken));
    await expect(s.service.login('alice', OTHER_PASSWORD, 'x')).resolves.toMatchObject({ kind: 'user' });
  });

  it('a wrong old password counts towards the lockout; only users have a password', async () => {
    const s = setup();
    const user = await s.alice();
    const me = userPrincipal(user);
    for (let i = 0; i < 5; i += 1) {
      await expect(s.service.changeOwnPassword(me, 'wrong-password-1', OTHER_PASSWORD)).rejects.toMatchObject(
        {
          code: 'invalid_credentials',
        },
      );
    }
    await expect(s.service.changeOwnPassword(me, PASSWORD, OTHER_PASSWORD)).rejects.toMatchObject({
      code: 'account_locked',
    });
    await expect(
      s.service.changeOwnPassword(aPrincipal({ subject: user.id }), PASSWORD, OTHER_PASSWORD),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });
});
