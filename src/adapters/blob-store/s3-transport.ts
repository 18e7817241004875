import * as http from 'node:http';
import * as https from 'node:https';

/**
 * The minio client sets no timeout of its own, so a black-holed S3 endpoint would hold a request
 * (and the HTTP request behind it) forever. This transport (minio's `transport` option) destroys
 * any S3 request whose socket stays idle for `idleMs`, whether connecting, waiting for the answer
 * or mid-body, with ETIMEDOUT; a download in progress ends with the same error.
 */
export function idleTimeoutTransport(useSSL: boolean, idleMs: number): Pick<typeof http, 'request'> {
  const base = useSSL ? https : http;
  // minio calls request(options, callback) only.
  const request = (
    options: http.RequestOptions,
    callback?: (response: http.IncomingMessage) => void,
  ): http.ClientRequest => {
    const pending = base.request(options, callback);
    let response: http.IncomingMessage | null = null;
    pending.once('response', (res: http.IncomingMessage) => (response = res));
    pending.setTimeout(idleMs, () => {
      const error = Object.assign(new Error(`S3 request idle for ${idleMs} ms`), { code: 'ETIMEDOUT' });
      pending.destroy(error);
      response?.destroy(error);
    });
    return pending;
  };
  return { request: request as typeof http.request };
}
