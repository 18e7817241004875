/**
 * Opaque keyset cursors: base64url JSON of the sort key of the last item returned. Decoding
 * checks the shape, so a doctored cursor is a 400 (InvalidCursor), never a database error.
 */
export type CursorField = 'uuid' | 'millis';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;

export class InvalidCursor extends Error {
  override readonly name = 'InvalidCursor';
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function fits(value: unknown, field: CursorField): boolean {
  return field === 'uuid'
    ? typeof value === 'string' && UUID.test(value)
    : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
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
