import type Router from '@koa/router';
import type { ManageStorageElements } from '../../application/admin/manage-storage-elements';
import type { RebuildCatalog } from '../../application/admin/rebuild-catalog';
import type { RequestState } from './context';
import { jsonBody, parseBody } from './validation';
import { modeChange, reconcileRequest, scrubRequest } from './internal-wire';
import {
  rebuildReportView,
  reconcileReportView,
  scrubStatusView,
  storageElementInfoView,
  storageElementView,
} from './views';

export function registerAdminRoutes(
  router: Router,
  manage: ManageStorageElements,
  catalog: RebuildCatalog,
): void {
  router.post('/api/v1/admin/catalog/rebuild', async (ctx) => {
    const report = await catalog.rebuild((ctx.state as RequestState).principal);
    ctx.body = {
      files: report.files,
      storage_elements: Object.fromEntries(
        Object.entries(report.storageElements).map(([id, r]) => [id, rebuildReportView(r)]),
      ),
    };
  });
  router.get('/api/v1/storage-elements', async (ctx) => {
    const elements = await manage.list((ctx.state as RequestState).principal);
    ctx.body = { items: elements.map(storageElementView), next_cursor: null };
  });
  router.get('/api/v1/storage-elements/:id', async (ctx) => {
    ctx.body = storageElementView(
      await manage.get((ctx.state as RequestState).principal, String(ctx.params.id)),
    );
  });
  router.post('/api/v1/storage-elements/:id/mode', jsonBody, async (ctx) => {
    const body = parseBody(ctx, modeChange);
    const info = await manage.changeMode(
      (ctx.state as RequestState).principal,
      String(ctx.params.id),
      body.mode,
      body.confirm,
    );
    ctx.body = storageElementInfoView(info);
  });
  router.get('/api/v1/storage-elements/:id/info', async (ctx) => {
    ctx.body = storageElementInfoView(
      await manage.info((ctx.state as RequestState).principal, String(ctx.params.id)),
    );
  });
  router.post('/api/v1/storage-elements/:id/reconcile', jsonBody, async (ctx) => {
    const body = parseBody(ctx, reconcileRequest);
    ctx.body = reconcileReportView(
      await manage.reconcile((ctx.state as RequestState).principal, String(ctx.params.id), body),
    );
  });
  router.post('/api/v1/storage-elements/:id/scrub', jsonBody, async (ctx) => {
    const body = parseBody(ctx, scrubRequest);
    ctx.status = 202;
    ctx.body = scrubStatusView(
      await manage.startScrub(
        (ctx.state as RequestState).principal,
        String(ctx.params.id),
        body.rate_bytes_per_second,
      ),
    );
  });
  router.get('/api/v1/storage-elements/:id/scrub', async (ctx) => {
    ctx.body = scrubStatusView(
      await manage.scrubStatus((ctx.state as RequestState).principal, String(ctx.params.id)),
    );
  });
  router.post('/api/v1/storage-elements/:id/rebuild', async (ctx) => {
    ctx.body = rebuildReportView(
      await manage.rebuild((ctx.state as RequestState).principal, String(ctx.params.id)),
    );
  });
}
