import * as http from 'node:http';
import * as https from 'node:https';

/**
 * The minio client sets no timeout of its own, so a black-holed S3 endpoint would hold a request
 * (and the HTTP request behind it) forever. This transport (minio's `transport` option) destroys
 * any S3 request whose socket stays idle for `idleMs`, whether connecting, waiting for the answer
 * or mid-body, with ETIMEDOUT; a download in progress ends with the same error. After such a
 * timeout, requests made within the next `idleMs` fail at once the same way (a short circuit
 * breaker): a failed write's undo and the discards that follow would otherwise each wait out
 * another timeout while the client waits for its answer.
 */
export function idleTimeoutTransport(useSSL: boolean, idleMs: number): Pick<typeof http, 'request'> {
  const base = useSSL ? https : http;
  let openUntil = 0;
  const timedOut = (message: string): Error => Object.assign(new Error(message), { code: 'ETIMEDOUT' });
  // minio calls request(options, callback) only.
  const request = (
    options: http.RequestOptions,
    callback?: (response: http.IncomingMessage) => void,
  ): http.ClientRequest => {
    const pending = base.request(options, callback);
    if (Date.now() < openUntil) {
      const error = timedOut(`S3 did not answer within ${idleMs} ms a moment ago; not tried`);
      process.nextTick(() => pending.destroy(error));
      return pending;
    }
    let response: http.IncomingMessage | null = null;
    pending.once('response', (res: http.IncomingMessage) => (response = res));
    pending.setTimeout(idleMs, () => {
      openUntil = Date.now() + idleMs;
      const error = timedOut(`S3 request idle for ${idleMs} ms`);
      pending.destroy(error);
      response?.destroy(error);
    });
    return pending;
  };
  return { request: request as typeof http.request };
}
