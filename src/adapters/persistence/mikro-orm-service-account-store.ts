import { UniqueConstraintViolationException, type InferEntity } from '@mikro-orm/postgresql';
import { ApplicationError } from '../../application/errors';
import type { Page } from '../../application/ports/file-index';
import type { ServiceAccountStore } from '../../application/ports/service-account-store';
import type { Scope } from '../../domain/access/principal';
import type { ServiceAccount } from '../../domain/access/service-account';
import { decodeCursor, encodeCursor } from '../memory/cursor';
import type { Orm } from './database';
import { ServiceAccountRow } from './entities';

type Row = InferEntity<typeof ServiceAccountRow>;

function toAccount(row: Row): ServiceAccount {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as Scope[],
    collections: row.collections as Partial<Record<Scope, string[]>>,
    status: row.status === 'suspended' ? 'suspended' : 'active',
    secretHash: row.secretHash,
    secretExpiresAt: row.secretExpiresAt,
    rateLimitPerMinute: row.rateLimitPerMinute ?? null,
    internal: row.internal,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastUsedAt: row.lastUsedAt ?? null,
  };
}

function toRow(account: ServiceAccount) {
  return {
    ...account,
    scopes: [...account.scopes],
    collections: Object.fromEntries(
      Object.entries(account.collections).map(([scope, patterns]) => [scope, [...(patterns ?? [])]]),
    ),
  };
}

export class MikroOrmServiceAccountStore implements ServiceAccountStore {
  constructor(private readonly orm: Orm) {}

  async insert(account: ServiceAccount): Promise<void> {
    try {
      await this.orm.em.fork().insert(ServiceAccountRow, toRow(account));
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ApplicationError('conflict', `service account '${account.id}' already exists`);
      }
      throw error;
    }
  }

  async get(id: string): Promise<ServiceAccount | null> {
    const row = await this.orm.em.fork().findOne(ServiceAccountRow, { id });
    return row ? toAccount(row) : null;
  }

  async list(options: { cursor: string | null; limit: number }): Promise<Page<ServiceAccount>> {
    const after = options.cursor ? String(decodeCursor(options.cursor, ['key'])[0]) : null;
    const rows = await this.orm.em.fork().find(ServiceAccountRow, after ? { id: { $gt: after } } : {}, {
      orderBy: { id: 'asc' },
      limit: options.limit + 1,
    });
    const items = rows.slice(0, options.limit).map(toAccount);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last ? encodeCursor([last.id]) : null };
  }

  async update(account: ServiceAccount): Promise<boolean> {
    const { id, ...rest } = toRow(account);
    const changed = await this.orm.em.fork().nativeUpdate(ServiceAccountRow, { id }, rest);
    return changed > 0;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.orm.em.fork().nativeDelete(ServiceAccountRow, { id })) > 0;
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.orm.em.fork().nativeUpdate(ServiceAccountRow, { id }, { lastUsedAt: at });
  }
}
