import { createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import {
  NodeKeyCrypto,
  SigningKeyDecryptionError,
  parseMasterKey,
} from '../../../src/adapters/auth/node-key-crypto';
import type { GeneratedKey } from '../../../src/application/ports/signing-keys';

const MASTER = randomBytes(32);

describe('parseMasterKey', () => {
  it.each([
    ['hex', MASTER.toString('hex')],
    ['upper-case hex', MASTER.toString('hex').toUpperCase()],
    ['base64', MASTER.toString('base64')],
    ['base64url', MASTER.toString('base64url')],
    ['base64 with surrounding whitespace', ` ${MASTER.toString('base64')}\n`],
  ])('accepts %s', (_name, text) => {
    expect(parseMasterKey(text)).toEqual(MASTER);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['33 bytes', randomBytes(33).toString('hex')],
    ['an empty string', ''],
    ['a passphrase', 'correct horse battery staple!'],
  ])('rejects %s', (_name, text) => {
    expect(() => parseMasterKey(text)).toThrow(/32 bytes/u);
  });
});

describe('NodeKeyCrypto', () => {
  const crypto = new NodeKeyCrypto(MASTER.toString('base64'));
  let key: GeneratedKey;
  beforeAll(async () => {
    key = await crypto.generate();
  });

  it('makes an RSA-2048 key whose kid is its RFC 7638 thumbprint and whose private half opens and signs', async () => {
    expect(key.publicJwk).toEqual({
      kty: 'RSA',
      n: expect.any(String),
      e: 'AQAB',
      kid: key.kid,
      alg: 'RS256',
      use: 'sig',
    });
    expect(Buffer.from(key.publicJwk.n, 'base64url')).toHaveLength(256);
    expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    const privateKey = crypto.openPrivateKey(key.kid, key.encryptedPrivateKey);
    const signature = sign('sha256', Buffer.from('x'), privateKey);
    const publicKey = createPublicKey({ key: { ...key.publicJwk }, format: 'jwk' });
    expect(verify('sha256', Buffer.from('x'), publicKey, signature)).toBe(true);
  });

  it('stores no plaintext: the private key is ciphertext with a fresh 12-byte IV each time', async () => {
    const [format, iv, tag] = key.encryptedPrivateKey.split('.');
    expect(format).toBe('v1');
    expect(Buffer.from(iv ?? '', 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag ?? '', 'base64url')).toHaveLength(16);
    expect(key.encryptedPrivateKey).not.toContain('MII');
    const another = await crypto.generate();
    expect(another.encryptedPrivateKey.split('.')[1]).not.toBe(iv);
    expect(another.kid).not.toBe(key.kid);
  });

  it('a wrong master key cannot decrypt, and says so clearly', () => {
    const wrong = new NodeKeyCrypto(randomBytes(32));
    expect(() => wrong.openPrivateKey(key.kid, key.encryptedPrivateKey)).toThrow(SigningKeyDecryptionError);
    expect(() => wrong.openPrivateKey(key.kid, key.encryptedPrivateKey)).toThrow(
      /wrong master key or tampered ciphertext/u,
    );
  });

  const tamper = (index: number, flip: (b: Buffer) => void) => (encrypted: string) => {
    const parts = encrypted.split('.');
    const bytes = Buffer.from(parts[index] ?? '', 'base64url');
    flip(bytes);
    parts[index] = bytes.toString('base64url');
    return parts.join('.');
  };
  it.each([
    ['a flipped ciphertext byte', tamper(3, (b) => (b[10] = (b[10] ?? 0) ^ 1))],
    ['a flipped tag byte', tamper(2, (b) => (b[0] = (b[0] ?? 0) ^ 1))],
    ['a flipped IV byte', tamper(1, (b) => (b[0] = (b[0] ?? 0) ^ 1))],
    ['a truncated ciphertext', (e: string) => e.slice(0, -4)],
    ['an unknown format', (e: string) => e.replace(/^v1\./u, 'v9.')],
    ['a missing part', (e: string) => e.split('.').slice(0, 3).join('.')],
  ])('rejects %s', (_name, alter) => {
    expect(() => crypto.openPrivateKey(key.kid, alter(key.encryptedPrivateKey))).toThrow(
      SigningKeyDecryptionError,
    );
  });

  it('binds the ciphertext to its kid: moved to another record it does not open', () => {
    expect(() => crypto.openPrivateKey('another-kid', key.encryptedPrivateKey)).toThrow(
      SigningKeyDecryptionError,
    );
  });

  it('refuses a master key of the wrong length', () => {
    expect(() => new NodeKeyCrypto(randomBytes(31))).toThrow(/32 bytes/u);
  });
});
