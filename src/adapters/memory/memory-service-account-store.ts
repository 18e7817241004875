import { ApplicationError } from '../../application/errors';
import type { Page } from '../../application/ports/file-index';
import type { ServiceAccountStore } from '../../application/ports/service-account-store';
import type { ServiceAccount } from '../../domain/access/service-account';
import { decodeCursor, encodeCursor } from './cursor';

export class MemoryServiceAccountStore implements ServiceAccountStore {
  private readonly accounts = new Map<string, ServiceAccount>();

  async insert(account: ServiceAccount): Promise<void> {
    if (this.accounts.has(account.id)) {
      throw new ApplicationError('conflict', `service account '${account.id}' already exists`);
    }
    this.accounts.set(account.id, account);
  }

  async get(id: string): Promise<ServiceAccount | null> {
    return this.accounts.get(id) ?? null;
  }

  async list(options: { cursor: string | null; limit: number }): Promise<Page<ServiceAccount>> {
    const after = options.cursor ? String(decodeCursor(options.cursor, ['key'])[0]) : null;
    const sorted = [...this.accounts.values()]
      .filter((a) => after === null || a.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const items = sorted.slice(0, options.limit);
    const last = items.at(-1);
    return { items, nextCursor: sorted.length > options.limit && last ? encodeCursor([last.id]) : null };
  }

  async update(account: ServiceAccount): Promise<boolean> {
    if (!this.accounts.has(account.id)) return false;
    this.accounts.set(account.id, account);
    return true;
  }

  async delete(id: string): Promise<boolean> {
    return this.accounts.delete(id);
  }

  async touch(id: string, at: Date): Promise<void> {
    const account = this.accounts.get(id);
    if (account) this.accounts.set(id, { ...account, lastUsedAt: at });
  }
}
