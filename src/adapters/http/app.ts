import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import { requestContext } from './context';
import { HttpError } from './problem';

/** One Koa app per process; each role contributes its routes through `register`. */
export function createApp(log: Logger, metrics: Metrics, register: (router: Router) => void): Koa {
  const app = new Koa();
  app.on('error', (error: Error) => log.debug({ err: error }, 'response stream error'));
  app.use(requestContext(log, metrics));
  const router = new Router();
  register(router);
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new HttpError('method_not_allowed', 'this method is not allowed on this path'),
      notImplemented: () => new HttpError('method_not_allowed', 'this method is not implemented'),
    }),
  );
  return app;
}
