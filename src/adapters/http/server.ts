import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { ERROR_STATUS, problemBody } from './problem';

export interface RunningServer {
  readonly server: Server;
  /** The bound address, e.g. http://127.0.0.1:41234 (port 0 resolved). */
  readonly url: string;
  readonly port: number;
  close(timeoutMs: number): Promise<void>;
}

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): the interim 100 goes out only when a handler first
 * reads the body, so a request refused before reading (full SE, wrong mode, bad metadata) costs
 * the client no upload and a sender can try the next storage element with the same stream.
 */
function continueOnFirstRead(req: IncomingMessage, res: ServerResponse): void {
  const read = req._read.bind(req);
  let sent = false;
  req._read = (size: number) => {
    if (!sent) {
      sent = true;
      if (!res.headersSent) res.writeContinue();
    }
    read(size);
  };
}

/** Requests Node's parser rejects (bad request line, oversized headers) still get problem details. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const code = error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'malformed_request';
  const detail = `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'})`;
  // An answer to HEAD has no body (RFC 9110 §9.3.2): a client would read the body as the next answer.
  const raw = (error as { rawPacket?: Buffer }).rawPacket;
  const head = raw !== undefined && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
  // A token-endpoint client reads RFC 6749 §5.2 errors: the problem carries `error` too.
  const oauth = raw !== undefined && /^[A-Z]+ \/oauth\//u.test(raw.subarray(0, 16).toString('latin1'));
  socket.end(rawProblem(code, detail, PARSER_FIELDS[error.code ?? ''] ?? 'request', head, oauth));
}

/** What part of the request each llhttp error is about (the problem's `field`). */
const PARSER_FIELDS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'headers',
  HPE_INVALID_HEADER_TOKEN: 'headers',
  HPE_INVALID_METHOD: 'method',
  HPE_INVALID_URL: 'path',
  HPE_INVALID_VERSION: 'version',
  HPE_INVALID_CONTENT_LENGTH: 'content-length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'content-length',
  HPE_INVALID_TRANSFER_ENCODING: 'transfer-encoding',
  HPE_INVALID_CHUNK_SIZE: 'body',
};

/** A whole HTTP/1.1 answer carrying problem details, for the answers given before Koa sees a request. */
function rawProblem(
  code: 'headers_too_large' | 'malformed_request' | 'expectation_failed',
  detail: string,
  field: string,
  head = false,
  oauth = false,
): string {
  const { status, title } = ERROR_STATUS[code];
  const body = JSON.stringify({
    ...problemBody({ code, detail, details: { field } }, undefined),
    ...(oauth ? { error: 'invalid_request', error_description: detail } : {}),
  });
  return `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`;
}

/** RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met (Node would answer a bare 417). */
function refuseExpectation(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify(
    problemBody(
      {
        code: 'expectation_failed',
        detail: `the only expectation this server meets is 100-continue, not '${req.headers.expect ?? ''}'`,
        details: { field: 'expect' },
      },
      undefined,
    ),
  );
  res.writeHead(ERROR_STATUS.expectation_failed.status, {
    'Content-Type': 'application/problem+json',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  // Connection: close — a body, if any, was never asked for and cannot precede another request.
  res.end(body);
}

export async function listen(app: Koa, host: string, port: number): Promise<RunningServer> {
  const handler = app.callback();
  const server = createServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 },
    handler,
  );
  // Large uploads may take long; only a socket idle for 2 minutes is dropped.
  server.timeout = 120_000;
  server.on('clientError', answerClientError);
  server.on('checkExpectation', refuseExpectation);
  server.on('checkContinue', (req, res) => {
    continueOnFirstRead(req, res);
    void handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${address.port}`,
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
