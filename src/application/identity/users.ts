import { createHash, randomBytes } from 'node:crypto';
import type { Principal, Scope } from '../../domain/access/principal';
import {
  AFTER_SUCCESSFUL_LOGIN,
  DEFAULT_LOCKOUT,
  ROLE_SCOPES,
  afterFailedLogin,
  isRole,
  lockRemainingMs,
  normalizeUsername,
  passwordViolations,
  type LockoutPolicy,
  type Role,
  type User,
} from '../../domain/access/user';
import type { AuditTrail } from '../audit/audit-trail';
import { ApplicationError } from '../errors';
import type { Clock, IdGenerator } from '../ports/clock';
import type { Page } from '../ports/file-index';
import type { SecretHasher } from '../ports/secret-hasher';
import type { Session, SessionStore, UserStore } from '../ports/user-store';
import { requireScope } from '../shared/authorize';

/** What callers see of a user: never the password hash. */
export type UserView = Omit<User, 'passwordHash'>;

/**
 * What a login or refresh hands to the access-token signer (subject, scopes, kind) and to the
 * client (refresh token). `sessionId` names the token family, e.g. for a `sid` claim.
 */
export interface UserGrant {
  readonly user: UserView;
  readonly kind: 'user';
  readonly subject: string;
  readonly scopes: readonly Scope[];
  readonly sessionId: string;
  readonly refreshToken: string;
  readonly refreshExpiresAt: Date;
}

export interface UserPolicy {
  /** Absolute lifetime of a login's refresh-token family (default 12 h). */
  readonly refreshTtlMs: number;
  readonly lockout: LockoutPolicy;
}

export const DEFAULT_USER_POLICY: UserPolicy = Object.freeze({
  refreshTtlMs: 12 * 3_600_000,
  lockout: DEFAULT_LOCKOUT,
});

const view = ({ passwordHash: _hidden, ...rest }: User): UserView => rest;
const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/u;
/** Lost optimistic updates are retried this often before the use case gives up. */
const UPDATE_ATTEMPTS = 5;
const BAD_CREDENTIALS = 'wrong username or password';

/** Users (people) and their sessions (§6): admin management, login, refresh rotation, logout. */
export class Users {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly audit: AuditTrail,
    private readonly policy: UserPolicy = DEFAULT_USER_POLICY,
  ) {}

  async createUser(
    principal: Principal,
    input: { username: string; password: string; role: string },
  ): Promise<UserView> {
    requireScope(principal, 'admin:write');
    const username = normalizeUsername(input.username);
    if (username === null) {
      throw new ApplicationError('invalid_request', 'a username is 3 to 64 of a-z, 0-9, ".", "_" and "-"', {
        field: 'username',
      });
    }
    const role = checkRole(input.role);
    checkPassword(input.password, username, 'password');
    const now = this.clock.now();
    const user: User = {
      id: this.ids.fileId(),
      username,
      role,
      passwordHash: await this.hasher.hash(input.password),
      ...AFTER_SUCCESSFUL_LOGIN,
      passwordChangedAt: now,
      lastLoginAt: null,
      lastLoginSource: null,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    await this.users.insert(user);
    await this.audit.record(principal, 'user.created', 'success', {
      target: user.id,
      details: { username, role },
    });
    return view(user);
  }

  async listUsers(
    principal: Principal,
    options: { cursor: string | null; limit: number },
  ): Promise<Page<UserView>> {
    requireScope(principal, 'admin:read');
    const page = await this.users.list(options);
    return { items: page.items.map(view), nextCursor: page.nextCursor };
  }

  async getUser(principal: Principal, id: string): Promise<UserView> {
    requireScope(principal, 'admin:read');
    return view(await this.existing(id));
  }

  async changeRole(principal: Principal, id: string, role: string): Promise<UserView> {
    requireScope(principal, 'admin:write');
    const next = checkRole(role);
    if (id === principal.subject && next !== 'admin') {
      throw new ApplicationError('conflict', 'an admin cannot demote themselves');
    }
    // Tokens already issued are narrowed to the new role at once (ResolvePrincipal reads it).
    const changed = view(await this.change(id, () => ({ role: next })));
    await this.audit.record(principal, 'user.changed', 'success', { target: id, details: { role: next } });
    return changed;
  }

  /** Sets a password chosen by an admin, unlocks the account and ends every session of the user. */
  async resetPassword(principal: Principal, id: string, newPassword: string): Promise<UserView> {
    requireScope(principal, 'admin:write');
    const current = await this.existing(id);
    checkPassword(newPassword, current.username, 'password');
    const passwordHash = await this.hasher.hash(newPassword);
    const user = await this.change(id, (now) => ({
      passwordHash,
      passwordChangedAt: now,
      ...AFTER_SUCCESSFUL_LOGIN,
    }));
    await this.sessions.revokeUser(id, this.clock.now());
    await this.audit.record(principal, 'user.changed', 'success', {
      target: id,
      details: { password: 'reset' },
    });
    return view(user);
  }

  /**
   * The caller's own password, proven by the old one (a wrong one counts towards the lockout).
   * Ends every other session; `keepSessionId` (the caller's, from its token) survives.
   */
  async changeOwnPassword(
    principal: Principal,
    oldPassword: string,
    newPassword: string,
    keepSessionId?: string,
  ): Promise<UserView> {
    if (principal.kind !== 'user') throw new ApplicationError('forbidden', 'only a user has a password');
    const current = await this.existing(principal.subject);
    await this.checkCredentials(current, oldPassword, null);
    checkPassword(newPassword, current.username, 'new_password');
    if (newPassword.normalize('NFC') === oldPassword.normalize('NFC')) {
      throw new ApplicationError('weak_password', 'the new password must differ from the old one', {
        violations: ['unchanged'],
        field: 'new_password',
      });
    }
    const passwordHash = await this.hasher.hash(newPassword);
    const user = await this.change(current.id, (now) => ({ passwordHash, passwordChangedAt: now }));
    await this.sessions.revokeUser(current.id, this.clock.now(), keepSessionId);
    return view(user);
  }

  async deleteUser(principal: Principal, id: string): Promise<void> {
    requireScope(principal, 'admin:write');
    if (id === principal.subject) throw new ApplicationError('conflict', 'an admin cannot delete themselves');
    await this.sessions.revokeUser(id, this.clock.now());
    if (!(await this.users.delete(id))) throw notFound(id);
    await this.audit.record(principal, 'user.changed', 'success', { target: id, details: { deleted: true } });
  }

  /** `source` (e.g. the client address) is kept as the user's last login source. */
  async login(username: string, password: string, source: string): Promise<UserGrant> {
    const normalized = normalizeUsername(username);
    const user = normalized === null ? null : await this.users.getByUsername(normalized);
    if (!user) {
      // Same time, same answer as a wrong password: no user enumeration.
      await this.hasher.burn(password);
      throw new ApplicationError('invalid_credentials', BAD_CREDENTIALS);
    }
    const verified = await this.checkCredentials(user, password, source);
    const now = this.clock.now();
    const session = this.newSession(
      user.id,
      this.ids.fileId(),
      new Date(now.getTime() + this.policy.refreshTtlMs),
    );
    await this.sessions.insert(session.row);
    return grant(verified, session);
  }

  /**
   * Refresh-token rotation (OAuth 2.0 Security BCP §4.14, RFC 6819 §5.2.2.3): each token works
   * once. Presenting a rotated token means two parties hold the family, so the whole family is
   * revoked; a lost race of two concurrent refreshes is treated the same way.
   */
  async refresh(refreshToken: string): Promise<UserGrant> {
    const now = this.clock.now();
    const current = await this.findSession(refreshToken);
    if (!current || current.revokedAt !== null) throw invalidGrant();
    if (current.rotatedAt !== null) {
      await this.sessions.revokeFamily(current.familyId, now);
      throw invalidGrant();
    }
    if (current.expiresAt.getTime() <= now.getTime()) throw invalidGrant();
    const user = await this.users.get(current.userId);
    if (!user) {
      await this.sessions.revokeFamily(current.familyId, now);
      throw invalidGrant();
    }
    const next = this.newSession(user.id, current.familyId, current.expiresAt);
    if (!(await this.sessions.rotate(current.id, next.row, now))) {
      await this.sessions.revokeFamily(current.familyId, now);
      throw invalidGrant();
    }
    return grant(user, next);
  }

  /** Ends the token's whole family server-side; an unknown or spent token is no error (RFC 7009 §2.2). */
  async logout(refreshToken: string): Promise<void> {
    const session = await this.findSession(refreshToken);
    if (session) await this.sessions.revokeFamily(session.familyId, this.clock.now());
  }

  /** Housekeeping: forgets sessions whose family has ended. */
  async pruneSessions(): Promise<number> {
    return this.sessions.deleteExpired(this.clock.now());
  }

  /**
   * Refuses a locked account before looking at the password, then counts a failure or clears the
   * counters. Answers the user as stored afterwards. `source` non-null records a login.
   */
  private async checkCredentials(user: User, password: string, source: string | null): Promise<User> {
    const locked = lockRemainingMs(user, this.clock.now());
    if (locked > 0) {
      throw new ApplicationError('account_locked', 'too many failed logins; try again later', {
        retry_after: Math.ceil(locked / 1000),
      });
    }
    if (!(await this.hasher.verify(password, user.passwordHash))) {
      const after = await this.change(
        user.id,
        (now, fresh) => afterFailedLogin(fresh, now, this.policy.lockout),
        user,
      );
      if (lockRemainingMs(after, this.clock.now()) > 0) {
        await this.audit.record({ kind: 'system', subject: 'system' }, 'user.locked', 'success', {
          target: user.id,
          details: { until: after.lockedUntil?.toISOString() ?? null },
        });
      }
      throw new ApplicationError('invalid_credentials', BAD_CREDENTIALS);
    }
    if (source === null && user.failedLogins === 0) return user;
    return this.change(
      user.id,
      (now) => ({
        ...AFTER_SUCCESSFUL_LOGIN,
        ...(source === null ? {} : { lastLoginAt: now, lastLoginSource: source.slice(0, 255) }),
      }),
      user,
    );
  }

  /** Read-modify-write under optimistic concurrency: a lost update is re-applied to a fresh read. */
  private async change(
    id: string,
    edit: (now: Date, current: User) => Partial<User>,
    known?: User,
  ): Promise<User> {
    let current = known ?? (await this.existing(id));
    for (let attempt = 1; ; attempt += 1) {
      const now = this.clock.now();
      const stored = await this.users.update(
        { ...current, ...edit(now, current), updatedAt: now },
        current.version,
      );
      if (stored) return stored;
      const fresh = await this.users.get(id);
      if (!fresh) throw notFound(id);
      if (attempt >= UPDATE_ATTEMPTS) {
        throw new ApplicationError('conflict', `user ${id} keeps changing; try again`);
      }
      current = fresh;
    }
  }

  private async existing(id: string): Promise<User> {
    const user = await this.users.get(id);
    if (!user) throw notFound(id);
    return user;
  }

  private async findSession(refreshToken: string): Promise<Session | null> {
    if (!REFRESH_TOKEN.test(refreshToken)) return null;
    return this.sessions.findByTokenHash(tokenHash(refreshToken));
  }

  private newSession(userId: string, familyId: string, expiresAt: Date): { row: Session; token: string } {
    const token = randomBytes(32).toString('base64url');
    const row: Session = {
      id: this.ids.fileId(),
      userId,
      familyId,
      tokenHash: tokenHash(token),
      createdAt: this.clock.now(),
      expiresAt,
      rotatedAt: null,
      revokedAt: null,
    };
    return { row, token };
  }
}

function grant(user: User, session: { row: Session; token: string }): UserGrant {
  return {
    user: view(user),
    kind: 'user',
    subject: user.id,
    scopes: [...ROLE_SCOPES[user.role]],
    sessionId: session.row.familyId,
    refreshToken: session.token,
    refreshExpiresAt: session.row.expiresAt,
  };
}

function checkRole(role: string): Role {
  if (!isRole(role))
    throw new ApplicationError('invalid_request', `unknown role '${role}'`, { role, field: 'role' });
  return role;
}

function checkPassword(password: string, username: string, field: string): void {
  const violations = passwordViolations(password, username);
  if (violations.length > 0) {
    throw new ApplicationError('weak_password', 'the password does not meet the policy', {
      violations,
      field,
    });
  }
}

const notFound = (id: string): ApplicationError =>
  new ApplicationError('user_not_found', `user ${id} does not exist`);
const invalidGrant = (): ApplicationError =>
  new ApplicationError('invalid_grant', 'the refresh token is invalid, expired or revoked');
