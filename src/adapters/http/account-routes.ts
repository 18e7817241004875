import type Router from '@koa/router';
import { z } from 'zod';
import type { ManageKeys, SigningKeyView } from '../../application/identity/manage-keys';
import type { ManageServiceAccounts, ServiceAccountView } from '../../application/identity/service-accounts';
import { SCOPES, type Scope } from '../../domain/access/principal';
import type { RequestState } from './context';
import { jsonBody, parseBody, parseQuery } from './validation';

const scopes = z.array(z.enum(SCOPES)).max(SCOPES.length);
const pattern = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9*?_.-]+$/u);
const collections = z.partialRecord(z.enum(SCOPES), z.array(pattern).min(1).max(32));
const name = z.string().trim().min(1).max(128);
/** A sliding window keeps every request of the last minute: bounded so it stays small. */
const rateLimit = z.number().int().min(1).max(100_000).nullable();

const createAccount = z.strictObject({
  name,
  scopes,
  collections: collections.default({}),
  rate_limit_per_minute: rateLimit.default(null),
  secret_ttl_days: z.number().int().min(1).max(3650).default(90),
  /** An account for one of the roles (split mode): the only kind that may hold storage:* scopes. */
  internal: z.boolean().default(false),
});
const updateAccount = z.strictObject({
  name: name.optional(),
  scopes: scopes.optional(),
  collections: collections.optional(),
  rate_limit_per_minute: rateLimit.optional(),
});
const rotation = z.strictObject({ secret_ttl_days: z.number().int().min(1).max(3650).default(90) });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(512).optional(),
});

/** The allow-list of fields an account is shown with; the secret hash is never among them. */
export function accountView(account: ServiceAccountView): Record<string, unknown> {
  return {
    client_id: account.id,
    name: account.name,
    scopes: account.scopes,
    collections: account.collections,
    status: account.status,
    internal: account.internal,
    rate_limit_per_minute: account.rateLimitPerMinute,
    secret_expires_at: account.secretExpiresAt.toISOString(),
    created_at: account.createdAt.toISOString(),
    updated_at: account.updatedAt.toISOString(),
    last_used_at: account.lastUsedAt?.toISOString() ?? null,
  };
}

export function registerAccountRoutes(router: Router, accounts: ManageServiceAccounts): void {
  const base = '/api/v1/admin/service-accounts';
  const principal = (state: unknown) => (state as RequestState).principal;
  router.post(base, jsonBody, async (ctx) => {
    const body = parseBody(ctx, createAccount);
    const created = await accounts.create(principal(ctx.state), {
      name: body.name,
      scopes: body.scopes,
      collections: body.collections as Partial<Record<Scope, string[]>>,
      rateLimitPerMinute: body.rate_limit_per_minute,
      secretTtlDays: body.secret_ttl_days,
      internal: body.internal,
    });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...accountView(created.account), client_secret: created.clientSecret };
  });
  router.get(base, async (ctx) => {
    const query = parseQuery(ctx, listQuery);
    const page = await accounts.list(principal(ctx.state), {
      cursor: query.cursor ?? null,
      limit: query.limit,
    });
    ctx.body = { items: page.items.map(accountView), next_cursor: page.nextCursor };
  });
  router.get(`${base}/:id`, async (ctx) => {
    ctx.body = accountView(await accounts.get(principal(ctx.state), String(ctx.params.id)));
  });
  router.patch(`${base}/:id`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, updateAccount);
    ctx.body = accountView(
      await accounts.update(principal(ctx.state), String(ctx.params.id), {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
        ...(body.collections !== undefined
          ? { collections: body.collections as Partial<Record<Scope, string[]>> }
          : {}),
        ...(body.rate_limit_per_minute !== undefined
          ? { rateLimitPerMinute: body.rate_limit_per_minute }
          : {}),
      }),
    );
  });
  router.post(`${base}/:id/suspend`, async (ctx) => {
    ctx.body = accountView(
      await accounts.setStatus(principal(ctx.state), String(ctx.params.id), 'suspended'),
    );
  });
  router.post(`${base}/:id/activate`, async (ctx) => {
    ctx.body = accountView(await accounts.setStatus(principal(ctx.state), String(ctx.params.id), 'active'));
  });
  router.post(`${base}/:id/rotate-secret`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, rotation);
    const rotated = await accounts.rotateSecret(
      principal(ctx.state),
      String(ctx.params.id),
      body.secret_ttl_days,
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...accountView(rotated.account), client_secret: rotated.clientSecret };
  });
  router.delete(`${base}/:id`, async (ctx) => {
    await accounts.delete(principal(ctx.state), String(ctx.params.id));
    ctx.status = 204;
  });
}

function keyView(key: SigningKeyView): Record<string, unknown> {
  return {
    kid: key.kid,
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
    retired_at: key.retiredAt?.toISOString() ?? null,
  };
}

export function registerKeyRoutes(router: Router, keys: ManageKeys): void {
  router.get('/api/v1/admin/keys', async (ctx) => {
    ctx.body = { items: (await keys.list((ctx.state as RequestState).principal)).map(keyView) };
  });
  router.post('/api/v1/admin/keys/rotate', async (ctx) => {
    ctx.status = 201;
    ctx.body = keyView(await keys.rotate((ctx.state as RequestState).principal));
  });
}
