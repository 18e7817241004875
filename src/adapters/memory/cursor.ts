/**
 * Opaque keyset cursors: base64url JSON of the sort key of the last item returned. Decoding
 * checks the shape, so a doctored cursor is a 400 (InvalidCursor), never a database error.
 */
/** `key`: an identifier such as a client id (letters, digits, `.`, `_`, `-`). */
export type CursorField = 'uuid' | 'millis' | 'key';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;
const KEY = /^[\w.-]{1,128}$/u;

export class InvalidCursor extends Error {
  override readonly name = 'InvalidCursor';
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function fits(value: unknown, field: CursorField): boolean {
  if (field === 'uuid') return typeof value === 'string' && UUID.test(value);
  if (field === 'key') return typeof value === 'string' && KEY.test(value);
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function decodeCursor(cursor: string, shape: readonly CursorField[]): (string | number)[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = null;
  }
  if (!Array.isArray(key) || key.length !== shape.length || !shape.every((field, i) => fits(key[i], field))) {
    throw new InvalidCursor('the cursor is not one this server issued');
  }
  return key as (string | number)[];
}
