import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ApplicationError } from '../../application/errors';
import type { Page } from '../../application/ports/file-index';
import type { Session, SessionStore, UserStore } from '../../application/ports/user-store';
import { isRole, type User } from '../../domain/access/user';
import type { Orm } from './database';
import { decodeCursor, encodeCursor } from '../memory/cursor';

/*
 * Raw SQL over the tables of user-entities.ts (migration Migration20261201000200_users), so the
 * stores work whether or not USER_ENTITIES is registered with the ORM. `?` placeholders.
 */

type Row = Record<string, unknown>;

/** Raw execute hands back the driver's error (SQLSTATE 23505), not always MikroORM's exception. */
const isUniqueViolation = (error: unknown): boolean =>
  error instanceof UniqueConstraintViolationException ||
  (error instanceof Error && (error as { code?: unknown }).code === '23505');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
/** Ids come from callers too; one that is no UUID names no row (rather than a cast error). */
const isUuid = (id: string): boolean => UUID.test(id);
const date = (value: unknown): Date => new Date(value as string | Date);
const maybeDate = (value: unknown): Date | null => (value === null ? null : date(value));

function toUser(row: Row): User {
  const role = String(row.role);
  if (!isRole(role)) throw new Error(`users row ${String(row.id)} has an unknown role '${role}'`);
  return {
    id: String(row.id),
    username: String(row.username),
    role,
    passwordHash: String(row.password_hash),
    failedLogins: Number(row.failed_logins),
    lockedUntil: maybeDate(row.locked_until),
    passwordChangedAt: date(row.password_changed_at),
    lastLoginAt: maybeDate(row.last_login_at),
    lastLoginSource: row.last_login_source === null ? null : String(row.last_login_source),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
    version: Number(row.version),
  };
}

function toSession(row: Row): Session {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    familyId: String(row.family_id),
    tokenHash: String(row.token_hash),
    createdAt: date(row.created_at),
    expiresAt: date(row.expires_at),
    rotatedAt: maybeDate(row.rotated_at),
    revokedAt: maybeDate(row.revoked_at),
  };
}

export class MikroOrmUserStore implements UserStore {
  constructor(private readonly orm: Orm) {}

  private sql<T = Row[]>(query: string, params: unknown[] = [], method: 'all' | 'run' = 'all'): Promise<T> {
    return this.orm.em.getConnection().execute<never>(query, params, method) as Promise<T>;
  }

  async insert(user: User): Promise<void> {
    try {
      await this.sql(
        `insert into users (id, username, role, password_hash, failed_logins, locked_until, password_changed_at,
                            last_login_at, last_login_source, created_at, updated_at, version)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          user.id,
          user.username,
          user.role,
          user.passwordHash,
          user.failedLogins,
          user.lockedUntil,
          user.passwordChangedAt,
          user.lastLoginAt,
          user.lastLoginSource,
          user.createdAt,
          user.updatedAt,
          user.version,
        ],
        'run',
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ApplicationError(
          'conflict',
          `user '${user.username}' already exists`,
          {},
          { cause: error },
        );
      }
      throw error;
    }
  }

  async get(id: string): Promise<User | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql('select * from users where id = ?::uuid', [id]);
    return row ? toUser(row) : null;
  }

  async getByUsername(username: string): Promise<User | null> {
    const [row] = await this.sql('select * from users where lower(username) = lower(?)', [username]);
    return row ? toUser(row) : null;
  }

  async list(options: { cursor: string | null; limit: number }): Promise<Page<User>> {
    // A checked cursor: a doctored one is a 400, never text PostgreSQL refuses (a NUL).
    const after = options.cursor === null ? null : String(decodeCursor(options.cursor, ['key'])[0]);
    const rows = await this.sql(
      `select * from users where (?::text is null or username > ?::text collate "C")
       order by username limit ?`,
      [after, after, options.limit + 1],
    );
    const items = rows.slice(0, options.limit).map(toUser);
    const last = items.at(-1);
    const more = rows.length > options.limit && last !== undefined;
    return { items, nextCursor: more ? encodeCursor([last.username]) : null };
  }

  async update(user: User, expectedVersion: number): Promise<User | null> {
    if (!isUuid(user.id)) return null;
    const [row] = await this.sql(
      `update users set role = ?, password_hash = ?, failed_logins = ?, locked_until = ?, password_changed_at = ?,
                        last_login_at = ?, last_login_source = ?, updated_at = ?, version = version + 1
       where id = ?::uuid and version = ? returning *`,
      [
        user.role,
        user.passwordHash,
        user.failedLogins,
        user.lockedUntil,
        user.passwordChangedAt,
        user.lastLoginAt,
        user.lastLoginSource,
        user.updatedAt,
        user.id,
        expectedVersion,
      ],
    );
    return row ? toUser(row) : null;
  }

  /** The foreign key's cascade removes the sessions. */
  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const result = await this.sql<{ affectedRows: number }>(
      'delete from users where id = ?::uuid',
      [id],
      'run',
    );
    return result.affectedRows > 0;
  }
}

const SESSION_COLUMNS = 'id, user_id, family_id, token_hash, created_at, expires_at, rotated_at, revoked_at';
const sessionParams = (s: Session): unknown[] => [
  s.id,
  s.userId,
  s.familyId,
  s.tokenHash,
  s.createdAt,
  s.expiresAt,
  s.rotatedAt,
  s.revokedAt,
];

export class MikroOrmSessionStore implements SessionStore {
  constructor(private readonly orm: Orm) {}

  private sql<T = Row[]>(query: string, params: unknown[] = [], method: 'all' | 'run' = 'all'): Promise<T> {
    return this.orm.em.getConnection().execute<never>(query, params, method) as Promise<T>;
  }

  private async affected(query: string, params: unknown[]): Promise<number> {
    return (await this.sql<{ affectedRows: number }>(query, params, 'run')).affectedRows;
  }

  async insert(session: Session): Promise<void> {
    try {
      await this.sql(
        `insert into user_sessions (${SESSION_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?)`,
        sessionParams(session),
        'run',
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ApplicationError('conflict', `session ${session.id} already exists`, {}, { cause: error });
      }
      throw error;
    }
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    const [row] = await this.sql(`select ${SESSION_COLUMNS} from user_sessions where token_hash = ?`, [
      tokenHash,
    ]);
    return row ? toSession(row) : null;
  }

  /**
   * One statement: the conditional update takes the row lock, and a concurrent rotation waiting on
   * it re-checks `rotated_at is null` after the first commits (READ COMMITTED), finds nothing to
   * update and so inserts nothing.
   */
  async rotate(currentId: string, next: Session, at: Date): Promise<boolean> {
    if (!isUuid(currentId)) return false;
    const rows = await this.sql(
      `with rotated as (
         update user_sessions set rotated_at = ?
         where id = ?::uuid and rotated_at is null and revoked_at is null returning id)
       insert into user_sessions (${SESSION_COLUMNS})
       select ?::uuid, ?::uuid, ?::uuid, ?, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz
       from rotated returning id`,
      [at, currentId, ...sessionParams(next)],
    );
    return rows.length === 1;
  }

  async revokeFamily(familyId: string, at: Date): Promise<number> {
    if (!isUuid(familyId)) return 0;
    return this.affected(
      'update user_sessions set revoked_at = ? where family_id = ?::uuid and revoked_at is null',
      [at, familyId],
    );
  }

  async revokeUser(userId: string, at: Date, exceptFamilyId?: string): Promise<number> {
    if (!isUuid(userId)) return 0;
    const except = exceptFamilyId !== undefined && isUuid(exceptFamilyId) ? exceptFamilyId : null;
    return this.affected(
      `update user_sessions set revoked_at = ?
       where user_id = ?::uuid and revoked_at is null and (?::uuid is null or family_id <> ?::uuid)`,
      [at, userId, except, except],
    );
  }

  deleteExpired(now: Date): Promise<number> {
    return this.affected('delete from user_sessions where expires_at <= ?', [now]);
  }
}
