import type Router from '@koa/router';
import type { Context } from 'koa';
import { koaBody } from 'koa-body';
import { ApplicationError } from '../../application/errors';
import type { ClientCredentialsGrant } from '../../application/identity/client-credentials';
import type { Jwks } from '../../application/ports/signing-keys';
import { SCOPES } from '../../domain/access/principal';

/** RFC 6749 §5.2 error codes, answered as `{ error, error_description }`, never as problem details. */
type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type';

class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const formParser = koaBody({
  json: false,
  urlencoded: true,
  text: false,
  multipart: false,
  formLimit: '16kb',
});

const single = (value: unknown, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `'${name}' is given more than once`);
  return value;
};

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are Basic-encoded. */
function basicCredentials(header: string): { id: string; secret: string } {
  const match = /^Basic +([A-Za-z0-9+/]+=*)$/iu.exec(header);
  if (!match) throw new OAuthError('invalid_client', 'the Authorization header is not HTTP Basic');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'Basic credentials need "client_id:client_secret"');
  try {
    const form = (text: string): string => decodeURIComponent(text.replaceAll('+', ' '));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'Basic credentials are not valid form-urlencoding');
  }
}

/** §5.2: invalid_client is a 401 with a Basic challenge (required when Basic was tried; harmless otherwise). */
function answerError(ctx: Context, error: OAuthError): void {
  ctx.status = error.error === 'invalid_client' ? 401 : 400;
  if (error.error === 'invalid_client') ctx.set('WWW-Authenticate', 'Basic realm="artstore"');
  ctx.body = { error: error.error, error_description: error.message };
}

export interface OAuthEndpoints {
  readonly grant: ClientCredentialsGrant;
  readonly jwks: () => Promise<Jwks>;
  /** The issuer identifier for this request (RFC 8414 §2: the server's base URL). */
  readonly issuerOf: (ctx: Context) => string;
}

export function registerOAuthRoutes(router: Router, endpoints: OAuthEndpoints): void {
  router.post('/oauth/token', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    const authorization = ctx.get('authorization');
    try {
      if (!ctx.is('application/x-www-form-urlencoded')) {
        throw new OAuthError('invalid_request', 'send the body as application/x-www-form-urlencoded');
      }
      try {
        await formParser(ctx, async () => undefined);
      } catch (error) {
        throw new OAuthError('invalid_request', `the form body cannot be read: ${(error as Error).message}`);
      }
      const form = (ctx.request.body ?? {}) as Record<string, unknown>;
      const grantType = single(form.grant_type, 'grant_type');
      const scope = single(form.scope, 'scope');
      const bodyId = single(form.client_id, 'client_id');
      const bodySecret = single(form.client_secret, 'client_secret');
      if (!grantType) throw new OAuthError('invalid_request', "'grant_type' is required");
      if (grantType !== 'client_credentials') {
        throw new OAuthError('unsupported_grant_type', `grant_type '${grantType}' is not supported here`);
      }
      // §2.3: one authentication method per request.
      if (authorization && (bodyId !== undefined || bodySecret !== undefined)) {
        throw new OAuthError(
          'invalid_request',
          'use either HTTP Basic or client_id/client_secret in the body, not both',
        );
      }
      const credentials = authorization
        ? basicCredentials(authorization)
        : bodyId !== undefined && bodySecret !== undefined
          ? { id: bodyId, secret: bodySecret }
          : null;
      if (!credentials) throw new OAuthError('invalid_client', 'client authentication is required');
      // No client id holds U+0000, and PostgreSQL refuses to be asked about one (08P01).
      if (credentials.id.includes('\u0000')) throw new OAuthError('invalid_client', 'unknown client');
      const granted = await endpoints.grant.grant({
        clientId: credentials.id,
        clientSecret: credentials.secret,
        scope,
        source: ctx.ip,
        issuer: endpoints.issuerOf(ctx),
      });
      ctx.body = {
        access_token: granted.token,
        token_type: 'Bearer',
        expires_in: granted.expiresIn,
        scope: granted.scopes.join(' '),
      };
    } catch (error) {
      if (error instanceof OAuthError) return answerError(ctx, error);
      if (error instanceof ApplicationError) {
        if (error.code === 'invalid_client')
          return answerError(ctx, new OAuthError('invalid_client', error.message));
        if (error.code === 'invalid_scope')
          return answerError(ctx, new OAuthError('invalid_scope', error.message));
        if (error.code === 'rate_limited') {
          ctx.status = 429;
          ctx.set('Retry-After', String(error.details.retry_after ?? 60));
          ctx.body = { error: 'rate_limited', error_description: error.message };
          return;
        }
      }
      throw error;
    }
  });

  router.get('/.well-known/oauth-authorization-server', (ctx) => {
    const issuer = endpoints.issuerOf(ctx);
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = {
      issuer,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: [...SCOPES],
      response_types_supported: [],
    };
  });

  router.get('/.well-known/jwks.json', async (ctx) => {
    // Short enough that a key published ahead of its first use reaches every cache in time.
    ctx.set('Cache-Control', 'public, max-age=60');
    ctx.type = 'application/jwk-set+json';
    ctx.body = await endpoints.jwks();
  });
}
