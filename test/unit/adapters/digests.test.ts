import { createHash } from 'node:crypto';
import { mergeDigests, parseDigestHeader, reprDigest } from '../../../src/adapters/http/digests';
import { HttpError } from '../../../src/adapters/http/problem';

const CONTENT = Buffer.from('hello world');
const SHA256 = createHash('sha256').update(CONTENT).digest();
const SHA512 = createHash('sha512').update(CONTENT).digest();
const OTHER256 = createHash('sha256').update('other').digest();
const sf = (bytes: Buffer): string => `:${bytes.toString('base64')}:`;

function errorOf(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected an HttpError, nothing was thrown');
}

describe('parseDigestHeader', () => {
  it.each<[string, string | undefined, object]>([
    ['no header', undefined, {}],
    ['an empty header', '', {}],
    ['sha-256', `sha-256=${sf(SHA256)}`, { sha256: SHA256.toString('hex') }],
    ['sha-512', `sha-512=${sf(SHA512)}`, { sha512: SHA512.toString('hex') }],
    [
      'both, with spaces',
      ` sha-512=${sf(SHA512)} ,  sha-256=${sf(SHA256)} `,
      { sha256: SHA256.toString('hex'), sha512: SHA512.toString('hex') },
    ],
    ['an upper-case algorithm name', `SHA-256=${sf(SHA256)}`, { sha256: SHA256.toString('hex') }],
    ['unknown algorithms only', 'md5=:XrY7u+Ae7tCTyyK7j1rNww==:, unixsum=30637, id-sha-256=:x:', {}],
    [
      'unknown algorithms beside a known one',
      `crc32c=:yZRlqg==:, sha-256=${sf(SHA256)}, adler=:AAAA:`,
      { sha256: SHA256.toString('hex') },
    ],
    ['a member without a value', `sha-256, sha-512=${sf(SHA512)}`, { sha512: SHA512.toString('hex') }],
    [
      'the same value twice',
      `sha-256=${sf(SHA256)}, sha-256=${sf(SHA256)}`,
      { sha256: SHA256.toString('hex') },
    ],
    [
      'base64 without padding',
      `sha-256=:${SHA256.toString('base64').replace(/=+$/u, '')}:`,
      { sha256: SHA256.toString('hex') },
    ],
  ])('reads %s', (_label, header, expected) => {
    expect(parseDigestHeader(header, 'Content-Digest')).toEqual(expected);
  });

  it.each<[string, string]>([
    ['no colons', `sha-256=${SHA256.toString('base64')}`],
    ['hex instead of base64', `sha-256=:${SHA256.toString('hex')}:`],
    ['a quoted string', `sha-256="${SHA256.toString('base64')}"`],
    ['a too-short value', `sha-256=${sf(SHA256.subarray(0, 16))}`],
    ['a sha-512 value under sha-256', `sha-256=${sf(SHA512)}`],
    ['a sha-256 value under sha-512', `sha-512=${sf(SHA256)}`],
    ['characters outside base64', 'sha-256=:abc$def:'],
    ['an empty byte sequence', 'sha-256=::'],
    ['padding in the middle', `sha-256=:AA==${SHA256.toString('base64')}:`],
  ])('refuses a malformed known value: %s', (_label, header) => {
    const error = errorOf(() => parseDigestHeader(header, 'Repr-Digest'));
    expect(error.code).toBe('invalid_digest');
    expect(error.details).toEqual({ field: 'repr-digest' });
  });

  it('refuses two different values for one algorithm', () => {
    const error = errorOf(() =>
      parseDigestHeader(`sha-256=${sf(SHA256)}, sha-256=${sf(OTHER256)}`, 'Content-Digest'),
    );
    expect(error.code).toBe('invalid_digest');
    expect(error.message).toContain('two different');
  });

  it('reads back what reprDigest writes', () => {
    const hex = SHA256.toString('hex');
    expect(reprDigest(hex)).toBe(`sha-256=${sf(SHA256)}`);
    expect(parseDigestHeader(reprDigest(hex), 'Repr-Digest')).toEqual({ sha256: hex });
  });
});

describe('mergeDigests', () => {
  const a = SHA256.toString('hex');
  const b = OTHER256.toString('hex');
  const c = SHA512.toString('hex');

  it('combines digests from several headers', () => {
    expect(mergeDigests({ sha256: a }, {}, { sha512: c }, { sha256: a })).toEqual({ sha256: a, sha512: c });
    expect(mergeDigests()).toEqual({});
  });

  it('refuses two different values for one algorithm across headers', () => {
    const error = errorOf(() => mergeDigests({ sha256: a }, { sha256: b }));
    expect(error.code).toBe('invalid_digest');
    expect(error.details).toEqual({ field: 'digest' });
  });
});
