import type Router from '@koa/router';
import { create as contentDisposition } from 'content-disposition';
import type { Context } from 'koa';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ApplicationError } from '../../application/errors';
import type { ReadDocuments } from '../../application/query/read-documents';
import type { ByteRange } from '../../application/ports/blob-store';
import type { CatalogEntry } from '../../application/ports/file-catalog';
import type { DocumentAttributes } from '../../domain/document/document';
import type { RequestState } from './context';
import { multipartByteranges, selectRanges } from './byte-ranges';
import { reprDigest } from './digests';
import { registerSearchRoutes } from './search-routes';
import { parseQuery } from './validation';
import { documentView, fixityCheckView } from './views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

/** A malformed id names no file: answered exactly like an unknown one. */
export function fileIdParam(ctx: Context): string {
  const id = String(ctx.params.id ?? '');
  if (!UUID.test(id)) throw new ApplicationError('file_not_found', `file ${id} does not exist`);
  return id.toLowerCase();
}

function etagOf(file: DocumentAttributes): string {
  return `"${file.sha256}"`;
}

/** RFC 9110 §13.1.2: weak comparison for If-None-Match. */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//u, '') === etag);
}

function notModifiedSince(header: string, file: DocumentAttributes): boolean {
  const since = Date.parse(header);
  return !Number.isNaN(since) && Math.floor(file.uploadedAt.getTime() / 1000) * 1000 <= since;
}

/** RFC 9110 §13.1.5: the Range applies only when If-Range still matches (strong ETag or exact date). */
function ifRangeMatches(header: string, file: DocumentAttributes): boolean {
  if (header === '') return true;
  if (header.startsWith('"')) return header === etagOf(file);
  const date = Date.parse(header);
  return !Number.isNaN(date) && Math.floor(file.uploadedAt.getTime() / 1000) * 1000 === date;
}

/** The ranges to serve, null for the whole representation (no Range, or an If-Range that no longer matches). */
function requestedRanges(ctx: Context, file: DocumentAttributes): ByteRange[] | null {
  const header = ctx.get('range');
  if (header === '' || !ifRangeMatches(ctx.get('if-range'), file)) return null;
  return selectRanges(header, file.size);
}

async function content(ctx: Context, reads: ReadDocuments): Promise<void> {
  const state = ctx.state as RequestState;
  const entry = await reads.describe(state.principal, fileIdParam(ctx));
  const file = entry.file;
  // A file stored gzip goes out as stored, whole, to a client that accepts gzip: another
  // representation, with its own ETag, length and digest. Ranges always address the original bytes.
  const coded = passesStoredThrough(ctx, file);
  const etag = coded ? codedEtagOf(file) : etagOf(file);
  if (file.stored.encoding !== 'identity') ctx.vary('Accept-Encoding');
  ctx.set('ETag', etag);
  ctx.set('Last-Modified', file.uploadedAt.toUTCString());
  ctx.set('Accept-Ranges', 'bytes');
  ctx.set('Cache-Control', 'private, no-cache');
  ctx.set('Repr-Digest', reprDigest(coded ? file.stored.sha256 : file.sha256));
  ctx.set('Content-Disposition', contentDisposition(file.name, { type: 'attachment' }));
  const ifNoneMatch = ctx.get('if-none-match');
  if (ifNoneMatch ? noneMatch(ifNoneMatch, etag) : notModifiedSince(ctx.get('if-modified-since'), file)) {
    ctx.status = 304;
    return;
  }
  if (coded && (await storedThrough(ctx, reads, entry))) return;
  const ranges = requestedRanges(ctx, file);
  const range = ranges?.length === 1 ? ranges[0]! : null;
  ctx.status = ranges ? 206 : 200;
  if (ranges && ranges.length > 1) return multipart(ctx, reads, entry, ranges);
  ctx.type = file.contentType;
  if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`);
  const length = range ? range.end - range.start + 1 : file.size;
  if (ctx.method === 'HEAD' || length === 0) {
    // An archived file answers HEAD as GET: 409 restore_required until a restored copy exists.
    if (ctx.method === 'HEAD') await reads.assertReadable(entry);
    ctx.length = length;
    if (ctx.method !== 'HEAD') ctx.body = '';
    return;
  }
  const opened = await reads.open(entry, range ?? undefined);
  ctx.body = guarded(ctx, opened.stream, file.fileId);
  ctx.length = length;
}

/** Whether to answer with the stored gzip bytes: a whole read by a client that accepts gzip. */
function passesStoredThrough(ctx: Context, file: DocumentAttributes): boolean {
  if (file.stored.encoding !== 'gzip' || ctx.get('range') !== '' || ctx.get('accept-encoding') === '')
    return false;
  return ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
}

function codedEtagOf(file: DocumentAttributes): string {
  return `"gzip-${file.stored.sha256}"`;
}

/**
 * The stored gzip frames as the body (concatenated gzip members: one valid gzip stream), from a
 * copy holding exactly the stored bytes the catalog names. False when no copy does: the caller
 * then decodes as usual, and the headers are set back to the original representation.
 */
async function storedThrough(ctx: Context, reads: ReadDocuments, entry: CatalogEntry): Promise<boolean> {
  const { file } = entry;
  ctx.status = 200;
  ctx.type = file.contentType;
  ctx.set('Content-Encoding', 'gzip');
  if (ctx.method === 'HEAD') {
    await reads.assertReadable(entry);
    ctx.length = file.stored.size;
    return true;
  }
  const opened = await reads.openStored(entry);
  if (opened) {
    ctx.body = guarded(ctx, opened.stream, file.fileId);
    ctx.length = file.stored.size;
    return true;
  }
  ctx.remove('Content-Encoding');
  ctx.set('ETag', etagOf(file));
  ctx.set('Repr-Digest', reprDigest(file.sha256));
  return false;
}

/** Several ranges: one `multipart/byteranges` body whose parts each fail over on their own. */
async function multipart(
  ctx: Context,
  reads: ReadDocuments,
  entry: CatalogEntry,
  ranges: readonly ByteRange[],
): Promise<void> {
  const { file } = entry;
  // A HEAD states the same length as the GET; the boundary (and so the body) differs per answer.
  const first = ctx.method === 'HEAD' ? Readable.from([]) : (await reads.open(entry, ranges[0])).stream;
  // Each part's Content-Type is the one a whole answer would carry (Koa adds the charset of text types).
  ctx.type = file.contentType;
  const body = multipartByteranges(
    ranges,
    file.size,
    ctx.response.get('Content-Type'),
    first,
    async (range) => (await reads.open(entry, range)).stream,
  );
  ctx.type = body.contentType;
  if (ctx.method === 'HEAD') {
    body.body.destroy();
    ctx.length = body.length;
    return;
  }
  ctx.body = guarded(ctx, body.body, file.fileId);
  ctx.length = body.length;
}

/**
 * Headers are out once the body streams: a failure then (no copy left, a whole read whose SHA-256
 * does not match) can only cut the connection, so the client sees a short body, never a complete one.
 */
function guarded(ctx: Context, stream: Readable, fileId: string): Readable {
  stream.once('error', (error) => {
    (ctx.state as RequestState).log.error(
      { err: error, file_id: fileId },
      'content stream failed mid-response',
    );
    ctx.res.destroy(error);
  });
  return stream;
}

const fixityQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

export function registerReadRoutes(router: Router, reads: ReadDocuments): void {
  router.get('/api/v1/files/:id', async (ctx) => {
    const entry = await reads.describe((ctx.state as RequestState).principal, fileIdParam(ctx));
    // The metadata's version: what PATCH and the legal-hold routes take in If-Match.
    ctx.set('ETag', `"${entry.file.attrVersion}"`);
    ctx.body = documentView(entry.file);
  });
  router.get('/api/v1/files/:id/content', (ctx) => content(ctx, reads));
  router.get('/api/v1/files/:id/fixity', async (ctx) => {
    const query = parseQuery(ctx, fixityQuery);
    const checks = await reads.fixityHistory(
      (ctx.state as RequestState).principal,
      fileIdParam(ctx),
      query.limit,
    );
    ctx.body = { items: checks.map(fixityCheckView) };
  });
  registerSearchRoutes(router, reads);
}
