import { Redis } from 'ioredis';
import { ReadAudit } from '../application/audit/read-audit';
import { AuditTrail } from '../application/audit/audit-trail';
import { ApplicationError } from '../application/errors';
import { KeyRing } from '../application/identity/key-ring';
import { ManageKeys, type SigningKeyView } from '../application/identity/manage-keys';
import { ManageServiceAccounts, type ServiceAccountView } from '../application/identity/service-accounts';
import type { EventBus } from '../application/ports/event-bus';
import { SYSTEM_PRINCIPAL, type Principal } from '../domain/access/principal';
import { NodeKeyCrypto, SigningKeyDecryptionError } from '../adapters/auth/node-key-crypto';
import { ScryptSecretHasher } from '../adapters/auth/scrypt-secret-hasher';
import { CachingServiceAccountStore } from '../adapters/cache/caching-service-account-store';
import { accountView } from '../adapters/http/account-routes';
import { MemoryEventBus } from '../adapters/memory/memory-event-bus';
import type { Orm } from '../adapters/persistence/database';
import { MikroOrmAuditLog } from '../adapters/persistence/mikro-orm-audit-log';
import { MikroOrmServiceAccountStore } from '../adapters/persistence/mikro-orm-service-account-store';
import { MikroOrmSigningKeyStore } from '../adapters/persistence/mikro-orm-signing-key-store';
import { RedisEventBus } from '../adapters/redis/redis-event-bus';
import { SystemClock } from '../adapters/system/system-clock';
import type { Logger } from '../adapters/telemetry/logger';
import type { IdentityCommand } from './cli-identity-args';
import type { Config } from './config';
import { keyRingPolicy } from './key-ring-policy';
import { loadMasterKey, masterKeyPath } from './master-key';

export { IDENTITY_OPTIONS, isIdentityCommand, parseIdentityCommand, UsageError } from './cli-identity-args';

/** `artstore audit verify` found an entry that does not belong to the chain: exit code 1. */
export class AuditChainBroken extends Error {
  override readonly name = 'AuditChainBroken';
  constructor(
    readonly seq: number,
    readonly reason: string,
  ) {
    super(`the audit chain is broken at entry ${seq}: ${reason}`);
  }
}

/** Where results go: one JSON document per call (secrets appear here and nowhere else). */
export type Print = (value: unknown) => void;

const LIST_PAGE = 200;
/** The system principal, named so the audit log tells offline CLI actions from the server's own. */
const CLI_PRINCIPAL: Principal = { ...SYSTEM_PRINCIPAL, subject: 'artstore-cli' };

/**
 * The offline admin commands (`artstore accounts …`, `artstore keys rotate`), run against the
 * database directly with the system principal: for the first account, or when the API is down.
 */
export async function runIdentityCommand(
  command: IdentityCommand,
  config: Config,
  orm: Orm,
  log: Logger,
  print: Print,
): Promise<void> {
  const clock = new SystemClock();
  const audit = new AuditTrail(new MikroOrmAuditLog(orm, clock));
  if (command.kind === 'audit verify') {
    const result = await new ReadAudit(new MikroOrmAuditLog(orm, clock)).verify(CLI_PRINCIPAL);
    print(result);
    if (!result.ok) throw new AuditChainBroken(result.seq, result.reason);
    return;
  }
  if (command.kind === 'keys rotate') {
    print(keyOutput(await rotateKey(config, orm, audit)));
    return;
  }
  const events = await eventBus(config, log);
  try {
    // Writes announce account.changed, so running servers sharing Redis drop their cached copy.
    const store = new CachingServiceAccountStore(new MikroOrmServiceAccountStore(orm), events.bus, {
      maxEntries: 16,
      ttlMs: 1,
    });
    const accounts = new ManageServiceAccounts(store, new ScryptSecretHasher(), clock, audit);
    switch (command.kind) {
      case 'accounts create': {
        const created = await accounts.create(CLI_PRINCIPAL, command.settings);
        print({ ...accountView(created.account), client_secret: created.clientSecret });
        return;
      }
      case 'accounts rotate-secret': {
        const rotated = await accounts.rotateSecret(CLI_PRINCIPAL, command.clientId, command.secretTtlDays);
        print({ ...accountView(rotated.account), client_secret: rotated.clientSecret });
        return;
      }
      case 'accounts list':
        for await (const account of allAccounts(accounts, command.limit)) print(accountView(account));
        return;
    }
  } finally {
    await events.close();
  }
}

async function* allAccounts(
  accounts: ManageServiceAccounts,
  limit: number | null,
): AsyncGenerator<ServiceAccountView> {
  let left = limit ?? Infinity;
  let cursor: string | null = null;
  do {
    const page = await accounts.list(CLI_PRINCIPAL, { cursor, limit: Math.min(LIST_PAGE, left) });
    for (const account of page.items) yield account;
    left -= page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== null && left > 0);
}

/** Redis when configured (servers listen there); otherwise nobody else can hear us. */
async function eventBus(
  config: Config,
  log: Logger,
): Promise<{ bus: EventBus; close: () => Promise<unknown> }> {
  if (!config.redis_url) return { bus: new MemoryEventBus(), close: async () => undefined };
  const redis = new Redis(config.redis_url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (error) {
    log.warn(
      { err: error },
      'redis unreachable: running servers see the change once their cache expires (5 s)',
    );
    redis.disconnect();
    return { bus: new MemoryEventBus(), close: async () => undefined };
  }
  return { bus: new RedisEventBus(redis, redis, config.redis_prefix), close: () => redis.quit() };
}

/**
 * A successor published now that signs after the publish lead, exactly as the server's schedule
 * would make it. An empty ring gets its first key instead, signing at once, as the server does.
 */
async function rotateKey(config: Config, orm: Orm, audit: AuditTrail): Promise<SigningKeyView> {
  const store = new MikroOrmSigningKeyStore(orm);
  const existing = await store.list();
  // Only an empty ring may get a fresh master key: any other would seal a key the server cannot open.
  const master = await loadMasterKey(config, { create: existing.length === 0 });
  if (master === null) {
    throw new ApplicationError(
      'signing_key_unavailable',
      `no master key: set ARTSTORE_AUTH_MASTER_KEY or --data-dir to the server's (no ${masterKeyPath(config.data_dir)})`,
    );
  }
  const crypto = new NodeKeyCrypto(master);
  const newest = existing.at(-1);
  if (newest) {
    try {
      crypto.openPrivateKey(newest.kid, newest.encryptedPrivateKey);
    } catch (error) {
      if (!(error instanceof SigningKeyDecryptionError)) throw error;
      throw new ApplicationError(
        'signing_key_unavailable',
        "this master key does not open the existing signing keys: use the server's ARTSTORE_AUTH_MASTER_KEY or --data-dir",
      );
    }
  }
  const ring = new KeyRing(store, crypto, new SystemClock(), keyRingPolicy(config));
  const keys = new ManageKeys(ring, audit);
  if (existing.length > 0) return keys.rotate(CLI_PRINCIPAL);
  await keys.ensureCurrent(CLI_PRINCIPAL);
  return ring.signingKey();
}

function keyOutput(key: SigningKeyView): Record<string, unknown> {
  return {
    kid: key.kid,
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
  };
}
