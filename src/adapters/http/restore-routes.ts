import type Router from '@koa/router';
import type { RestoreDocument, RestoreJob } from '../../application/query/restore-document';
import type { RequestState } from './context';
import { fileIdParam } from './read-routes';

const statusUrl = (fileId: string): string => `/api/v1/files/${fileId}/restore`;

export function restoreJobView(job: RestoreJob): Record<string, unknown> {
  return {
    job_id: job.id,
    file_id: job.fileId,
    state: job.state,
    status_url: statusUrl(job.fileId),
    expires_at: job.expiresAt?.toISOString() ?? null,
    error: job.error,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
  };
}

/** Archive reads on the query role: start a restore of an archived file and follow it. */
export function registerRestoreRoutes(router: Router, restore: RestoreDocument): void {
  router.post('/api/v1/files/:id/restore', async (ctx) => {
    const job = await restore.start((ctx.state as RequestState).principal, fileIdParam(ctx));
    // Accepted while the copy is being made; a restored copy already in place is simply the answer.
    ctx.status = job.state === 'running' ? 202 : 200;
    ctx.set('Location', statusUrl(job.fileId));
    ctx.body = restoreJobView(job);
  });
  router.get('/api/v1/files/:id/restore', async (ctx) => {
    ctx.body = restoreJobView(await restore.status((ctx.state as RequestState).principal, fileIdParam(ctx)));
  });
}
