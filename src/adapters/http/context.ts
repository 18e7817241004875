import type { Context, Next } from 'koa';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../domain/access/principal';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import { HttpError, sendProblem, toProblem } from './problem';

export interface RequestState {
  requestId: string;
  log: Logger;
  principal: Principal;
}

/** The principal of a request before (or without) authentication: it may do nothing. */
export const ANONYMOUS: Principal = {
  kind: 'anonymous',
  subject: 'anonymous',
  scopes: new Set(),
  collections: {},
};

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/u;

/** 16 hex digits from a UUID, whose entropy Node pools: no `getrandom` syscall per request. */
const newRequestId = (): string => randomUUID().replaceAll('-', '').slice(0, 16);

/** Request id, request logger, duration metric, principal and problem-details errors for every route. */
export function requestContext(log: Logger, metrics: Metrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : newRequestId();
    const state = ctx.state as RequestState;
    state.requestId = requestId;
    // bunyan's simple child: only adds a field, far cheaper per request than a full child.
    state.log = log.child({ req_id: requestId }, true);
    state.principal = ANONYMOUS;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
      if (ctx.body === undefined && (ctx.status === 405 || ctx.status === 501)) {
        throw new HttpError(
          'method_not_allowed',
          `${ctx.method} is not allowed on ${ctx.path}; allowed: ${ctx.response.get('Allow')}`,
        );
      }
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new HttpError('route_not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (error) {
      const problem = toProblem(error);
      if (problem.code === 'internal_error' || problem.code === 'dependency_unavailable') {
        state.log.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      }
      state.log.debug({ err: error, code: problem.code }, 'request failed');
      if (ctx.headerSent || !ctx.writable) {
        // The response already started: the only honest signal left is to cut the connection.
        ctx.req.socket.destroy();
        return;
      }
      sendProblem(ctx, problem);
      if (ctx.status === 416 && typeof (problem.details as { size?: number }).size === 'number') {
        ctx.set('Content-Range', `bytes */${(problem.details as { size: number }).size}`);
      }
    } finally {
      const route = String((ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpDuration.labels(ctx.method, route, String(ctx.status)).observe(seconds);
      const entry = {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        ms: Math.round(seconds * 1000),
        subject: state.principal.subject,
      };
      if (ctx.status >= 500) state.log.warn(entry, 'request answered 5xx');
      else if (route.startsWith('/health') || route === '/metrics') state.log.debug(entry, 'request');
      else state.log.info(entry, 'request');
    }
  };
}
