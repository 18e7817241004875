import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import type { Context } from 'koa';
import { authentication, type Authenticator } from './authenticate';
import { requestContext } from './context';
import { failpoint, failpointsConfigured } from '../system/failpoints';
import { lingerOnClose } from './linger';
import { noNulCharacters } from './validation';

const ANSWERED_WRITES = /^\/api\/v1\/(?:files|uploads)(?:\/|$)/u;

/**
 * The `http.before_response` failpoint: an upload, tus request, finalize, update or delete whose
 * work is done and whose success is not yet sent (Koa writes the response after the middleware).
 * Installed only when failpoints are configured.
 */
async function failBeforeResponse(ctx: Context, next: () => Promise<unknown>): Promise<void> {
  await next();
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.status < 300 && ANSWERED_WRITES.test(ctx.path))
    failpoint('http.before_response');
}

/**
 * An answer given before the request body was read to its end (an upload refused part-way, or
 * before it began) closes the connection: the rest of the body would otherwise sit in it and
 * block the next request on a kept-alive socket. Clients see `Connection: close` and reconnect.
 */
async function closeAfterUnreadBody(ctx: Context, next: () => Promise<unknown>): Promise<void> {
  await next();
  if (!ctx.req.complete && !ctx.headerSent) {
    ctx.set('Connection', 'close');
    lingerOnClose(ctx.req);
  }
}

/** One Koa app per process; each role contributes its routes through `register`. */
export function createApp(
  log: Logger,
  metrics: Metrics,
  auth: { authenticate: Authenticator; issuerOf: (ctx: Context) => string },
  register: (router: Router) => void,
): Koa {
  const app = new Koa();
  app.on('error', (error: Error) => log.debug({ err: error }, 'response stream error'));
  app.use(closeAfterUnreadBody);
  app.use(requestContext(log, metrics));
  app.use(noNulCharacters);
  app.use(authentication(auth.authenticate, auth.issuerOf));
  if (failpointsConfigured()) app.use(failBeforeResponse);
  const router = new Router();
  register(router);
  app.use(router.routes());
  // Sets 405/501 with an Allow header; requestContext turns the empty answer into problem details.
  app.use(router.allowedMethods());
  return app;
}
