import { InvalidCursor } from '../../src/adapters/memory/cursor';
import type { ServiceAccountStore } from '../../src/application/ports/service-account-store';
import type { ServiceAccount } from '../../src/domain/access/service-account';

export interface ServiceAccountStoreHarness {
  readonly store: ServiceAccountStore;
  cleanup(): Promise<void>;
}

const AT = new Date('2026-12-01T10:00:00.123Z');

export function anAccount(overrides: Partial<ServiceAccount> = {}): ServiceAccount {
  return {
    id: 'sa_0001',
    name: 'ingest robot',
    scopes: ['files:read', 'files:write'],
    collections: { 'files:write': ['invoices-*', 'hr'] },
    status: 'active',
    secretHash: 'scrypt$1024$8$1$salt$key',
    secretExpiresAt: new Date(AT.getTime() + 90 * 86_400_000),
    rateLimitPerMinute: 600,
    internal: false,
    createdAt: AT,
    updatedAt: AT,
    lastUsedAt: null,
    ...overrides,
  };
}

export function describeServiceAccountStoreContract(
  name: string,
  open: () => Promise<ServiceAccountStoreHarness>,
): void {
  describe(`ServiceAccountStore contract: ${name}`, () => {
    let harness: ServiceAccountStoreHarness;
    let store: ServiceAccountStore;
    beforeEach(async () => {
      harness = await open();
      store = harness.store;
    });
    afterEach(() => harness.cleanup());

    it('returns what was inserted, field for field, with dates to the millisecond', async () => {
      const account = anAccount();
      await store.insert(account);
      expect(await store.get(account.id)).toEqual(account);
      expect(await store.get('sa_missing')).toBeNull();
    });

    it('refuses a second account with the same id and keeps the first', async () => {
      await store.insert(anAccount());
      await expect(store.insert(anAccount({ name: 'impostor' }))).rejects.toMatchObject({ code: 'conflict' });
      expect((await store.get('sa_0001'))?.name).toBe('ingest robot');
    });

    it('replaces an account on update and answers false for a missing one', async () => {
      await store.insert(anAccount());
      const changed = anAccount({
        status: 'suspended',
        scopes: ['admin:read'],
        collections: {},
        rateLimitPerMinute: null,
        updatedAt: new Date(AT.getTime() + 1000),
      });
      expect(await store.update(changed)).toBe(true);
      expect(await store.get('sa_0001')).toEqual(changed);
      expect(await store.update(anAccount({ id: 'sa_missing' }))).toBe(false);
    });

    it('records the last use without touching anything else', async () => {
      await store.insert(anAccount());
      const used = new Date(AT.getTime() + 5000);
      await store.touch('sa_0001', used);
      await store.touch('sa_missing', used);
      expect(await store.get('sa_0001')).toEqual(anAccount({ lastUsedAt: used }));
    });

    it('deletes an account once', async () => {
      await store.insert(anAccount());
      expect(await store.delete('sa_0001')).toBe(true);
      expect(await store.delete('sa_0001')).toBe(false);
      expect(await store.get('sa_0001')).toBeNull();
    });

    it('lists every account exactly once in id order with a keyset cursor', async () => {
      const ids = ['sa_c', 'sa_a', 'sa_e', 'sa_b', 'sa_d'];
      for (const id of ids) await store.insert(anAccount({ id }));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.list({ cursor, limit: 2 });
        seen.push(...page.items.map((a) => a.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...ids].sort());
    });

    it('rejects a cursor it never issued', async () => {
      await expect(store.list({ cursor: 'bm90IGEgY3Vyc29y', limit: 2 })).rejects.toBeInstanceOf(
        InvalidCursor,
      );
    });
  });
}
