import { ScryptSecretHasher } from '../../../src/adapters/auth/scrypt-secret-hasher';

const hasher = new ScryptSecretHasher({ N: 2 ** 10, r: 8, p: 1 });

describe('ScryptSecretHasher', () => {
  it('verifies the secret it hashed and nothing else', async () => {
    const encoded = await hasher.hash('correct horse battery staple');
    expect(encoded).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/u);
    expect(await hasher.verify('correct horse battery staple', encoded)).toBe(true);
    expect(await hasher.verify('correct horse battery stapl', encoded)).toBe(false);
    expect(await hasher.verify('', encoded)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('treats NFC and NFD spellings of a password as the same password', async () => {
    const encoded = await hasher.hash('caf\u00e9');
    expect(await hasher.verify('cafe\u0301', encoded)).toBe(true);
  });

  it('verifies hashes made with other costs, as parameters travel with the hash', async () => {
    const stronger = new ScryptSecretHasher({ N: 2 ** 11, r: 8, p: 2 });
    expect(await hasher.verify('s3cret', await stronger.hash('s3cret'))).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['another scheme', 'bcrypt$2b$10$abc'],
    ['a cost that is not a power of two', 'scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43)],
    ['a truncated key', 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA'],
    ['missing fields', 'scrypt$1024$8$1'],
  ])('answers false for %s', async (_name, encoded) => {
    expect(await hasher.verify('anything', encoded)).toBe(false);
  });
});
