import { createHash } from 'node:crypto';

/**
 * JSON that keeps `Date`s: a date becomes `{ "$date": <ms> }` (null for an invalid date), and a
 * plain object that happens to have a `$date` or `$object` key is wrapped as `{ "$object": … }` so
 * nothing written by a client can pass for a date. `undefined` fields are dropped, as JSON does.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) {
    const ms = value.getTime();
    return { $date: Number.isNaN(ms) ? null : ms };
  }
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : toWire(item)));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties: a `__proto__` key stays data.
    const out = Object.fromEntries(
      Object.entries(value).flatMap(([key, inner]) => (inner === undefined ? [] : [[key, toWire(inner)]])),
    );
    return '$date' in out || '$object' in out ? { $object: out } : out;
  }
  return value;
}

export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$date') {
      const ms = record.$date;
      return new Date(typeof ms === 'number' ? ms : Number.NaN);
    }
    const inner =
      keys.length === 1 && keys[0] === '$object' ? (record.$object as Record<string, unknown>) : record;
    return Object.fromEntries(Object.entries(inner).map(([key, item]) => [key, fromWire(item)]));
  }
  return value;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(toWire(value)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, sortKeys(record[key])]),
    );
  }
  return value;
}

/** A short stable digest of a whole value (a search query with its grants): the cache key. */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url');
}
