import type { EventBus } from '../../application/ports/event-bus';
import type { Page } from '../../application/ports/file-index';
import type { ServiceAccountStore } from '../../application/ports/service-account-store';
import type { ServiceAccount } from '../../domain/access/service-account';
import { ReadThroughCache } from './read-through-cache';

/**
 * Accounts are read on every authenticated request. This keeps them in memory for a short TTL;
 * its own writes invalidate at once and announce `account.changed`, which other processes use to
 * drop their copy, so a suspension takes effect everywhere within the TTL at worst.
 */
export class CachingServiceAccountStore implements ServiceAccountStore {
  private readonly cache: ReadThroughCache<ServiceAccount>;

  constructor(
    private readonly inner: ServiceAccountStore,
    private readonly events: EventBus,
    options: { maxEntries: number; ttlMs: number },
  ) {
    this.cache = new ReadThroughCache({ max: options.maxEntries, ttlMs: options.ttlMs });
  }

  listen(): Promise<() => Promise<void>> {
    return this.events.subscribe('account.changed', ({ accountId }) => this.cache.forget(accountId));
  }

  get(id: string): Promise<ServiceAccount | null> {
    return this.cache.read(id, () => this.inner.get(id));
  }

  list(options: { cursor: string | null; limit: number }): Promise<Page<ServiceAccount>> {
    return this.inner.list(options);
  }

  insert(account: ServiceAccount): Promise<void> {
    return this.changing(account.id, () => this.inner.insert(account));
  }

  update(account: ServiceAccount): Promise<boolean> {
    return this.changing(account.id, () => this.inner.update(account));
  }

  delete(id: string): Promise<boolean> {
    return this.changing(id, () => this.inner.delete(id));
  }

  touch(id: string, at: Date): Promise<void> {
    // Last use is informational: no need to invalidate anyone's copy for it.
    return this.inner.touch(id, at);
  }

  private async changing<T>(id: string, write: () => Promise<T>): Promise<T> {
    const result = await this.cache.writing(id, write);
    await this.events.publish('account.changed', { accountId: id }).catch(() => undefined);
    return result;
  }
}
