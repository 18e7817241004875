import type { Context } from 'koa';
import { Readable } from 'node:stream';
import type Router from '@koa/router';
import { Server as TusServer } from '@tus/server';
import { ERRORS, HEADERS, type Locker } from '@tus/utils';
import { ApplicationError } from '../../application/errors';
import {
  isPermanent,
  type ChunkChecksum,
  type ResumableUploads,
} from '../../application/ingester/resumable-uploads';
import type { UploadRecord } from '../../application/ports/upload-store';
import { DomainError } from '../../domain/errors';
import { ArtStoreDataStore, tusRequest, type TusRequestContext } from '../tus/artstore-data-store';
import type { Metrics } from '../telemetry/metrics';
import type { RequestState } from './context';
import { HttpError, toProblem } from './problem';

export const UPLOADS_PATH = '/api/v1/uploads';
export const FILE_ID_HEADER = 'ArtStore-File-Id';

/** tus checksum extension: algorithm name → node:crypto hash and digest length. */
const CHECKSUMS: Readonly<Record<string, { hash: string; bytes: number }>> = {
  sha1: { hash: 'sha1', bytes: 20 },
  sha256: { hash: 'sha256', bytes: 32 },
  sha512: { hash: 'sha512', bytes: 64 },
  md5: { hash: 'md5', bytes: 16 },
};
const CHECKSUM_ALGORITHMS = Object.keys(CHECKSUMS).join(',');
const EXTRA_EXPOSED = [FILE_ID_HEADER, 'Upload-Expires', 'Tus-Checksum-Algorithm', 'X-Request-Id'];
const EXPOSED_HEADERS = [...HEADERS, ...EXTRA_EXPOSED].join(', ');

/** `Upload-Checksum: <algorithm> <base64 digest>` (tus 1.0.0, checksum extension). */
export function parseUploadChecksum(header: string): ChunkChecksum | undefined {
  if (header === '') return undefined;
  const match = /^([A-Za-z0-9-]+) +([A-Za-z0-9+/]+={0,2})$/u.exec(header.trim());
  if (!match) {
    throw new ApplicationError('invalid_request', 'Upload-Checksum must be "<algorithm> <base64 digest>"', {
      field: 'upload-checksum',
    });
  }
  const algorithm = match[1]!.toLowerCase();
  const known = CHECKSUMS[algorithm];
  if (!known) {
    throw new ApplicationError(
      'invalid_request',
      `checksum algorithm '${algorithm}' is not supported; use one of ${CHECKSUM_ALGORITHMS}`,
      { field: 'upload-checksum', supported: Object.keys(CHECKSUMS) },
    );
  }
  const digest = Buffer.from(match[2]!, 'base64');
  if (digest.length !== known.bytes) {
    throw new ApplicationError(
      'invalid_request',
      `a ${algorithm} digest is ${known.bytes} bytes; Upload-Checksum has ${digest.length}`,
      { field: 'upload-checksum' },
    );
  }
  return { algorithm: known.hash, digest };
}

/** The request header a tus refusal is about, from its (plain text) message. */
function tusField(detail: string): string {
  // @tus/server answers `Invalid <header> [<header>…]` when a header fails its validator.
  const invalid = /^Invalid ([A-Za-z-]+)/u.exec(detail)?.[1];
  if (invalid) return invalid.toLowerCase();
  if (detail.startsWith('Upload-Offset')) return 'upload-offset';
  if (detail.startsWith('Content-Type')) return 'content-type';
  if (detail.startsWith('Upload-Length')) return 'upload-length';
  return 'id';
}

/** tus's own refusals (plain text) as our problem details, naming the header at fault. */
function fromTus(error: unknown): unknown {
  if (error instanceof ApplicationError || error instanceof DomainError || error instanceof HttpError)
    return error;
  const tus = error as { status_code?: unknown; body?: unknown } | null;
  if (!tus || typeof tus.status_code !== 'number' || typeof tus.body !== 'string') return error;
  const detail = tus.body.trim();
  // tus's answers reach us as the error object or as a response carrying its body.
  const is = (known: { body: string }): boolean => error === known || detail === known.body.trim();
  if (is(ERRORS.ERR_LOCK_TIMEOUT) || is(ERRORS.ABORTED))
    return new ApplicationError('upload_locked', 'another request holds this upload; retry shortly');
  if (is(ERRORS.INVALID_METADATA))
    return new ApplicationError('invalid_request', detail, { field: 'upload-metadata' });
  switch (tus.status_code) {
    case 404:
      return new ApplicationError('upload_not_found', detail);
    case 409:
      return new ApplicationError('offset_mismatch', detail, { field: 'upload-offset' });
    case 410:
      return new ApplicationError('upload_expired', detail);
    case 412:
      return new HttpError('tus_resumable_required', detail, { field: 'tus-resumable' });
    case 413:
      return new ApplicationError('content_too_large', detail, { field: 'upload-length' });
    case 423:
      return new ApplicationError('upload_locked', detail);
    case 501:
      return new HttpError('unsupported_tus_extension', detail, {
        field: is(ERRORS.UNSUPPORTED_CONCATENATION_EXTENSION)
          ? 'upload-concat'
          : is(ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION)
            ? 'upload-defer-length'
            : 'tus-resumable',
      });
    default:
      return tus.status_code < 500
        ? new ApplicationError('invalid_request', detail, { field: tusField(detail) })
        : error;
  }
}

function webRequest(ctx: Context): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(ctx.req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const hasBody = ctx.method === 'POST' || ctx.method === 'PATCH';
  // A client that hangs up mid-body errors the request; tus's write path reports it.
  ctx.req.on('error', () => undefined);
  return new Request(`http://localhost${ctx.path}`, {
    method: ctx.method,
    headers,
    body: hasBody ? (Readable.toWeb(ctx.req) as ReadableStream) : null,
    duplex: 'half',
  } as RequestInit);
}

/** A finished upload's row, once its completion (here or elsewhere) has run. */
async function settle(uploads: ResumableUploads, record: UploadRecord): Promise<UploadRecord> {
  if (record.status === 'failed') {
    throw new ApplicationError('upload_failed', `upload ${record.id} failed: ${record.error?.detail ?? ''}`, {
      cause: record.error,
    });
  }
  const allArrived = record.length !== null && record.offset === record.length;
  if (!allArrived || (record.status !== 'uploading' && record.status !== 'completing')) return record;
  const settled = await uploads.complete(record.id);
  if (settled.status === 'completing') {
    // Another replica is storing it: a tus client retries a 423 and then gets the file id.
    throw new ApplicationError('upload_locked', `upload ${record.id} is being stored; retry shortly`, {
      retry_after: 1,
    });
  }
  return settled;
}

/**
 * tus 1.0.0 resumable uploads (core, creation, creation-with-upload, expiration, checksum,
 * termination) through @tus/server with our data store. Behind authentication like every API
 * route; an upload is visible only to the principal that created it. tus's answers pass through
 * Koa, so its errors become our problem details.
 */
export function registerTusRoutes(
  router: Router,
  uploads: ResumableUploads,
  locker: Locker,
  metrics: Metrics,
): void {
  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore: new ArtStoreDataStore(uploads),
    locker,
    relativeLocation: true,
    maxSize: uploads.maxUploadBytes,
    allowedHeaders: ['Upload-Checksum', 'X-Request-Id'],
    exposedHeaders: EXTRA_EXPOSED,
    onUploadFinish: async (req, upload) => {
      let done: UploadRecord;
      try {
        done = await uploads.complete(upload.id);
      } catch (error) {
        // A creation that brought every byte (Upload-Length 0, or creation-with-upload) must still
        // answer with its Location when storing failed for any reason that leaves the upload to
        // be retried (all but content errors): the sweep or the client's HEAD stores it later, and
        // an error here would leave the client unable to find an upload that then appears anyway
        // (a 503 signing_key_unavailable from an SE did, in the kill campaign). A PATCH's client
        // knows the location.
        if (req.method !== 'POST' || isPermanent(error)) throw error;
        const { code } = toProblem(error);
        tusRequest.getStore()?.log?.warn({ upload_id: upload.id, code }, 'tus creation stored later');
        return {};
      }
      if (done.status !== 'completed' || !done.fileId) return {};
      metrics.uploadedBytes.inc(done.length ?? 0);
      return { headers: { [FILE_ID_HEADER]: done.fileId } };
    },
    onResponseError: (_req, error) => {
      const context = tusRequest.getStore();
      if (context) context.error ??= error;
      return undefined;
    },
  });

  const handle = async (ctx: Context): Promise<void> => {
    const { principal } = ctx.state as RequestState;
    ctx.set('Tus-Resumable', '1.0.0');
    // Our problem answers bypass tus's CORS headers: a browser client must still read them.
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    const id = (ctx.params as { id?: string }).id;
    let record: UploadRecord | null = null;
    if (id !== undefined && ctx.method !== 'OPTIONS') {
      record = await uploads.find(principal, id);
      if (ctx.method !== 'DELETE') record = await settle(uploads, record);
    }
    if (ctx.method === 'POST') {
      const length = ctx.get('upload-length');
      if (/^\d+$/u.test(length)) uploads.checkLength(Number(length));
    }
    const context: TusRequestContext = {
      principal,
      log: (ctx.state as RequestState).log,
      checksum: ctx.method === 'PATCH' ? parseUploadChecksum(ctx.get('upload-checksum')) : undefined,
    };
    const response = await tusRequest.run(context, () => tus.handleWeb(webRequest(ctx)));
    if (context.error !== undefined) throw fromTus(context.error);
    const body = await response.text();
    if (response.status === 412) ctx.set('Tus-Version', '1.0.0');
    if (response.status >= 400) throw fromTus({ status_code: response.status, body });
    ctx.status = response.status;
    response.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'connection') ctx.set(name, value);
    });
    if (ctx.method === 'OPTIONS') ctx.set('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS);
    if (ctx.method === 'HEAD' && record?.status === 'completed' && record.fileId)
      ctx.set(FILE_ID_HEADER, record.fileId);
    if (ctx.method === 'HEAD' && record?.status === 'uploading')
      ctx.set('Upload-Expires', record.expiresAt.toUTCString());
    if (response.status !== 204) ctx.body = body;
  };

  router.options(UPLOADS_PATH, handle);
  router.post(UPLOADS_PATH, handle);
  router.options(`${UPLOADS_PATH}/:id`, handle);
  router.head(`${UPLOADS_PATH}/:id`, handle);
  router.patch(`${UPLOADS_PATH}/:id`, handle);
  router.delete(`${UPLOADS_PATH}/:id`, handle);
}
