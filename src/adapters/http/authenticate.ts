import type { Context, Next } from 'koa';
import { ApplicationError } from '../../application/errors';
import type { Principal } from '../../domain/access/principal';
import type { RequestState } from './context';

/** Verifies a bearer token for the issuer the request expects and returns its principal. */
export type Authenticator = (token: string, issuer: string) => Promise<Principal>;

/** What answers without a token: probes, metrics, and the endpoints that hand tokens out. */
const PUBLIC_PATHS = new Set([
  '/health/live',
  '/health/ready',
  '/metrics',
  '/oauth/token',
  '/.well-known/oauth-authorization-server',
  '/.well-known/jwks.json',
  '/api/v1/auth/login',
  '/api/v1/auth/refresh',
  '/api/v1/auth/logout',
]);

const REALM = 'artstore';
/** RFC 6750 §2.1: `Bearer` then a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/iu;

const quoted = (text: string): string => `"${text.replace(/["\\]/gu, '')}"`;

/**
 * RFC 6750 on every route but the public ones: no or a bad token is a 401 with
 * `WWW-Authenticate: Bearer`; a use case refusing for want of a scope is a 403 naming it.
 */
export function authentication(authenticate: Authenticator, issuerOf: (ctx: Context) => string) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (PUBLIC_PATHS.has(ctx.path)) return next();
    // tus discovery (and CORS preflight, which never carries credentials) reveals no upload.
    if (ctx.method === 'OPTIONS' && /^\/api\/v1\/uploads(\/|$)/u.test(ctx.path)) return next();
    const state = ctx.state as RequestState;
    const header = ctx.get('authorization');
    if (!header) {
      ctx.set('WWW-Authenticate', `Bearer realm=${quoted(REALM)}`);
      throw new ApplicationError(
        'unauthenticated',
        'this endpoint needs a bearer token (Authorization: Bearer …)',
      );
    }
    const match = BEARER.exec(header);
    try {
      if (!match)
        throw new ApplicationError('invalid_token', 'the Authorization header is not a bearer token');
      state.principal = await authenticate(match[1]!, issuerOf(ctx));
    } catch (error) {
      const code = error instanceof ApplicationError ? error.code : null;
      if (code === 'rate_limited' && error instanceof ApplicationError) {
        ctx.set('Retry-After', String(error.details.retry_after ?? 60));
      }
      if (code === 'invalid_token') {
        ctx.set(
          'WWW-Authenticate',
          `Bearer realm=${quoted(REALM)}, error="invalid_token", error_description=${quoted(error instanceof Error ? error.message : '')}`,
        );
      }
      throw error;
    }
    try {
      await next();
    } catch (error) {
      if (
        error instanceof ApplicationError &&
        error.code === 'forbidden' &&
        typeof error.details.scope === 'string'
      ) {
        ctx.set(
          'WWW-Authenticate',
          `Bearer realm=${quoted(REALM)}, error="insufficient_scope", scope=${quoted(error.details.scope)}`,
        );
      }
      throw error;
    }
  };
}
