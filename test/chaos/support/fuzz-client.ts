import { Agent, request } from 'node:http';
import { connect } from 'node:net';

/** One generated request: what the fuzzer sends, printed as is when it breaks a rule. */
export interface FuzzRequest {
  readonly method: string;
  /** Path and query, already encoded (or deliberately mis-encoded). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
  /**
   * Send these bytes on a fresh socket instead of through node:http: for what node:http refuses to
   * write (a Content-Length that lies, bytes after the body). `{{auth}}` is replaced by the token.
   */
  readonly raw?: string;
}

export type Outcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: Readonly<Record<string, string | string[] | undefined>>;
      readonly body: Buffer;
    }
  | { readonly kind: 'hang' | 'reset'; readonly detail: string };

const BODY_KEEP = 64 * 1024;

/**
 * node:http rather than fetch: fetch refuses or rewrites the headers the fuzzer is after (Host,
 * Content-Length, Transfer-Encoding, bytes outside ISO-8859-1) and retries nothing we can see.
 */
export class FuzzClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly base: URL,
    private readonly timeoutMs: number,
  ) {}

  send(req: FuzzRequest): Promise<Outcome> {
    return req.raw !== undefined ? this.sendRaw(req.raw) : this.sendHttp(req);
  }

  close(): void {
    this.agent.destroy();
  }

  private sendHttp(req: FuzzRequest): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      let r: ReturnType<typeof request>;
      try {
        r = request(
          {
            host: this.base.hostname,
            port: this.base.port,
            method: req.method,
            path: req.path,
            // node:http frames a GET/HEAD/DELETE/OPTIONS body with nothing: state its length.
            headers:
              req.body !== undefined &&
              !Object.keys(req.headers).some((h) => h.toLowerCase() === 'content-length')
                ? { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) }
                : req.headers,
            agent: this.agent,
          },
          (res) => {
            const chunks: Buffer[] = [];
            let kept = 0;
            res.on('data', (chunk: Buffer) => {
              if (kept < BODY_KEEP) chunks.push(chunk);
              kept += chunk.length;
            });
            res.on('end', () =>
              done({
                kind: 'response',
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: Buffer.concat(chunks),
              }),
            );
            res.on('error', (error) => done({ kind: 'reset', detail: `response: ${error.message}` }));
            res.on('aborted', () => done({ kind: 'reset', detail: 'response aborted' }));
          },
        );
      } catch (error) {
        // node:http refused to write the request (an invalid header value): nothing was sent.
        done({ kind: 'response', status: 0, headers: {}, body: Buffer.from((error as Error).message) });
        return;
      }
      const timer = setTimeout(() => {
        done({ kind: 'hang', detail: `no complete answer within ${this.timeoutMs} ms` });
        r.destroy();
      }, this.timeoutMs);
      r.on('error', (error: NodeJS.ErrnoException) =>
        done({ kind: 'reset', detail: `${error.code ?? ''} ${error.message}` }),
      );
      if (req.body !== undefined) r.end(req.body);
      else r.end();
    });
  }

  private sendRaw(raw: string): Promise<Outcome> {
    return new Promise((resolve) => {
      const socket = connect(Number(this.base.port), this.base.hostname);
      const chunks: Buffer[] = [];
      let settled = false;
      const done = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      const timer = setTimeout(() => done(parseRaw(chunks, 'hang')), this.timeoutMs);
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        // One answer is all we wait for: the server may keep the connection open after it.
        const parsed = parseRaw(chunks, null);
        if (parsed) done(parsed);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => done(parseRaw(chunks, 'reset', error.code)));
      socket.on('close', () => done(parseRaw(chunks, 'reset', 'closed')));
      socket.write(raw);
    });
  }
}

function parseRaw(chunks: Buffer[], otherwise: null, code?: string): Outcome | null;
function parseRaw(chunks: Buffer[], otherwise: 'hang' | 'reset', code?: string): Outcome;
function parseRaw(chunks: Buffer[], otherwise: 'hang' | 'reset' | null, code?: string): Outcome | null {
  const text = Buffer.concat(chunks);
  const end = text.indexOf('\r\n\r\n');
  if (end >= 0) {
    const head = text.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/u.exec(head[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const body = text.subarray(end + 4);
    const length = Number(headers['content-length'] ?? NaN);
    if (status > 0 && (body.length >= length || (Number.isNaN(length) && otherwise !== null)))
      return {
        kind: 'response',
        status,
        headers,
        body: Number.isNaN(length) ? body : body.subarray(0, length),
      };
  }
  if (otherwise === null) return null;
  return {
    kind: otherwise,
    detail: `${code ?? ''} after ${text.length} bytes: ${text.toString('latin1').slice(0, 200)}`,
  };
}
