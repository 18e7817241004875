import { HttpError } from './problem';

export interface Digests {
  sha256?: string;
  sha512?: string;
}

const ALGORITHMS: Readonly<Record<string, { key: keyof Digests; bytes: number }>> = {
  'sha-256': { key: 'sha256', bytes: 32 },
  'sha-512': { key: 'sha512', bytes: 64 },
};

/**
 * RFC 9530 `Content-Digest` / `Repr-Digest`: a structured-field dictionary of byte sequences,
 * e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. Unknown algorithms are ignored
 * (§ 3); a known algorithm with a malformed value is an error. Returns lower-case hex.
 */
export function parseDigestHeader(header: string | undefined, name: string): Digests {
  const digests: Digests = {};
  if (!header) return digests;
  for (const member of header.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0) continue;
    const algorithm = member.slice(0, eq).trim().toLowerCase();
    const spec = ALGORITHMS[algorithm];
    if (!spec) continue;
    const value = /^:([A-Za-z0-9+/]*={0,2}):$/u.exec(member.slice(eq + 1).trim())?.[1];
    const bytes = value === undefined ? null : Buffer.from(value, 'base64');
    if (!bytes || bytes.length !== spec.bytes) {
      throw new HttpError(
        'invalid_digest',
        `${name}: the ${algorithm} value must be a base64 byte sequence of ${spec.bytes} bytes between colons`,
        {
          field: name.toLowerCase(),
        },
      );
    }
    const hex = bytes.toString('hex');
    const previous = digests[spec.key];
    if (previous !== undefined && previous !== hex) {
      throw new HttpError('invalid_digest', `${name} carries two different ${algorithm} values`, {
        field: name.toLowerCase(),
      });
    }
    digests[spec.key] = hex;
  }
  return digests;
}

/** Combines digests from several headers; two different values for one algorithm are refused. */
export function mergeDigests(...sets: Digests[]): Digests {
  const merged: Digests = {};
  for (const set of sets) {
    for (const key of ['sha256', 'sha512'] as const) {
      const value = set[key];
      if (value === undefined) continue;
      if (merged[key] !== undefined && merged[key] !== value) {
        throw new HttpError('invalid_digest', `the request carries two different ${key} digests`, {
          field: 'digest',
        });
      }
      merged[key] = value;
    }
  }
  return merged;
}

export function reprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}
