import type { User } from '../../domain/access/user';
import type { Page } from './file-index';

/** The people who may log in (§6). Usernames arrive lower-case; lookups ignore case all the same. */
export interface UserStore {
  /** Refuses a duplicate id or username (case-insensitively) with ApplicationError 'conflict'. */
  insert(user: User): Promise<void>;
  get(id: string): Promise<User | null>;
  getByUsername(username: string): Promise<User | null>;
  /** Ordered by username (code-point order); the cursor is opaque to callers. */
  list(options: { cursor: string | null; limit: number }): Promise<Page<User>>;
  /**
   * Writes every field but id, username and createdAt when the stored version is still
   * `expectedVersion`, and answers the stored user (version expectedVersion + 1). Null when the
   * user is gone or someone else changed it first: the caller re-reads and decides.
   */
  update(user: User, expectedVersion: number): Promise<User | null>;
  /** Also removes the user's sessions. */
  delete(id: string): Promise<boolean>;
}

/**
 * One refresh token (§6: revocable sessions). A login starts a family; every refresh rotates the
 * token within it. Only the SHA-256 of a token is stored, so a leaked table grants nothing.
 */
export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly familyId: string;
  /** Hex SHA-256 of the refresh token. */
  readonly tokenHash: string;
  readonly createdAt: Date;
  /** Absolute end of the family: rotation does not extend it. */
  readonly expiresAt: Date;
  readonly rotatedAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface SessionStore {
  insert(session: Session): Promise<void>;
  findByTokenHash(tokenHash: string): Promise<Session | null>;
  /**
   * Atomically marks `currentId` rotated and stores `next`, only if `currentId` is neither rotated
   * nor revoked; answers whether this call did it. Of concurrent rotations of one token, at most
   * one wins.
   */
  rotate(currentId: string, next: Session, at: Date): Promise<boolean>;
  /** Revokes every not yet revoked session of the family; answers how many. */
  revokeFamily(familyId: string, at: Date): Promise<number>;
  /** Revokes every session of the user, except those of `exceptFamilyId`; answers how many. */
  revokeUser(userId: string, at: Date, exceptFamilyId?: string): Promise<number>;
  /** Forgets sessions whose family ended at or before `now`; answers how many. */
  deleteExpired(now: Date): Promise<number>;
}
