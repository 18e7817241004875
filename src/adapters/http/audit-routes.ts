import type Router from '@koa/router';
import { z } from 'zod';
import type { ReadAudit } from '../../application/audit/read-audit';
import { AUDIT_QUERY_MAX_LIMIT } from '../../application/ports/audit-log';
import { AUDIT_ACTIONS, type AuditEntry } from '../../domain/audit/audit-entry';
import type { RequestState } from './context';
import { parseQuery } from './validation';

const auditQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  actor: z.string().min(1).max(256).optional(),
  actor_kind: z.enum(['user', 'service', 'anonymous', 'system']).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  action_prefix: z.string().min(1).max(64).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  target: z.string().min(1).max(256).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(AUDIT_QUERY_MAX_LIMIT).default(100),
});

export function auditEntryView(entry: AuditEntry): Record<string, unknown> {
  return {
    seq: entry.seq,
    at: entry.at.toISOString(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    details: entry.details,
    source: entry.source,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

export function registerAuditRoutes(router: Router, audit: ReadAudit): void {
  router.get('/api/v1/audit', async (ctx) => {
    const q = parseQuery(ctx, auditQuery);
    const page = await audit.query((ctx.state as RequestState).principal, {
      ...(q.from ? { from: new Date(q.from) } : {}),
      ...(q.to ? { to: new Date(q.to) } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.actor_kind ? { actorKind: q.actor_kind } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.action_prefix ? { actionPrefix: q.action_prefix } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
      ...(q.target ? { target: q.target } : {}),
      cursor: q.cursor ?? null,
      limit: q.limit,
    });
    ctx.body = { items: page.items.map(auditEntryView), next_cursor: page.nextCursor };
  });
  router.get('/api/v1/audit/verify', async (ctx) => {
    ctx.body = await audit.verify((ctx.state as RequestState).principal);
  });
}
