import type { JWTVerifyGetKey } from 'jose';
import type { Context } from 'koa';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditTrail } from '../application/audit/audit-trail';
import { ApplicationError } from '../application/errors';
import { ResolvePrincipal } from '../application/identity/authenticate';
import { ClientCredentialsGrant } from '../application/identity/client-credentials';
import { FailClosedRateLimiter } from '../application/identity/fail-closed-rate-limiter';
import { KeyRing } from '../application/identity/key-ring';
import { ManageKeys } from '../application/identity/manage-keys';
import { ManageServiceAccounts } from '../application/identity/service-accounts';
import { UserSessions } from '../application/identity/user-sessions';
import { Users } from '../application/identity/users';
import type { Clock } from '../application/ports/clock';
import type { EventBus } from '../application/ports/event-bus';
import type { RateLimiter } from '../application/ports/rate-limiter';
import type { ServiceAccountStore } from '../application/ports/service-account-store';
import type { AccessTokenClaims, AccessTokenVerifier } from '../application/ports/signing-keys';
import { SCOPES, SYSTEM_PRINCIPAL } from '../domain/access/principal';
import { INTERNAL_SCOPES } from '../domain/access/service-account';
import {
  InvalidAccessToken,
  JoseAccessTokenSigner,
  JoseAccessTokenVerifier,
  localKeySet,
} from '../adapters/auth/jose-token-service';
import { IssuerKeySet, IssuerUnavailable } from '../adapters/auth/issuer-key-set';
import { NodeKeyCrypto } from '../adapters/auth/node-key-crypto';
import { ScryptSecretHasher } from '../adapters/auth/scrypt-secret-hasher';
import { CachingServiceAccountStore } from '../adapters/cache/caching-service-account-store';
import { ClientCredentialsTokenSource } from '../adapters/clients/client-credentials-token-source';
import type { Authenticator } from '../adapters/http/authenticate';
import type { OAuthEndpoints } from '../adapters/http/oauth-routes';
import { MemoryRateLimiter } from '../adapters/memory/memory-rate-limiter';
import type { Orm } from '../adapters/persistence/database';
import { MikroOrmServiceAccountStore } from '../adapters/persistence/mikro-orm-service-account-store';
import { MikroOrmSigningKeyStore } from '../adapters/persistence/mikro-orm-signing-key-store';
import { MikroOrmSessionStore, MikroOrmUserStore } from '../adapters/persistence/mikro-orm-user-store';
import { UuidV7Ids } from '../adapters/system/system-clock';
import { RedisRateLimiter } from '../adapters/redis/redis-rate-limiter';
import type { Logger } from '../adapters/telemetry/logger';
import type { Config } from './config';
import { keyRingPolicy } from './key-ring-policy';
import { loadMasterKey } from './master-key';

/** The account the admin role uses for its own calls to the storage elements. */
export const ADMIN_ROLE_ACCOUNT = 'artstore-admin';
const BOOTSTRAP_FILE = 'bootstrap-credentials.json';

export interface AdminIdentity {
  readonly ring: KeyRing;
  readonly keys: ManageKeys;
  readonly users: Users;
  readonly sessions: UserSessions;
  readonly accounts: ManageServiceAccounts;
  readonly oauth: OAuthEndpoints;
}

export interface Identity {
  readonly authenticate: Authenticator;
  /** The issuer a request's tokens must carry (RFC 8414: the server's base URL). */
  readonly issuerOf: (ctx: Context) => string;
  /** This process's own token for the storage elements' internal API. */
  /** This process's token for the other roles; `rejected`: the token a callee just refused (401). */
  readonly serviceToken: (rejected?: string) => Promise<string>;
  /** Present when this process runs the admin role (the issuer). */
  readonly admin: AdminIdentity | null;
  /** Bootstrap on first start, key rotation schedule; returns what stops it. */
  start(ownUrl: string): Promise<() => Promise<void>>;
}

/** `http://host:port/base` without a trailing slash: issuers are compared as strings. */
export function issuerFrom(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/u, '')}`;
}

async function rateLimiter(
  config: Config,
  clock: Clock,
  log: Logger,
): Promise<{ limiter: RateLimiter; close: () => Promise<unknown> }> {
  if (!config.redis_url) return { limiter: new MemoryRateLimiter(clock), close: async () => undefined };
  // Its own connection: commands fail at once while Redis is away, and the decorator refuses.
  const redis = new Redis(config.redis_url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', (error) => log.warn({ err: error }, 'rate limiter redis error'));
  await redis.connect();
  // Only once connected: ioredis would apply it to the ready check as well (see lifecycle.ts).
  redis.options.commandTimeout = 500;
  return {
    limiter: new FailClosedRateLimiter(new RedisRateLimiter(redis, { prefix: `${config.redis_prefix}rl:` })),
    close: () => redis.quit(),
  };
}

/** Caches a value for `ttlMs`; concurrent callers share one load. */
function memoize<T>(load: () => Promise<T>, ttlMs: number, now: () => number): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (!cached || now() - cached.at >= ttlMs) {
      const value = load();
      cached = { at: now(), value };
      value.catch(() => (cached = null));
    }
    return cached.value;
  };
}

/** The storage-element credentials a split ingester or query process obtains for itself. */
function clientCredentialsSource(config: Config): ((rejected?: string) => Promise<string>) | null {
  if (!config.issuer_url || !config.client_id || !config.client_secret) return null;
  const source = new ClientCredentialsTokenSource(
    `${issuerFrom(config.issuer_url)}/oauth/token`,
    config.client_id,
    config.client_secret,
    INTERNAL_SCOPES.join(' '),
    // One file per account: processes sharing a data directory do not take each other's token.
    {
      cacheFile: join(
        config.data_dir,
        `service-token-${createHash('sha256').update(config.client_id).digest('hex').slice(0, 12)}.json`,
      ),
    },
  );
  return (rejected) => source.token(rejected);
}

async function writeBootstrapCredentials(
  dataDir: string,
  credentials: Record<string, unknown>,
): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, BOOTSTRAP_FILE);
  await writeFile(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

export async function buildIdentity(
  config: Config,
  orm: Orm,
  events: EventBus,
  clock: Clock,
  log: Logger,
  audit: AuditTrail,
): Promise<{ identity: Identity; close: () => Promise<unknown> }> {
  const store = new CachingServiceAccountStore(new MikroOrmServiceAccountStore(orm), events, {
    maxEntries: 1024,
    ttlMs: 5_000,
  });
  const rate = await rateLimiter(config, clock, log);
  const userStore = new MikroOrmUserStore(orm);
  const resolve = new ResolvePrincipal(store, userStore, clock, rate.limiter);
  const now = (): number => clock.now().getTime();
  let ownUrl: string | null = null;
  let admin: AdminIdentity | null = null;
  let serviceToken = clientCredentialsSource(config);
  /** The admin's own verifier: a cached set, read again at once when a token names a kid it lacks. */
  let localKeys: JWTVerifyGetKey | null = null;

  if (config.role.includes('admin')) {
    const crypto = new NodeKeyCrypto(await loadMasterKey(config));
    const ring = new KeyRing(new MikroOrmSigningKeyStore(orm), crypto, clock, keyRingPolicy(config));
    const cached = memoize(() => ring.jwks(), 5_000, now);
    // Unknown kids re-read the ring at most four times a second, so forged kids cannot flood the
    // database; well inside the publish lead (at least 1 s), so a new key is always read in time.
    const fresh = memoize(() => ring.jwks(), 250, now);
    const current = localKeySet(cached);
    const latest = localKeySet(fresh);
    localKeys = async (header, token) => {
      const known = (await cached()).keys.some((key) => key.kid === header.kid);
      // A key activated since the cache was filled: the ring itself is the truth.
      return (known ? current : latest)(header, token);
    };
    const signer = new JoseAccessTokenSigner(ring, crypto, clock, {
      audience: config.token_audience,
      lifetimeSeconds: config.token_lifetime_s,
    });
    const hasher = new ScryptSecretHasher();
    const users = new Users(userStore, new MikroOrmSessionStore(orm), hasher, clock, new UuidV7Ids(), audit);
    admin = {
      ring,
      keys: new ManageKeys(ring, audit),
      users,
      sessions: new UserSessions(users, signer, rate.limiter, audit),
      accounts: new ManageServiceAccounts(store, hasher, clock, audit),
      oauth: {
        grant: new ClientCredentialsGrant(store, hasher, signer, clock, rate.limiter, audit),
        // Served fresh: a key must be visible the moment it is published.
        jwks: () => ring.jwks(),
        issuerOf: (ctx) => issuerFrom(config.public_url ?? `${ctx.protocol}://${ctx.host}`),
      },
    };
    serviceToken ??= async () =>
      (
        await signer.sign({
          issuer: issuerFrom(config.public_url ?? ownUrl ?? 'http://localhost'),
          subject: ADMIN_ROLE_ACCOUNT,
          clientId: ADMIN_ROLE_ACCOUNT,
          scopes: [...INTERNAL_SCOPES],
        })
      ).token;
  } else {
    if (!config.issuer_url) throw new Error('issuer_url is required without the admin role');
  }

  // A remote set is cached shorter than the publish lead, so a new key is fetched before it signs.
  const leadMs = config.key_publish_lead_s * 1000;
  const keySet =
    localKeys ??
    new IssuerKeySet(new URL(`${issuerFrom(config.issuer_url!)}/.well-known/jwks.json`), {
      cacheMaxAgeMs: Math.min(5 * 60_000, Math.max(1_000, leadMs / 2)),
      cooldownMs: Math.min(30_000, Math.max(500, leadMs / 4)),
      staleGraceMs: config.issuer_keys_grace_s * 1000,
      cacheFile: join(config.data_dir, 'issuer-jwks.json'),
    }).getKey;
  const verifiers = new LRUCache<string, AccessTokenVerifier>({ max: 16 });
  const verifierFor = (issuer: string): AccessTokenVerifier => {
    let verifier = verifiers.get(issuer);
    if (!verifier) {
      verifier = new JoseAccessTokenVerifier(keySet, clock, { issuer, audience: config.token_audience });
      verifiers.set(issuer, verifier);
    }
    return verifier;
  };
  const fixedIssuer = config.public_url ?? (admin ? null : config.issuer_url!);
  const issuers = new LRUCache<string, string>({ max: 64 });
  const issuerOf = (ctx: Context): string => {
    const base = fixedIssuer ?? `${ctx.protocol}://${ctx.host}`;
    let issuer = issuers.get(base);
    if (issuer === undefined) {
      issuer = issuerFrom(base);
      issuers.set(base, issuer);
    }
    return issuer;
  };

  // A token verified once is not verified again until it expires (its claims cannot change); the
  // account or user behind it is still resolved on every request.
  const verified = new LRUCache<string, AccessTokenClaims>({ max: 10_000 });
  const verify = async (token: string, issuer: string): Promise<AccessTokenClaims> => {
    const key = `${issuer} ${token}`;
    const hit = verified.get(key);
    if (hit && hit.expiresAt.getTime() > now()) return hit;
    const claims = await verifierFor(issuer).verify(token);
    verified.set(key, claims, { ttl: Math.max(1, Math.min(60_000, claims.expiresAt.getTime() - now())) });
    return claims;
  };

  const authenticate: Authenticator = async (token, issuer) => {
    let claims;
    try {
      claims = await verify(token, issuer);
    } catch (error) {
      if (error instanceof IssuerUnavailable) {
        throw new ApplicationError(
          'signing_key_unavailable',
          'the token issuer cannot be reached to fetch the key of this token; retry shortly',
          {},
          { cause: error },
        );
      }
      if (error instanceof InvalidAccessToken) {
        log.debug({ reason: error.reason }, 'token refused');
        throw new ApplicationError('invalid_token', 'the access token is invalid or expired');
      }
      throw error;
    }
    return resolve.fromClaims(claims);
  };

  const identity: Identity = {
    authenticate,
    issuerOf,
    serviceToken: (rejected?: string) => {
      if (!serviceToken) {
        return Promise.reject(
          new ApplicationError(
            'storage_unavailable',
            'this process has no service account to call storage elements',
          ),
        );
      }
      return serviceToken(rejected);
    },
    admin,
    start: async (url) => {
      ownUrl = url;
      const unsubscribe = await store.listen();
      if (!admin) return unsubscribe;
      await admin.keys.ensureCurrent(SYSTEM_PRINCIPAL);
      await bootstrap(config, admin, store, log);
      const timer = setInterval(
        () => {
          admin!.keys
            .ensureCurrent(SYSTEM_PRINCIPAL)
            .catch((error: unknown) => log.warn({ err: error }, 'key rotation failed'));
        },
        Math.min(60_000, config.key_rotation_interval_s * 250),
      );
      timer.unref();
      return async () => {
        clearInterval(timer);
        await unsubscribe();
      };
    },
  };
  return { identity, close: rate.close };
}

/**
 * First start: the admin role's own internal account, and — when no ordinary account exists yet —
 * an admin service account whose credentials are printed once and written to the data directory.
 */
async function bootstrap(
  config: Config,
  admin: AdminIdentity,
  store: ServiceAccountStore,
  log: Logger,
): Promise<void> {
  if (!(await store.get(ADMIN_ROLE_ACCOUNT))) {
    await admin.accounts
      .create(
        SYSTEM_PRINCIPAL,
        { name: 'admin role (internal)', scopes: [...INTERNAL_SCOPES], internal: true, secretTtlDays: 3650 },
        { clientId: ADMIN_ROLE_ACCOUNT },
      )
      .catch((error: unknown) => {
        if (!(error instanceof ApplicationError && error.code === 'conflict')) throw error;
      });
  }
  const existing = await store.list({ cursor: null, limit: 50 });
  const people = await admin.users.listUsers(SYSTEM_PRINCIPAL, { cursor: null, limit: 1 });
  if (existing.items.some((a) => !a.internal) || people.items.length > 0) return;
  const created = await admin.accounts.create(
    SYSTEM_PRINCIPAL,
    { name: 'bootstrap admin', scopes: SCOPES.filter((s) => !INTERNAL_SCOPES.includes(s)) },
    {
      clientId: config.bootstrap_client_id ?? 'artstore-bootstrap',
      clientSecret: config.bootstrap_client_secret,
    },
  );
  // 32 random bytes as base64url: 43 characters, far past the policy's passphrase length.
  const password = config.bootstrap_admin_password ?? randomBytes(32).toString('base64url');
  const user = await admin.users.createUser(SYSTEM_PRINCIPAL, {
    username: config.bootstrap_admin_username,
    password,
    role: 'admin',
  });
  const path = await writeBootstrapCredentials(config.data_dir, {
    admin_user: { username: user.username, password },
    service_account: { client_id: created.account.id, client_secret: created.clientSecret },
  });
  log.warn({ client_id: created.account.id, file: path }, 'first start: bootstrap credentials created');
  process.stderr.write(
    `ArtStore first start: admin user '${user.username}' with password ${password}\n` +
      `ArtStore first start: admin service account '${created.account.id}' with secret ${created.clientSecret}\n` +
      `(also written to ${path}, mode 0600; shown once)\n`,
  );
}
