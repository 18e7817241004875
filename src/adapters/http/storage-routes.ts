import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AuditTrail } from '../../application/audit/audit-trail';
import { ApplicationError } from '../../application/errors';
import { requireScope } from '../../application/shared/authorize';
import type { StorageElementService } from '../../application/storage/storage-element-service';
import type { JsonSidecarCodec } from '../sidecar/json-sidecar-codec';
import type { RequestState } from './context';
import {
  attributeUpdate,
  decodeAttributeUpdate,
  decodeDraft,
  INTERNAL_PREFIX,
  MAX_ATTRIBUTES_KIB,
  MAX_DRAFT_BYTES,
  modeChange,
  putOptionsHeaders,
  reconcileRequest,
  scrubRequest,
} from './internal-wire';
import { readFirstLine } from './line-prefix';
import { fileIdParam } from './read-routes';
import { jsonBody, jsonBodyUpTo, parseBody, parseQuery } from './validation';
import { rebuildReportView, reconcileReportView, scrubStatusView, storageElementInfoView } from './views';

const hexDigest = (length: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${length}}$`, 'u'))
    .optional();
const putHeaders = z.object({
  'artstore-content-length': z.coerce.number().int().nonnegative().optional(),
  'artstore-expect-sha256': hexDigest(64),
  'artstore-expect-sha512': hexDigest(128),
});
const contentQuery = z.strictObject({
  purpose: z.enum(['download', 'restore', 'stored']).default('download'),
});
const listQuery = z.strictObject({
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** `bytes=a-b` exactly: the internal API serves one concrete range the caller already resolved. */
function internalRange(header: string): { start: number; end: number } | undefined {
  if (header === '') return undefined;
  const match = /^bytes=(\d+)-(\d+)$/u.exec(header);
  if (!match)
    throw new ApplicationError('invalid_request', 'the internal API takes Range: bytes=<start>-<end>', {
      field: 'range',
    });
  return { start: Number(match[1]), end: Number(match[2]) };
}

/** The storage element's internal API (§2), used by the other roles in split mode. */
export function registerStorageRoutes(
  router: Router,
  elements: ReadonlyMap<string, StorageElementService>,
  codec: JsonSidecarCodec,
  audit: AuditTrail,
): void {
  /** Every internal route goes through here: the roles' own accounts only (`storage:*`, §6). */
  const se = (ctx: Context): StorageElementService => {
    const reading = ctx.method === 'GET' || ctx.method === 'HEAD';
    requireScope((ctx.state as RequestState).principal, reading ? 'storage:read' : 'storage:write');
    const found = elements.get(String(ctx.params.se));
    if (!found)
      throw new ApplicationError(
        'storage_element_not_found',
        `this process hosts no storage element '${ctx.params.se}'`,
      );
    return found;
  };
  const base = `${INTERNAL_PREFIX}/:se`;

  router.put(`${base}/files/:id`, async (ctx) => {
    const element = se(ctx);
    const headers = putHeaders.safeParse(ctx.headers);
    if (!headers.success)
      throw new ApplicationError('invalid_request', headers.error.issues[0]!.message, {
        field: String(headers.error.issues[0]!.path[0]),
      });
    const options = putOptionsHeaders.safeParse(ctx.headers);
    if (!options.success)
      throw new ApplicationError('invalid_request', options.error.issues[0]!.message, {
        field: String(options.error.issues[0]!.path[0]),
      });
    const size = headers.data['artstore-content-length'] ?? null;
    // Refuse before the body is read: with Expect: 100-continue the client has not sent it yet.
    await element.checkWritable(size);
    let draft;
    try {
      draft = decodeDraft(await readFirstLine(ctx.req, MAX_DRAFT_BYTES));
    } catch (error) {
      throw new ApplicationError(
        'invalid_request',
        `the body must start with the document draft as one JSON line: ${(error as Error).message}`,
        { field: 'body' },
      );
    }
    if (draft.fileId !== fileIdParam(ctx))
      throw new ApplicationError('invalid_request', 'the draft file_id differs from the path', {
        field: 'file_id',
      });
    const file = await element.put(
      draft,
      ctx.req,
      {
        size,
        sha256: headers.data['artstore-expect-sha256'],
        sha512: headers.data['artstore-expect-sha512'],
      },
      options.data,
    );
    ctx.status = 201;
    ctx.body = codec.toDocument(file);
  });

  router.get(`${base}/files/:id`, async (ctx) => {
    ctx.body = codec.toDocument(await se(ctx).head(fileIdParam(ctx)));
  });

  router.get(`${base}/files/:id/content`, async (ctx) => {
    const { purpose } = parseQuery(ctx, contentQuery);
    const element = se(ctx);
    const fileId = fileIdParam(ctx);
    // A restore job reads the whole archived copy; ranges are for downloads.
    const opened =
      purpose === 'restore'
        ? await element.openForRestore(fileId)
        : purpose === 'stored'
          ? await element.openStored(fileId, internalRange(ctx.get('range')))
          : await element.open(fileId, internalRange(ctx.get('range')));
    ctx.set('ArtStore-Size', String(opened.size));
    ctx.set('ArtStore-Sha256', opened.sha256);
    if (opened.range) {
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${opened.range.start}-${opened.range.end}/${opened.size}`);
    }
    ctx.type = 'application/octet-stream';
    ctx.body = opened.stream;
    ctx.length = opened.range ? opened.range.end - opened.range.start + 1 : opened.size;
  });

  router.delete(`${base}/files/:id`, async (ctx) => {
    const element = se(ctx);
    const fileId = fileIdParam(ctx);
    await element.delete(fileId);
    await audit.record((ctx.state as RequestState).principal, 'file.deleted', 'success', {
      target: fileId,
      details: { storage_element: element.id },
      source: ctx.ip,
    });
    ctx.status = 204;
  });

  router.patch(`${base}/files/:id`, jsonBodyUpTo(MAX_ATTRIBUTES_KIB), async (ctx) => {
    const element = se(ctx);
    const { change, options } = decodeAttributeUpdate(parseBody(ctx, attributeUpdate));
    ctx.body = codec.toDocument(await element.update(fileIdParam(ctx), change, options));
  });

  router.post(`${base}/files/:id/discard`, async (ctx) => {
    await se(ctx).discard(fileIdParam(ctx));
    ctx.status = 204;
  });

  router.get(`${base}/info`, async (ctx) => {
    ctx.body = storageElementInfoView(await se(ctx).info());
  });

  router.get(`${base}/attributes`, async (ctx) => {
    const query = parseQuery(ctx, listQuery);
    const page = await se(ctx).listAttributes({ cursor: query.cursor ?? null, limit: query.limit });
    ctx.body = { items: page.items.map((f) => codec.toDocument(f)), next_cursor: page.nextCursor };
  });

  router.post(`${base}/rebuild`, async (ctx) => {
    ctx.body = rebuildReportView(await se(ctx).rebuild());
  });

  router.post(`${base}/reconcile`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, reconcileRequest);
    ctx.body = reconcileReportView(await se(ctx).reconcile(body));
  });

  router.post(`${base}/scrub`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, scrubRequest);
    ctx.status = 202;
    ctx.body = scrubStatusView(await se(ctx).startScrub({ rateBytesPerSecond: body.rate_bytes_per_second }));
  });

  router.get(`${base}/scrub`, async (ctx) => {
    ctx.body = scrubStatusView(await se(ctx).scrubStatus());
  });

  router.put(`${base}/mode`, jsonBody, async (ctx) => {
    const body = parseBody(ctx, modeChange);
    ctx.body = storageElementInfoView(await se(ctx).changeMode(body.mode, body.confirm));
  });
}
