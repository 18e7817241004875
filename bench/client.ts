/**
 * The load client shared by every scenario: node:http with a keep-alive Agent whose maxSockets is
 * the concurrency. Upload bodies come from buffers in memory (never from disk); responses are
 * checked (status, length, and for uploads the size and SHA-256 the server reports), and every
 * failure is counted with a sample message.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

/** An upload body: chunks of pre-generated random bytes, with its length and SHA-256 known up front. */
export interface Body {
  readonly length: number;
  readonly sha256: string;
  chunks(): Iterable<Buffer>;
}

/** A body that is `pool` repeated until `length` bytes, handed out in `chunkSize` slices. */
export function repeatedBody(pool: Buffer, length: number, chunkSize = 1 << 20): Body {
  const hash = createHash('sha256');
  for (let done = 0; done < length;) {
    const n = Math.min(pool.length, length - done);
    hash.update(n === pool.length ? pool : pool.subarray(0, n));
    done += n;
  }
  return {
    length,
    sha256: hash.digest('hex'),
    *chunks() {
      for (let done = 0; done < length;) {
        const at = done % pool.length;
        const n = Math.min(chunkSize, pool.length - at, length - done);
        yield pool.subarray(at, at + n);
        done += n;
      }
    },
  };
}

/** A small body held in one buffer. */
export function bufferBody(buffer: Buffer): Body {
  return {
    length: buffer.length,
    sha256: createHash('sha256').update(buffer).digest('hex'),
    *chunks() {
      yield buffer;
    },
  };
}

export function randomPool(bytes: number): Buffer {
  const pool = Buffer.allocUnsafe(bytes);
  for (let at = 0; at < bytes; at += 1 << 24) randomBytes(Math.min(1 << 24, bytes - at)).copy(pool, at);
  return pool;
}

export interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Bytes of the response body received. */
  readonly bytes: number;
  /** The body, when collected (otherwise empty). */
  readonly body: Buffer;
  /** From the first byte of the request to the last byte of the response. */
  readonly ms: number;
}

export interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Body;
  /** Keep the response body (otherwise only its length is counted). */
  readonly collect?: boolean;
  readonly timeoutMs?: number;
}

/** Counts failures by message and keeps the first few distinct ones. */
export class Errors {
  count = 0;
  private readonly byMessage = new Map<string, number>();

  add(message: string): void {
    this.count += 1;
    this.byMessage.set(message, (this.byMessage.get(message) ?? 0) + 1);
  }

  merge(other: Errors): void {
    for (const [message, n] of other.byMessage) {
      this.count += n;
      this.byMessage.set(message, (this.byMessage.get(message) ?? 0) + n);
    }
  }

  describe(limit = 5): string {
    return [...this.byMessage]
      .slice(0, limit)
      .map(([message, n]) => `${n}× ${message}`)
      .join('; ');
  }
}

/** Bearer tokens by origin (`http://host:port`), added to every request that names none. */
const tokens = new Map<string, string>();

export function authorizeOrigin(baseUrl: string, token: string): void {
  tokens.set(new URL(baseUrl).origin, token);
}

function originOf(url: string): string {
  const end = url.indexOf('/', url.indexOf('//') + 2);
  return end < 0 ? url : url.slice(0, end);
}

/** A request that failed on a kept-alive socket the server had already closed, before any answer. */
class StaleSocket extends Error {}

export class LoadClient {
  private readonly agent: Agent;
  /**
   * Requests sent again because the kept-alive socket they went out on had been closed by the
   * server while idle (the HTTP/1.1 keep-alive race, RFC 9112 §9.3.1; Node's docs for
   * `request.reusedSocket` retry the same way). The server never read such a request.
   */
  staleSocketRetries = 0;

  constructor(readonly concurrency: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  async send(options: RequestOptions): Promise<Response> {
    const started = process.hrtime.bigint();
    for (;;) {
      try {
        return await this.sendOnce(options, started);
      } catch (error) {
        if (!(error instanceof StaleSocket)) throw error;
        this.staleSocketRetries += 1;
      }
    }
  }

  private sendOnce(options: RequestOptions, started: bigint): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      const token = tokens.get(originOf(options.url));
      if (token && !headers.authorization) headers.authorization = `Bearer ${token}`;
      if (options.body) headers['content-length'] = String(options.body.length);
      const req = request(options.url, { method: options.method, headers, agent: this.agent });
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(error);
      };
      req.setTimeout(options.timeoutMs ?? 300_000, () => fail(new Error('request timed out')));
      let answered = false;
      req.on('error', (error: NodeJS.ErrnoException) => {
        const stale =
          req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        fail(stale ? new StaleSocket(error.message) : error);
      });
      req.on('response', (res) => {
        answered = true;
        let bytes = 0;
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (options.collect) parts.push(chunk);
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('response aborted')));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            bytes,
            body: Buffer.concat(parts),
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          });
        });
      });
      const body = options.body;
      if (!body) {
        req.end();
        return;
      }
      void (async () => {
        for (const chunk of body.chunks()) {
          if (settled) return;
          if (!req.write(chunk)) await once(req, 'drain');
        }
        req.end();
      })().catch((error: unknown) => fail(error as Error));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Uploads `body` and checks the 201 answer reports the same size and SHA-256. */
export async function upload(
  client: LoadClient,
  url: string,
  body: Body,
  errors: Errors,
): Promise<number | null> {
  try {
    const res = await client.send({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/octet-stream' },
      body,
      collect: true,
    });
    const text = res.body.toString('utf8');
    if (res.status !== 201) {
      errors.add(`upload: status ${res.status} ${text.slice(0, 160)}`);
      return null;
    }
    const answer = JSON.parse(text) as { size?: unknown; sha256?: unknown };
    if (answer.size !== body.length || answer.sha256 !== body.sha256) {
      errors.add(`upload: answer reports size ${String(answer.size)} sha256 ${String(answer.sha256)}`);
      return null;
    }
    return res.ms;
  } catch (error) {
    errors.add(`upload: ${(error as Error).message}`);
    return null;
  }
}

/** tus 1.0.0 `Upload-Metadata`: comma-separated `key base64(value)` pairs. */
export function tusMetadata(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

/**
 * One tus upload: creation-with-upload (the body in the POST, as clients do for small files) or
 * a creation followed by one PATCH of the whole body. Checks the final offset; where the server
 * names the stored file (`ArtStore-File-Id`), that it does. Returns ms from creation to the end.
 */
export async function tusUpload(
  client: LoadClient,
  endpoint: string,
  body: Body,
  errors: Errors,
  options: { metadata: string; withCreation: boolean; expectFileId: boolean },
): Promise<number | null> {
  const started = process.hrtime.bigint();
  const tus = { 'tus-resumable': '1.0.0' };
  try {
    const created = await client.send({
      method: 'POST',
      url: endpoint,
      headers: {
        ...tus,
        'upload-length': String(body.length),
        'upload-metadata': options.metadata,
        ...(options.withCreation ? { 'content-type': 'application/offset+octet-stream' } : {}),
      },
      ...(options.withCreation ? { body } : {}),
      collect: true,
    });
    if (created.status !== 201) {
      errors.add(`tus create: status ${created.status} ${created.body.toString('utf8').slice(0, 160)}`);
      return null;
    }
    let last = created;
    if (!options.withCreation) {
      const location = new URL(String(created.headers.location), endpoint).toString();
      last = await client.send({
        method: 'PATCH',
        url: location,
        headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        body,
        collect: true,
      });
      if (last.status !== 204) {
        errors.add(`tus patch: status ${last.status} ${last.body.toString('utf8').slice(0, 160)}`);
        return null;
      }
    }
    if (last.headers['upload-offset'] !== String(body.length)) {
      errors.add(`tus: final offset ${String(last.headers['upload-offset'])}, expected ${body.length}`);
      return null;
    }
    if (options.expectFileId && !last.headers['artstore-file-id']) {
      errors.add('tus: the last answer names no ArtStore-File-Id');
      return null;
    }
    return Number(process.hrtime.bigint() - started) / 1e6;
  } catch (error) {
    errors.add(`tus: ${(error as Error).message}`);
    return null;
  }
}

/** GETs `url` and checks the status and the number of body bytes. */
export async function download(
  client: LoadClient,
  url: string,
  expect: { status: number; bytes: number },
  errors: Errors,
  headers?: Record<string, string>,
): Promise<number | null> {
  try {
    const res = await client.send({ method: 'GET', url, ...(headers ? { headers } : {}) });
    if (res.status !== expect.status || res.bytes !== expect.bytes) {
      errors.add(
        `GET: status ${res.status} with ${res.bytes} bytes, expected ${expect.status} with ${expect.bytes}`,
      );
      return null;
    }
    return res.ms;
  } catch (error) {
    errors.add(`GET: ${(error as Error).message}`);
    return null;
  }
}

export interface RunResult {
  readonly seconds: number;
  /** Latencies of the successful requests, in ms. */
  readonly latencies: number[];
  readonly errors: Errors;
}

/**
 * Runs `task` `count` times with `concurrency` workers (each task returns its latency, or null on
 * failure); seconds is the wall time from the first start to the last completion.
 */
export async function runCount(
  count: number,
  concurrency: number,
  task: (i: number, errors: Errors) => Promise<number | null>,
): Promise<RunResult> {
  const errors = new Errors();
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const ms = await task(next++, errors);
      if (ms !== null) latencies.push(ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies, errors };
}

/** Like runCount, but workers start new requests until `durationMs` has passed. */
export async function runFor(
  durationMs: number,
  concurrency: number,
  task: (i: number, errors: Errors) => Promise<number | null>,
): Promise<RunResult> {
  const errors = new Errors();
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(durationMs * 1e6));
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const ms = await task(next++, errors);
      if (ms !== null) latencies.push(ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies, errors };
}
