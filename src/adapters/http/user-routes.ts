import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ApplicationError } from '../../application/errors';
import type { SignedIn, UserSessions } from '../../application/identity/user-sessions';
import type { Users, UserView } from '../../application/identity/users';
import type { RequestState } from './context';
import { jsonBody, parseBody, parseQuery } from './validation';

const password = z.string().min(1).max(1024);
const login = z.strictObject({ username: z.string().min(1).max(256), password });
const refresh = z.strictObject({ refresh_token: z.string().min(1).max(256) });
const createUser = z.strictObject({
  username: z.string().min(1).max(256),
  password,
  role: z.string().max(32),
});
const roleChange = z.strictObject({ role: z.string().max(32) });
const reset = z.strictObject({ password });
const ownPassword = z.strictObject({ old_password: password, new_password: password });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(512).optional(),
});

export function userView(user: UserView): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    locked_until: user.lockedUntil?.toISOString() ?? null,
    password_changed_at: user.passwordChangedAt.toISOString(),
    last_login_at: user.lastLoginAt?.toISOString() ?? null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

function tokenResponse(signed: SignedIn): Record<string, unknown> {
  return {
    access_token: signed.token,
    token_type: 'Bearer',
    expires_in: signed.expiresIn,
    scope: signed.grant.scopes.join(' '),
    refresh_token: signed.grant.refreshToken,
    refresh_expires_at: signed.grant.refreshExpiresAt.toISOString(),
    user: userView(signed.grant.user),
  };
}

/** 429 and 423 carry Retry-After (RFC 9110 §10.2.3, RFC 6585 §4). */
async function withRetryAfter(ctx: Context, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof ApplicationError && typeof error.details.retry_after === 'number') {
      ctx.set('Retry-After', String(error.details.retry_after));
    }
    throw error;
  }
}

export function registerUserRoutes(
  router: Router,
  sessions: UserSessions,
  users: Users,
  issuerOf: (ctx: Context) => string,
): void {
  const principal = (ctx: Context) => (ctx.state as RequestState).principal;
  router.post('/api/v1/auth/login', jsonBody, (ctx) =>
    withRetryAfter(ctx, async () => {
      const body = parseBody(ctx, login);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = tokenResponse(await sessions.login(body.username, body.password, ctx.ip, issuerOf(ctx)));
    }),
  );
  router.post('/api/v1/auth/refresh', jsonBody, async (ctx) => {
    const body = parseBody(ctx, refresh);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = tokenResponse(await sessions.refresh(body.refresh_token, issuerOf(ctx)));
  });
  router.post('/api/v1/auth/logout', jsonBody, async (ctx) => {
    await sessions.logout(parseBody(ctx, refresh).refresh_token, ctx.ip);
    ctx.status = 204;
  });
  router.post('/api/v1/me/password', jsonBody, async (ctx) => {
    const body = parseBody(ctx, ownPassword);
    await sessions.changeOwnPassword(principal(ctx), body.old_password, body.new_password);
    ctx.status = 204;
  });

  const base = '/api/v1/admin/users';
  router.post(base, jsonBody, async (ctx) => {
    ctx.status = 201;
    ctx.body = userView(await users.createUser(principal(ctx), parseBody(ctx, createUser)));
  });
  router.get(base, async (ctx) => {
    const query = parseQuery(ctx, listQuery);
    const page = await users.listUsers(principal(ctx), { cursor: query.cursor ?? null, limit: query.limit });
    ctx.body = { items: page.items.map(userView), next_cursor: page.nextCursor };
  });
  router.get(`${base}/:id`, async (ctx) => {
    ctx.body = userView(await users.getUser(principal(ctx), String(ctx.params.id)));
  });
  router.patch(`${base}/:id`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, roleChange);
    ctx.body = userView(await users.changeRole(principal(ctx), String(ctx.params.id), body.role));
  });
  router.post(`${base}/:id/reset-password`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, reset);
    ctx.body = userView(await users.resetPassword(principal(ctx), String(ctx.params.id), body.password));
  });
  router.delete(`${base}/:id`, async (ctx) => {
    await users.deleteUser(principal(ctx), String(ctx.params.id));
    ctx.status = 204;
  });
}
