import { ApplicationError } from '../../application/errors';
import type { Page } from '../../application/ports/file-index';
import type { Session, SessionStore, UserStore } from '../../application/ports/user-store';
import type { User } from '../../domain/access/user';
import { decodeCursor, encodeCursor } from './cursor';

const key = (username: string): string => username.toLowerCase();

export class MemoryUserStore implements UserStore {
  private readonly users = new Map<string, User>();

  /** Optional: deleting a user also drops its sessions, as the foreign key does in PostgreSQL. */
  constructor(private readonly sessions?: MemorySessionStore) {}

  async insert(user: User): Promise<void> {
    const taken = [...this.users.values()].some(
      (u) => u.id === user.id || key(u.username) === key(user.username),
    );
    if (taken) throw new ApplicationError('conflict', `user '${user.username}' already exists`);
    this.users.set(user.id, structuredClone(user));
  }

  async get(id: string): Promise<User | null> {
    const user = this.users.get(id);
    return user ? structuredClone(user) : null;
  }

  async getByUsername(username: string): Promise<User | null> {
    const user = [...this.users.values()].find((u) => key(u.username) === key(username));
    return user ? structuredClone(user) : null;
  }

  async list(options: { cursor: string | null; limit: number }): Promise<Page<User>> {
    // A checked cursor: a doctored one is a 400, never text PostgreSQL refuses (a NUL).
    const after = options.cursor === null ? null : String(decodeCursor(options.cursor, ['key'])[0]);
    const sorted = [...this.users.values()]
      .filter((u) => after === null || u.username > after)
      .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
    const items = sorted.slice(0, options.limit).map((u) => structuredClone(u));
    const last = items.at(-1);
    const more = sorted.length > options.limit && last !== undefined;
    return { items, nextCursor: more ? encodeCursor([last.username]) : null };
  }

  async update(user: User, expectedVersion: number): Promise<User | null> {
    const current = this.users.get(user.id);
    if (!current || current.version !== expectedVersion) return null;
    const next: User = {
      ...structuredClone(user),
      username: current.username,
      createdAt: current.createdAt,
      version: expectedVersion + 1,
    };
    this.users.set(user.id, next);
    return structuredClone(next);
  }

  async delete(id: string): Promise<boolean> {
    this.sessions?.forgetUser(id);
    return this.users.delete(id);
  }
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();

  async insert(session: Session): Promise<void> {
    const taken = [...this.sessions.values()].some(
      (s) => s.id === session.id || s.tokenHash === session.tokenHash,
    );
    if (taken) throw new ApplicationError('conflict', `session ${session.id} already exists`);
    this.sessions.set(session.id, structuredClone(session));
  }

  async findByTokenHash(tokenHash: string): Promise<Session | null> {
    const session = [...this.sessions.values()].find((s) => s.tokenHash === tokenHash);
    return session ? structuredClone(session) : null;
  }

  async rotate(currentId: string, next: Session, at: Date): Promise<boolean> {
    const current = this.sessions.get(currentId);
    if (!current || current.rotatedAt !== null || current.revokedAt !== null) return false;
    // Marked before the first await, so a concurrent rotation of the same token sees it.
    this.sessions.set(currentId, { ...current, rotatedAt: new Date(at) });
    try {
      await this.insert(next);
    } catch (error) {
      this.sessions.set(currentId, current);
      throw error;
    }
    return true;
  }

  async revokeFamily(familyId: string, at: Date): Promise<number> {
    return this.revokeWhere((s) => s.familyId === familyId, at);
  }

  async revokeUser(userId: string, at: Date, exceptFamilyId?: string): Promise<number> {
    return this.revokeWhere((s) => s.userId === userId && s.familyId !== exceptFamilyId, at);
  }

  async deleteExpired(now: Date): Promise<number> {
    const expired = [...this.sessions.values()].filter((s) => s.expiresAt.getTime() <= now.getTime());
    for (const s of expired) this.sessions.delete(s.id);
    return expired.length;
  }

  /** The cascade of a user's deletion. */
  forgetUser(userId: string): void {
    for (const s of [...this.sessions.values()]) if (s.userId === userId) this.sessions.delete(s.id);
  }

  private revokeWhere(match: (s: Session) => boolean, at: Date): number {
    let count = 0;
    for (const s of this.sessions.values()) {
      if (s.revokedAt === null && match(s)) {
        this.sessions.set(s.id, { ...s, revokedAt: new Date(at) });
        count += 1;
      }
    }
    return count;
  }
}
