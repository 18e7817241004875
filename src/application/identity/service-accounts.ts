import { randomBytes } from 'node:crypto';
import type { Principal, Scope } from '../../domain/access/principal';
import { INTERNAL_SCOPES, secretExpiry, type ServiceAccount } from '../../domain/access/service-account';
import type { AuditTrail } from '../audit/audit-trail';
import { ApplicationError } from '../errors';
import type { Clock } from '../ports/clock';
import type { Page } from '../ports/file-index';
import type { SecretHasher } from '../ports/secret-hasher';
import type { ServiceAccountStore } from '../ports/service-account-store';
import { requireScope } from '../shared/authorize';

/** What callers see of an account: never the secret hash. */
export type ServiceAccountView = Omit<ServiceAccount, 'secretHash'>;

export interface AccountSettings {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly collections?: Readonly<Partial<Record<Scope, readonly string[]>>>;
  readonly rateLimitPerMinute?: number | null;
  readonly secretTtlDays?: number;
  readonly internal?: boolean;
}

export type AccountChanges = Partial<Omit<AccountSettings, 'internal' | 'secretTtlDays'>>;

/** The secret exists in clear only in this answer (§6: shown once). */
export interface AccountWithSecret {
  readonly account: ServiceAccountView;
  readonly clientSecret: string;
}

const view = ({ secretHash: _hidden, ...rest }: ServiceAccount): ServiceAccountView => rest;
const newSecret = (): string => randomBytes(32).toString('base64url');
const newClientId = (): string => `sa_${randomBytes(12).toString('hex')}`;

/** Admin use cases for service accounts (§6). */
export class ManageServiceAccounts {
  constructor(
    private readonly store: ServiceAccountStore,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    private readonly audit: AuditTrail,
  ) {}

  /** `credentials` fixes the client id and secret (first-start bootstrap from config); else both are generated. */
  async create(
    principal: Principal,
    settings: AccountSettings,
    credentials: { clientId?: string | undefined; clientSecret?: string | undefined } = {},
  ): Promise<AccountWithSecret> {
    requireScope(principal, 'admin:write');
    refuseInternalScopes(settings.scopes, settings.internal ?? false);
    const now = this.clock.now();
    const clientSecret = credentials.clientSecret ?? newSecret();
    const account: ServiceAccount = {
      id: credentials.clientId ?? newClientId(),
      name: settings.name,
      scopes: [...new Set(settings.scopes)],
      collections: settings.collections ?? {},
      status: 'active',
      secretHash: await this.hasher.hash(clientSecret),
      secretExpiresAt: secretExpiry(now, settings.secretTtlDays),
      rateLimitPerMinute: settings.rateLimitPerMinute ?? null,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      internal: settings.internal ?? false,
    };
    await this.store.insert(account);
    await this.audit.record(principal, 'account.created', 'success', {
      target: account.id,
      details: { scopes: [...account.scopes], internal: account.internal },
    });
    return { account: view(account), clientSecret };
  }

  async list(
    principal: Principal,
    options: { cursor: string | null; limit: number },
  ): Promise<Page<ServiceAccountView>> {
    requireScope(principal, 'admin:read');
    const page = await this.store.list(options);
    return { items: page.items.map(view), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string): Promise<ServiceAccountView> {
    requireScope(principal, 'admin:read');
    return view(await this.existing(id));
  }

  async update(principal: Principal, id: string, changes: AccountChanges): Promise<ServiceAccountView> {
    requireScope(principal, 'admin:write');
    const current = await this.existing(id);
    if (changes.scopes) refuseInternalScopes(changes.scopes, current.internal);
    const next: ServiceAccount = {
      ...current,
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.scopes !== undefined ? { scopes: [...new Set(changes.scopes)] } : {}),
      ...(changes.collections !== undefined ? { collections: changes.collections } : {}),
      ...(changes.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: changes.rateLimitPerMinute } : {}),
      updatedAt: this.clock.now(),
    };
    const saved = view(await this.save(next));
    const grants = changes.scopes !== undefined || changes.collections !== undefined;
    await this.audit.record(principal, grants ? 'grant.changed' : 'account.updated', 'success', {
      target: id,
      details: { changed: Object.keys(changes) },
    });
    return saved;
  }

  async setStatus(
    principal: Principal,
    id: string,
    status: ServiceAccount['status'],
  ): Promise<ServiceAccountView> {
    requireScope(principal, 'admin:write');
    const current = await this.existing(id);
    const saved = view(await this.save({ ...current, status, updatedAt: this.clock.now() }));
    await this.audit.record(
      principal,
      status === 'suspended' ? 'account.suspended' : 'account.updated',
      'success',
      {
        target: id,
        details: { status },
      },
    );
    return saved;
  }

  /** A new secret; the old one stops working at once. */
  async rotateSecret(principal: Principal, id: string, secretTtlDays?: number): Promise<AccountWithSecret> {
    requireScope(principal, 'admin:write');
    const current = await this.existing(id);
    const now = this.clock.now();
    const clientSecret = newSecret();
    const next = await this.save({
      ...current,
      secretHash: await this.hasher.hash(clientSecret),
      secretExpiresAt: secretExpiry(now, secretTtlDays),
      updatedAt: now,
    });
    await this.audit.record(principal, 'account.secret_rotated', 'success', { target: id });
    return { account: view(next), clientSecret };
  }

  async delete(principal: Principal, id: string): Promise<void> {
    requireScope(principal, 'admin:write');
    if (!(await this.store.delete(id))) throw notFound(id);
    await this.audit.record(principal, 'account.deleted', 'success', { target: id });
  }

  private async existing(id: string): Promise<ServiceAccount> {
    const account = await this.store.get(id);
    if (!account) throw notFound(id);
    return account;
  }

  private async save(account: ServiceAccount): Promise<ServiceAccount> {
    if (!(await this.store.update(account))) throw notFound(account.id);
    return account;
  }
}

function refuseInternalScopes(scopes: readonly Scope[], internal: boolean): void {
  const internalOnly = scopes.filter((s) => INTERNAL_SCOPES.includes(s));
  if (!internal && internalOnly.length > 0) {
    throw new ApplicationError(
      'invalid_request',
      `${internalOnly.join(', ')} belong to the roles' internal accounts only`,
      { field: 'scopes' },
    );
  }
}

function notFound(id: string): ApplicationError {
  return new ApplicationError('account_not_found', `service account '${id}' does not exist`);
}
