import { createHash } from 'node:crypto';

/** The field of a sidecar (schema version 2 on) that holds the checksum of everything else in it. */
export const CHECKSUM_FIELD = 'checksum';
const PREFIX = 'sha256:';

/**
 * RFC 8785 (JCS) for the values a sidecar holds: object members sorted by their names' UTF-16
 * code units, no whitespace, strings and integers as ECMAScript's JSON.stringify writes them.
 * Members whose value is undefined are left out, as JSON.stringify leaves them out.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `sha256:<hex>` of the canonical form of the sidecar without its checksum field. Taken over the
 * parsed value, not the bytes, so it survives re-indentation by a person, yet any flipped bit in
 * a name, a value or the structure changes it or stops the JSON parsing.
 */
export function sidecarChecksum(document: Readonly<Record<string, unknown>>): string {
  const { [CHECKSUM_FIELD]: _ignored, ...rest } = document;
  return PREFIX + createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}
