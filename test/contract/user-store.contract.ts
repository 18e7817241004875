import { v7 } from 'uuid';
import type { Session, SessionStore, UserStore } from '../../src/application/ports/user-store';
import type { User } from '../../src/domain/access/user';
import { InvalidCursor } from '../../src/adapters/memory/cursor';
import { T0 } from '../support/builders';

export interface UserStoreHarness {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  cleanup(): Promise<void>;
}

const at = (offsetMs: number): Date => new Date(T0.getTime() + offsetMs);
const HOUR = 3_600_000;

function aUser(username: string, overrides: Partial<User> = {}): User {
  return {
    id: v7(),
    username,
    role: 'operator',
    passwordHash: `scrypt$1024$8$1$salt$key-${username}`,
    failedLogins: 0,
    lockedUntil: null,
    passwordChangedAt: at(0),
    lastLoginAt: null,
    lastLoginSource: null,
    createdAt: at(0),
    updatedAt: at(0),
    version: 1,
    ...overrides,
  };
}

let hashes = 0;
function aSession(user: User, overrides: Partial<Session> = {}): Session {
  hashes += 1;
  return {
    id: v7(),
    userId: user.id,
    familyId: v7(),
    tokenHash: hashes.toString(16).padStart(64, '0'),
    createdAt: at(0),
    expiresAt: at(12 * HOUR),
    rotatedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

export function describeUserStoreContract(name: string, open: () => Promise<UserStoreHarness>): void {
  describe(`UserStore and SessionStore contract: ${name}`, () => {
    let h: UserStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    describe('users', () => {
      it('round-trips every field, by id and by username', async () => {
        const user = aUser('alice', {
          failedLogins: 3,
          lockedUntil: at(900_123),
          lastLoginAt: at(5),
          lastLoginSource: '192.0.2.7',
          role: 'admin',
        });
        await h.users.insert(user);
        await expect(h.users.get(user.id)).resolves.toEqual(user);
        await expect(h.users.getByUsername('alice')).resolves.toEqual(user);
      });

      it('answers null for an unknown id, an id that is no UUID and an unknown username', async () => {
        await expect(h.users.get(v7())).resolves.toBeNull();
        await expect(h.users.get('not-a-uuid')).resolves.toBeNull();
        await expect(h.users.getByUsername('nobody')).resolves.toBeNull();
      });

      it('finds a username whatever its case and refuses a duplicate in another case', async () => {
        const alice = aUser('alice');
        await h.users.insert(alice);
        await expect(h.users.getByUsername('ALICE')).resolves.toEqual(alice);
        await expect(h.users.insert(aUser('Alice'))).rejects.toMatchObject({ code: 'conflict' });
        await expect(h.users.insert(aUser('alice'))).rejects.toMatchObject({ code: 'conflict' });
      });

      it('refuses a duplicate id', async () => {
        const alice = aUser('alice');
        await h.users.insert(alice);
        await expect(h.users.insert({ ...alice, username: 'bob' })).rejects.toMatchObject({
          code: 'conflict',
        });
      });

      it('lists by username in code-point order, page by page', async () => {
        for (const name of ['carol', 'a.b', 'a-b', 'a_b', 'bob', '0ne']) await h.users.insert(aUser(name));
        const first = await h.users.list({ cursor: null, limit: 4 });
        expect(first.items.map((u) => u.username)).toEqual(['0ne', 'a-b', 'a.b', 'a_b']);
        expect(first.nextCursor).not.toBeNull();
        const second = await h.users.list({ cursor: first.nextCursor, limit: 4 });
        expect(second.items.map((u) => u.username)).toEqual(['bob', 'carol']);
        expect(second.nextCursor).toBeNull();
      });

      // Found by the malformed-input campaign: '!AL2T' decoded to text with a NUL, which PostgreSQL
      // refused at the protocol level (answered 503). A cursor is checked like every other store's.
      it('refuses a cursor it did not issue', async () => {
        await h.users.insert(aUser('alice'));
        for (const cursor of ['!AL2T', 'AA', Buffer.from('a\u0000b').toString('base64url')]) {
          await expect(h.users.list({ cursor, limit: 2 })).rejects.toBeInstanceOf(InvalidCursor);
        }
      });

      it('lists nothing without users and gives no cursor for an exactly full page', async () => {
        await expect(h.users.list({ cursor: null, limit: 2 })).resolves.toEqual({
          items: [],
          nextCursor: null,
        });
        await h.users.insert(aUser('alice'));
        await h.users.insert(aUser('bob'));
        expect((await h.users.list({ cursor: null, limit: 2 })).nextCursor).toBeNull();
      });

      it('updates when the version matches and bumps it; id, username and createdAt stay', async () => {
        const user = aUser('alice');
        await h.users.insert(user);
        const changed = {
          ...user,
          username: 'mallory',
          createdAt: at(99),
          role: 'readonly' as const,
          passwordHash: 'other',
          failedLogins: 2,
          lockedUntil: at(1000),
          updatedAt: at(2000),
        };
        const stored = await h.users.update(changed, 1);
        expect(stored).toEqual({ ...changed, username: 'alice', createdAt: at(0), version: 2 });
        await expect(h.users.get(user.id)).resolves.toEqual(stored);
      });

      it('refuses an update from a stale version or of a missing user', async () => {
        const user = aUser('alice');
        await h.users.insert(user);
        await h.users.update({ ...user, failedLogins: 1 }, 1);
        await expect(h.users.update({ ...user, failedLogins: 9 }, 1)).resolves.toBeNull();
        expect((await h.users.get(user.id))?.failedLogins).toBe(1);
        await expect(h.users.update(aUser('ghost'), 1)).resolves.toBeNull();
      });

      it('lets exactly one of two concurrent updates from the same version win', async () => {
        const user = aUser('alice');
        await h.users.insert(user);
        const results = await Promise.all([
          h.users.update({ ...user, failedLogins: 1 }, 1),
          h.users.update({ ...user, failedLogins: 2 }, 1),
        ]);
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('deletes a user with its sessions', async () => {
        const user = aUser('alice');
        await h.users.insert(user);
        const session = aSession(user);
        await h.sessions.insert(session);
        await expect(h.users.delete(user.id)).resolves.toBe(true);
        await expect(h.users.get(user.id)).resolves.toBeNull();
        await expect(h.sessions.findByTokenHash(session.tokenHash)).resolves.toBeNull();
        await expect(h.users.delete(user.id)).resolves.toBe(false);
        await expect(h.users.insert(aUser('alice'))).resolves.toBeUndefined();
      });
    });

    describe('sessions', () => {
      let user: User;
      beforeEach(async () => {
        user = aUser('alice');
        await h.users.insert(user);
      });

      it('round-trips a session by its token hash', async () => {
        const session = aSession(user, { createdAt: at(7), expiresAt: at(HOUR + 3) });
        await h.sessions.insert(session);
        await expect(h.sessions.findByTokenHash(session.tokenHash)).resolves.toEqual(session);
        await expect(h.sessions.findByTokenHash('f'.repeat(64))).resolves.toBeNull();
      });

      it('refuses a duplicate token hash', async () => {
        const session = aSession(user);
        await h.sessions.insert(session);
        await expect(
          h.sessions.insert(aSession(user, { tokenHash: session.tokenHash })),
        ).rejects.toMatchObject({
          code: 'conflict',
        });
      });

      it('rotates once: marks the current session and stores the next in the family', async () => {
        const current = aSession(user);
        await h.sessions.insert(current);
        const next = aSession(user, { familyId: current.familyId, createdAt: at(60_000) });
        await expect(h.sessions.rotate(current.id, next, at(60_000))).resolves.toBe(true);
        await expect(h.sessions.findByTokenHash(current.tokenHash)).resolves.toEqual({
          ...current,
          rotatedAt: at(60_000),
        });
        await expect(h.sessions.findByTokenHash(next.tokenHash)).resolves.toEqual(next);
        const again = aSession(user, { familyId: current.familyId });
        await expect(h.sessions.rotate(current.id, again, at(70_000))).resolves.toBe(false);
        await expect(h.sessions.findByTokenHash(again.tokenHash)).resolves.toBeNull();
      });

      it('does not rotate a revoked session', async () => {
        const current = aSession(user);
        await h.sessions.insert(current);
        await h.sessions.revokeFamily(current.familyId, at(1));
        const next = aSession(user, { familyId: current.familyId });
        await expect(h.sessions.rotate(current.id, next, at(2))).resolves.toBe(false);
        await expect(h.sessions.findByTokenHash(next.tokenHash)).resolves.toBeNull();
      });

      it('lets at most one of concurrent rotations of the same session succeed', async () => {
        const current = aSession(user);
        await h.sessions.insert(current);
        const nexts = Array.from({ length: 5 }, () => aSession(user, { familyId: current.familyId }));
        const won = await Promise.all(nexts.map((n) => h.sessions.rotate(current.id, n, at(1))));
        expect(won.filter(Boolean)).toHaveLength(1);
        const stored = await Promise.all(nexts.map((n) => h.sessions.findByTokenHash(n.tokenHash)));
        expect(stored.filter((s) => s !== null)).toHaveLength(1);
      });

      it('revokes a whole family and nothing else, counting only sessions not yet revoked', async () => {
        const first = aSession(user);
        const second = aSession(user, { familyId: first.familyId, rotatedAt: at(5) });
        const other = aSession(user);
        for (const s of [first, second, other]) await h.sessions.insert(s);
        await expect(h.sessions.revokeFamily(first.familyId, at(10))).resolves.toBe(2);
        await expect(h.sessions.revokeFamily(first.familyId, at(20))).resolves.toBe(0);
        expect((await h.sessions.findByTokenHash(first.tokenHash))?.revokedAt).toEqual(at(10));
        expect((await h.sessions.findByTokenHash(second.tokenHash))?.revokedAt).toEqual(at(10));
        expect((await h.sessions.findByTokenHash(other.tokenHash))?.revokedAt).toBeNull();
      });

      it("revokes a user's sessions, optionally sparing one family, and no one else's", async () => {
        const bob = aUser('bob');
        await h.users.insert(bob);
        const kept = aSession(user);
        const ended = aSession(user);
        const bobs = aSession(bob);
        for (const s of [kept, ended, bobs]) await h.sessions.insert(s);
        await expect(h.sessions.revokeUser(user.id, at(10), kept.familyId)).resolves.toBe(1);
        expect((await h.sessions.findByTokenHash(kept.tokenHash))?.revokedAt).toBeNull();
        expect((await h.sessions.findByTokenHash(ended.tokenHash))?.revokedAt).toEqual(at(10));
        await expect(h.sessions.revokeUser(user.id, at(20))).resolves.toBe(1);
        expect((await h.sessions.findByTokenHash(bobs.tokenHash))?.revokedAt).toBeNull();
      });

      it('deletes the sessions whose family has ended', async () => {
        const ended = aSession(user, { expiresAt: at(HOUR) });
        const live = aSession(user, { expiresAt: at(HOUR + 1) });
        for (const s of [ended, live]) await h.sessions.insert(s);
        await expect(h.sessions.deleteExpired(at(HOUR))).resolves.toBe(1);
        await expect(h.sessions.findByTokenHash(ended.tokenHash)).resolves.toBeNull();
        await expect(h.sessions.findByTokenHash(live.tokenHash)).resolves.toEqual(live);
      });
    });
  });
}
