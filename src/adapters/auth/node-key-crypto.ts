import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  generateKeyPair,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import type { GeneratedKey, KeyCrypto, PublicJwk } from '../../application/ports/signing-keys';

const generateRsa = promisify(generateKeyPair);
const FORMAT = 'v1';
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit random IVs
const TAG_BYTES = 16;

/** Thrown when a stored private key cannot be opened: wrong master key or altered ciphertext. */
export class SigningKeyDecryptionError extends Error {
  override readonly name = 'SigningKeyDecryptionError';
}

/** The master key from config: 32 bytes as 64 hex digits or base64 (standard or url-safe). */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-f]{64}$/iu.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/u.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : Buffer.alloc(0);
  if (bytes.length !== 32) {
    throw new Error('signing master key must be 32 bytes, given as 64 hex digits or base64');
  }
  return bytes;
}

/** RFC 7638 JWK thumbprint: the kid is derived from the key, so it never collides by accident. */
function thumbprint(n: string, e: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }))
    .digest('base64url');
}

/**
 * RSA-2048 key pairs whose private half is stored as AES-256-GCM over PKCS#8 DER:
 * `v1.<iv>.<tag>.<ciphertext>` (base64url). The kid is the additional authenticated data, so a
 * ciphertext moved to another record fails to open as well.
 */
export class NodeKeyCrypto implements KeyCrypto {
  private readonly masterKey: Buffer;

  constructor(masterKey: string | Buffer) {
    this.masterKey = typeof masterKey === 'string' ? parseMasterKey(masterKey) : Buffer.from(masterKey);
    if (this.masterKey.length !== 32) throw new Error('signing master key must be 32 bytes');
  }

  async generate(): Promise<GeneratedKey> {
    const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
    const { n, e } = publicKey.export({ format: 'jwk' });
    if (!n || !e) throw new Error('node:crypto exported an RSA public key without n or e');
    const kid = thumbprint(n, e);
    const publicJwk: PublicJwk = { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' };
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    return { kid, publicJwk, encryptedPrivateKey: this.encrypt(kid, der) };
  }

  /** The private key of a record; throws SigningKeyDecryptionError if it does not authenticate. */
  openPrivateKey(kid: string, encryptedPrivateKey: string): KeyObject {
    const parts = encryptedPrivateKey.split('.');
    const [format, iv, tag, data] = parts;
    if (parts.length !== 4 || format !== FORMAT || !iv || !tag || !data) {
      throw new SigningKeyDecryptionError(`signing key ${kid}: unrecognised encrypted key format`);
    }
    let der: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      der = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
    } catch (cause) {
      throw new SigningKeyDecryptionError(
        `signing key ${kid} cannot be decrypted: wrong master key or tampered ciphertext`,
        { cause },
      );
    }
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  }

  private encrypt(kid: string, plaintext: Buffer): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return [FORMAT, iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }
}
