import { defineEntity, p } from '@mikro-orm/postgresql';

/**
 * Users (people, §6). Usernames are stored lower-case in the "C" collation, so the keyset order of
 * the list is code-point order, as in memory; the unique index on lower() backs case-insensitivity.
 */
export const UserRow = defineEntity({
  name: 'UserRow',
  tableName: 'users',
  properties: {
    id: p.uuid().primary(),
    username: p.string().length(64).collation('C'),
    role: p.string().length(16),
    passwordHash: p.text(),
    failedLogins: p.integer(),
    lockedUntil: p.datetime().nullable(),
    passwordChangedAt: p.datetime(),
    lastLoginAt: p.datetime().nullable(),
    lastLoginSource: p.string().length(255).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    version: p.integer(),
  },
  indexes: [
    {
      name: 'users_username_lower_unique',
      expression: 'create unique index "users_username_lower_unique" on "users" (lower("username"))',
    },
  ],
});

/** Refresh-token sessions: only the SHA-256 of a token, never the token. */
export const UserSessionRow = defineEntity({
  name: 'UserSessionRow',
  tableName: 'user_sessions',
  properties: {
    id: p.uuid().primary(),
    user: p.manyToOne(UserRow).deleteRule('cascade'),
    familyId: p.uuid(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    rotatedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['user'] }, { properties: ['familyId'] }, { properties: ['expiresAt'] }],
});

export const USER_ENTITIES = [UserRow, UserSessionRow];
