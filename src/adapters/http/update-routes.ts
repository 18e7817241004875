import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ApplicationError } from '../../application/errors';
import type { UpdateDocument } from '../../application/ingester/update-document';
import type { DocumentAttributes } from '../../domain/document/document';
import type { RequestState } from './context';
import { MAX_ATTRIBUTES_KIB } from './internal-wire';
import { fileIdParam } from './read-routes';
import { jsonBody, jsonBodyUpTo, parseBody } from './validation';
import { documentView } from './views';

// Keys that would act on an object's prototype rather than be data.

/** The same limits as upload fields; metadata merges key by key (RFC 7396: null removes a key). */
const patchBody = z.strictObject({
  // Shapes only: the limits (with their own codes) are the domain's, as for uploads.
  description: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.string().nullable()).optional(),
  retain_until: z.iso.datetime({ offset: true }).optional(),
});

const MAX_REASON = 1024;
const holdBody = z.strictObject({ reason: z.string().trim().min(1, 'is required').max(MAX_REASON) });
const releaseBody = z.strictObject({ reason: z.string().trim().max(MAX_REASON).optional() });

/**
 * RFC 9110 §13.1.1 If-Match against the document's `attr_version` (its ETag): `*` or absent
 * match any; a weak or foreign tag never matches (-1).
 */
function ifMatch(ctx: Context): number | null {
  const header = ctx.get('if-match').trim();
  if (header === '' || header === '*') return null;
  const tags = header.split(',').map((t) => t.trim());
  if (tags.length > 1)
    throw new ApplicationError('invalid_request', 'If-Match takes one entity tag (the attr_version)', {
      field: 'if-match',
    });
  const match = /^"(\d{1,15})"$/u.exec(tags[0] ?? '');
  return match ? Number(match[1]) : -1;
}

function respond(ctx: Context, file: DocumentAttributes): void {
  ctx.set('ETag', `"${file.attrVersion}"`);
  ctx.body = documentView(file);
}

/** PATCH of a document's metadata and its legal hold (the ingester role: writes to stored files). */
export function registerUpdateRoutes(router: Router, updates: UpdateDocument): void {
  router.patch('/api/v1/files/:id', jsonBodyUpTo(MAX_ATTRIBUTES_KIB), async (ctx) => {
    const state = ctx.state as RequestState;
    const fileId = fileIdParam(ctx);
    const body = parseBody(ctx, patchBody);
    const file = await updates.patch(
      state.principal,
      fileId,
      {
        description: body.description,
        tags: body.tags,
        metadata: body.metadata,
        retainUntil: body.retain_until === undefined ? undefined : new Date(body.retain_until),
      },
      { ifAttrVersion: ifMatch(ctx), source: ctx.ip },
    );
    respond(ctx, file);
  });

  router.put('/api/v1/files/:id/legal-hold', jsonBody, async (ctx) => {
    const state = ctx.state as RequestState;
    const fileId = fileIdParam(ctx);
    const body = parseBody(ctx, holdBody);
    const file = await updates.setLegalHold(state.principal, fileId, true, body.reason, {
      ifAttrVersion: ifMatch(ctx),
      source: ctx.ip,
    });
    respond(ctx, file);
  });

  router.delete('/api/v1/files/:id/legal-hold', jsonBody, async (ctx) => {
    const state = ctx.state as RequestState;
    const fileId = fileIdParam(ctx);
    const body = parseBody(ctx, releaseBody);
    const file = await updates.setLegalHold(state.principal, fileId, false, body.reason ?? null, {
      ifAttrVersion: ifMatch(ctx),
      source: ctx.ip,
    });
    respond(ctx, file);
  });
}
