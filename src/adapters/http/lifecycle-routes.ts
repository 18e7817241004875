import type Router from '@koa/router';
import { z } from 'zod';
import { ApplicationError } from '../../application/errors';
import type { ReadSagas } from '../../application/admin/read-sagas';
import type { DeleteDocument } from '../../application/ingester/delete-document';
import type { FinalizeDocument } from '../../application/ingester/finalize-document';
import { SAGA_KINDS, SAGA_STATUSES, type SagaRecord } from '../../application/ports/saga-store';
import type { RequestState } from './context';
import { fileIdParam } from './read-routes';
import { jsonBody, parseBody, parseQuery } from './validation';
import { documentView } from './views';

const finalizeBody = z.strictObject({ retain_until: z.iso.datetime({ offset: true }).optional() });

/** Finalize (temporary → permanent) and delete, on the ingester role: both run as sagas. */
export function registerLifecycleRoutes(
  router: Router,
  finalize: FinalizeDocument,
  remove: DeleteDocument,
): void {
  router.post('/api/v1/files/:id/finalize', jsonBody, async (ctx) => {
    const body = parseBody(ctx, finalizeBody);
    const file = await finalize.execute((ctx.state as RequestState).principal, fileIdParam(ctx), {
      retainUntil: body.retain_until ? new Date(body.retain_until) : undefined,
    });
    ctx.body = documentView(file);
  });
  router.delete('/api/v1/files/:id', async (ctx) => {
    await remove.execute((ctx.state as RequestState).principal, fileIdParam(ctx));
    ctx.status = 204;
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

const sagaQuery = z.strictObject({
  status: z.enum(SAGA_STATUSES).optional(),
  kind: z.enum(SAGA_KINDS).optional(),
  file_id: z.string().regex(UUID, 'must be a UUID').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(512).optional(),
});

export function sagaView(saga: SagaRecord): Record<string, unknown> {
  return {
    id: saga.id,
    kind: saga.kind,
    status: saga.status,
    step: saga.step,
    file_id: saga.fileId,
    error: saga.error,
    attempts: saga.attempts,
    owner: saga.owner,
    lease_until: saga.leaseUntil.toISOString(),
    payload: saga.payload,
    created_at: saga.createdAt.toISOString(),
    updated_at: saga.updatedAt.toISOString(),
  };
}

/** The admin's saga list and status (§3.5). */
export function registerSagaRoutes(router: Router, sagas: ReadSagas): void {
  router.get('/api/v1/sagas', async (ctx) => {
    const q = parseQuery(ctx, sagaQuery);
    const page = await sagas.list((ctx.state as RequestState).principal, {
      status: q.status,
      kind: q.kind,
      fileId: q.file_id?.toLowerCase(),
      limit: q.limit,
      cursor: q.cursor ?? null,
    });
    ctx.body = { items: page.items.map(sagaView), next_cursor: page.nextCursor };
  });
  router.get('/api/v1/sagas/:id', async (ctx) => {
    const id = String(ctx.params.id ?? '');
    if (!UUID.test(id)) throw new ApplicationError('saga_not_found', `saga ${id} does not exist`);
    ctx.body = sagaView(await sagas.get((ctx.state as RequestState).principal, id.toLowerCase()));
  });
}
