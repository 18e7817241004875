import type { SearchSort, SortOrder } from '../../application/ports/file-catalog';
import { InvalidCursor } from './cursor';

/** The sort key of the last hit of a page: rank, upload millis, name or size. */
export type SearchKey = number | string;

/**
 * The oldest candidate of a relevance window (upload millis and file id): when a query matched more
 * files than relevance ranks, the first page fixes the window and later pages keep it.
 */
export interface WindowFloor {
  readonly uploadedAt: number;
  readonly fileId: string;
}

export interface SearchPosition {
  readonly key: SearchKey;
  readonly fileId: string;
  readonly window?: WindowFloor | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;

/** Opaque (base64url JSON) and tied to its sort: a cursor of another sort or order is refused. */
export function encodeSearchCursor(sort: SearchSort, order: SortOrder, at: SearchPosition): string {
  const w = at.window ? { w: [at.window.uploadedAt, at.window.fileId] } : {};
  return Buffer.from(JSON.stringify({ s: sort, o: order, k: at.key, id: at.fileId, ...w }), 'utf8').toString(
    'base64url',
  );
}

function keyFits(sort: SearchSort, key: unknown): boolean {
  if (sort === 'name') return typeof key === 'string' && key.length <= 1024;
  if (sort === 'relevance') return typeof key === 'number' && Number.isFinite(key) && key >= 0;
  return typeof key === 'number' && Number.isSafeInteger(key) && key >= 0;
}

export function decodeSearchCursor(cursor: string, sort: SearchSort, order: SortOrder): SearchPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  const v = value as { s?: unknown; o?: unknown; k?: unknown; id?: unknown; w?: unknown } | null;
  if (typeof v !== 'object' || v === null || typeof v.id !== 'string' || !UUID.test(v.id))
    throw new InvalidCursor('the cursor is not one this server issued');
  if (v.s !== sort || v.o !== order)
    throw new InvalidCursor(
      `the cursor belongs to a search sorted by ${String(v.s)} ${String(v.o)}, not ${sort} ${order}: start again without it`,
    );
  if (!keyFits(sort, v.k)) throw new InvalidCursor('the cursor is not one this server issued');
  if (v.w === undefined) return { key: v.k as SearchKey, fileId: v.id };
  const [at, id] = Array.isArray(v.w) && v.w.length === 2 ? (v.w as unknown[]) : [];
  if (
    sort !== 'relevance' ||
    typeof at !== 'number' ||
    !Number.isSafeInteger(at) ||
    at < 0 ||
    typeof id !== 'string' ||
    !UUID.test(id)
  )
    throw new InvalidCursor('the cursor is not one this server issued');
  return { key: v.k as SearchKey, fileId: v.id, window: { uploadedAt: at, fileId: id } };
}
