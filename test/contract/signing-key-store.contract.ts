import type { SigningKeyRecord, SigningKeyStore } from '../../src/application/ports/signing-keys';
import { T0 } from '../support/builders';

export interface SigningKeyStoreHarness {
  readonly store: SigningKeyStore;
  cleanup(): Promise<void>;
}

const at = (offsetMs: number): Date => new Date(T0.getTime() + offsetMs);

function aKey(kid: string, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return {
    kid,
    publicJwk: { kty: 'RSA', n: `modulus-${kid}`, e: 'AQAB', kid, alg: 'RS256', use: 'sig' },
    encryptedPrivateKey: `v1.iv.tag.ciphertext-${kid}`,
    createdAt: at(0),
    activatesAt: at(0),
    retiredAt: null,
    ...overrides,
  };
}

export function describeSigningKeyStoreContract(
  name: string,
  open: () => Promise<SigningKeyStoreHarness>,
): void {
  describe(`SigningKeyStore contract: ${name}`, () => {
    let harness: SigningKeyStoreHarness;
    beforeEach(async () => {
      harness = await open();
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('starts empty', async () => {
      await expect(harness.store.list()).resolves.toEqual([]);
    });

    it('round-trips every field, millisecond times and a null retiredAt included', async () => {
      const key = aKey('k1', { createdAt: at(123), activatesAt: at(600_456) });
      await harness.store.save(key);
      await expect(harness.store.list()).resolves.toEqual([key]);
    });

    it('lists oldest first, then by kid', async () => {
      await harness.store.save(aKey('c', { createdAt: at(2000) }));
      await harness.store.save(aKey('b', { createdAt: at(1000) }));
      await harness.store.save(aKey('a', { createdAt: at(2000) }));
      expect((await harness.store.list()).map((k) => k.kid)).toEqual(['b', 'a', 'c']);
    });

    it('replaces the record with the same kid (retiring a key)', async () => {
      const key = aKey('k1');
      await harness.store.save(key);
      await harness.store.save({ ...key, retiredAt: at(60_000) });
      await expect(harness.store.list()).resolves.toEqual([{ ...key, retiredAt: at(60_000) }]);
    });

    it('deletes the given kids only, ignoring unknown ones and an empty list', async () => {
      for (const kid of ['k1', 'k2', 'k3']) await harness.store.save(aKey(kid));
      await harness.store.delete([]);
      await harness.store.delete(['k1', 'k3', 'nope']);
      expect((await harness.store.list()).map((k) => k.kid)).toEqual(['k2']);
    });

    it('hands out copies: changing a listed record does not change the store', async () => {
      await harness.store.save(aKey('k1'));
      const [listed] = await harness.store.list();
      (listed as { retiredAt: Date | null }).retiredAt = at(1);
      expect((await harness.store.list())[0]?.retiredAt).toBeNull();
    });
  });
}
