import { Agent, request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import {
  APPLICATION_ERROR_CODES,
  ApplicationError,
  type ApplicationErrorCode,
} from '../../application/errors';
import type { ByteRange } from '../../application/ports/blob-store';
import type { Page } from '../../application/ports/file-index';
import type {
  ContentExpectations,
  OpenedContent,
  PutOptions,
  RebuildReport,
  ReconcileOptions,
  ReconcileReport,
  ScrubStatus,
  StorageElementClient,
  StorageElementInfo,
  UpdateOptions,
} from '../../application/ports/storage-element-client';
import type { AttributeChange } from '../../domain/document/attribute-change';
import type { DocumentAttributes, DocumentDraft } from '../../domain/document/document';
import { DOMAIN_ERROR_CODES, DomainError, type DomainErrorCode } from '../../domain/errors';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';
import {
  encodeAttributeUpdate,
  encodeDraft,
  INTERNAL_PREFIX,
  infoSchema,
  putOptionsToHeaders,
  reconcileSchema,
  scrubSchema,
} from '../http/internal-wire';
import type { JsonSidecarCodec } from '../sidecar/json-sidecar-codec';

const JSON_TIMEOUT_MS = 30_000;
/** Reconcile answers when it has walked the whole SE (with checksums: re-read every byte). */
const RECONCILE_TIMEOUT_MS = 6 * 60 * 60 * 1000;
const STREAM_IDLE_MS = 60_000;

interface Problem {
  code?: string;
  detail?: string;
  [key: string]: unknown;
}

/** Rebuilds the SE's error from its problem details, so callers see the same codes as in one process. */
function errorFrom(status: number, problem: Problem, seId: string): Error {
  const { code, detail = `storage element '${seId}' answered ${status}` } = problem;
  const details = Object.fromEntries(
    Object.entries(problem).filter(
      ([k]) => !['type', 'title', 'status', 'detail', 'code', 'request_id'].includes(k),
    ),
  );
  if (code && (DOMAIN_ERROR_CODES as readonly string[]).includes(code))
    return new DomainError(code as DomainErrorCode, detail, details);
  if (code && (APPLICATION_ERROR_CODES as readonly string[]).includes(code)) {
    return new ApplicationError(code as ApplicationErrorCode, detail, details);
  }
  return new ApplicationError('storage_unavailable', `storage element '${seId}' failed: ${detail}`, {
    se_status: status,
  });
}

function unreachable(seId: string, error: unknown): ApplicationError {
  return new ApplicationError(
    'storage_unavailable',
    `storage element '${seId}' is unreachable: ${(error as Error).message}`,
    {},
    { cause: error },
  );
}

async function readBody(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The storage role boundary over HTTP (split topology): the SE's internal API. Writes use
 * `Expect: 100-continue`, so an SE that refuses does it before a byte of content is consumed.
 */
export class HttpStorageElementClient implements StorageElementClient {
  constructor(
    readonly id: string,
    private readonly baseUrl: () => Promise<string>,
    private readonly codec: JsonSidecarCodec,
    private readonly agent: Agent,
    /**
     * This process's access token for the SE's internal API (`storage:*` scopes); given the token
     * the SE just refused (401), it drops it and gets a new one.
     */
    private readonly accessToken: (rejected?: string) => Promise<string>,
  ) {}

  private async authorization(rejected?: string): Promise<{ authorization: string }> {
    return { authorization: `Bearer ${await this.accessToken(rejected)}` };
  }

  /** After a 401 the token is dropped, so the next call has a new one (e.g. the issuer's keys were reset). */
  private refused(auth: { authorization: string }): void {
    void this.accessToken(auth.authorization.slice('Bearer '.length)).catch(() => undefined);
  }

  private async url(path: string): Promise<URL> {
    return new URL(`${INTERNAL_PREFIX}/${encodeURIComponent(this.id)}${path}`, await this.baseUrl());
  }

  /** A JSON call; one refused with 401 is sent once more with a new token (the SE did nothing). */
  private async call(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = JSON_TIMEOUT_MS,
  ): Promise<{ status: number; body: Buffer }> {
    const first = await this.callOnce(method, path, await this.authorization(), body, timeoutMs);
    if (first.status !== 401) return first;
    return this.callOnce(method, path, await this.authorization(first.token), body, timeoutMs);
  }

  private async callOnce(
    method: string,
    path: string,
    auth: { authorization: string },
    body: unknown,
    timeoutMs: number,
  ): Promise<{ status: number; body: Buffer; token: string }> {
    const url = await this.url(path);
    const token = auth.authorization.slice('Bearer '.length);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method,
        agent: this.agent,
        headers: payload
          ? { ...auth, 'content-type': 'application/json', 'content-length': payload.length }
          : auth,
        timeout: timeoutMs,
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (error) => reject(unreachable(this.id, error)));
      req.on('response', (res) => {
        readBody(res).then(
          (buffer) => resolve({ status: res.statusCode ?? 0, body: buffer, token }),
          (error: unknown) => reject(unreachable(this.id, error)),
        );
      });
      req.end(payload);
    });
  }

  private async json<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const res = await this.call(method, path, body, timeoutMs);
    const parsed = res.body.length > 0 ? (JSON.parse(res.body.toString('utf8')) as unknown) : null;
    if (res.status >= 400) throw errorFrom(res.status, (parsed ?? {}) as Problem, this.id);
    return parsed as T;
  }

  async put(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
    options?: PutOptions,
  ): Promise<DocumentAttributes> {
    const url = await this.url(`/files/${draft.fileId}`);
    const auth = await this.authorization();
    const headers: Record<string, string> = {
      ...auth,
      expect: '100-continue',
      'content-type': 'application/octet-stream',
      ...putOptionsToHeaders(options),
    };
    if (expect.size !== null) headers['artstore-content-length'] = String(expect.size);
    if (expect.sha256) headers['artstore-expect-sha256'] = expect.sha256;
    if (expect.sha512) headers['artstore-expect-sha512'] = expect.sha512;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method: 'PUT', agent: this.agent, headers });
      req.setTimeout(STREAM_IDLE_MS, () => req.destroy(new Error(`idle for ${STREAM_IDLE_MS} ms`)));
      req.on('error', (error) => reject(unreachable(this.id, error)));
      // Never destroy `content` here: it is the caller's stream (often a client's request).
      const onContentError = (error: unknown): void => {
        req.destroy();
        reject(error);
      };
      req.on('continue', () => {
        req.write(`${encodeDraft(draft)}\n`);
        content.once('error', onContentError);
        content.pipe(req);
      });
      req.on('response', (response) => {
        // An early answer (refusal, or failure mid-body) ends our sending.
        content.unpipe(req);
        content.off('error', onContentError);
        resolve(response);
      });
      req.flushHeaders();
    });
    const body = await readBody(res).catch((error: unknown) => {
      throw unreachable(this.id, error);
    });
    const parsed = body.length > 0 ? (JSON.parse(body.toString('utf8')) as unknown) : {};
    if (res.statusCode === 401) this.refused(auth);
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(res.statusCode ?? 500, parsed as Problem, this.id);
    return this.codec.fromDocument(parsed);
  }

  async head(fileId: string): Promise<DocumentAttributes> {
    return this.codec.fromDocument(await this.json<unknown>('GET', `/files/${fileId}`));
  }

  open(fileId: string, range?: ByteRange): Promise<OpenedContent> {
    return this.read(`/files/${fileId}/content`, range);
  }

  openForRestore(fileId: string): Promise<OpenedContent> {
    return this.read(`/files/${fileId}/content?purpose=restore`);
  }

  openStored(fileId: string, range?: ByteRange): Promise<OpenedContent> {
    return this.read(`/files/${fileId}/content?purpose=stored`, range);
  }

  private async read(path: string, range?: ByteRange): Promise<OpenedContent> {
    const url = await this.url(path);
    const auth = await this.authorization();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, {
        method: 'GET',
        agent: this.agent,
        headers: range ? { ...auth, range: `bytes=${range.start}-${range.end}` } : auth,
      });
      req.setTimeout(STREAM_IDLE_MS, () => req.destroy(new Error(`idle for ${STREAM_IDLE_MS} ms`)));
      req.on('error', (error) => reject(unreachable(this.id, error)));
      req.on('response', resolve);
      req.end();
    });
    const status = res.statusCode ?? 500;
    if (status === 401) this.refused(auth);
    if (status >= 400) {
      const body = await readBody(res);
      throw errorFrom(status, (body.length ? JSON.parse(body.toString('utf8')) : {}) as Problem, this.id);
    }
    return {
      size: Number(res.headers['artstore-size']),
      sha256: String(res.headers['artstore-sha256']),
      range: status === 206 && range ? range : null,
      stream: res,
    };
  }

  async delete(fileId: string): Promise<void> {
    await this.json<unknown>('DELETE', `/files/${fileId}`);
  }

  async update(
    fileId: string,
    change: AttributeChange,
    options: UpdateOptions = {},
  ): Promise<DocumentAttributes> {
    return this.codec.fromDocument(
      await this.json<unknown>('PATCH', `/files/${fileId}`, encodeAttributeUpdate(change, options)),
    );
  }

  async discard(fileId: string): Promise<void> {
    await this.json<unknown>('POST', `/files/${fileId}/discard`);
  }

  async info(): Promise<StorageElementInfo> {
    return infoSchema.parse(await this.json<unknown>('GET', '/info'));
  }

  async listAttributes(options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>> {
    const query = new URLSearchParams({ limit: String(options.limit) });
    if (options.cursor) query.set('cursor', options.cursor);
    const page = await this.json<{ items: unknown[]; next_cursor: string | null }>(
      'GET',
      `/attributes?${query.toString()}`,
    );
    return { items: page.items.map((item) => this.codec.fromDocument(item)), nextCursor: page.next_cursor };
  }

  async rebuild(): Promise<RebuildReport> {
    return this.json<RebuildReport>('POST', '/rebuild');
  }

  async changeMode(to: StorageMode, confirmed: boolean): Promise<StorageElementInfo> {
    return infoSchema.parse(await this.json<unknown>('PUT', '/mode', { mode: to, confirm: confirmed }));
  }

  async reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
    return reconcileSchema.parse(
      await this.json<unknown>('POST', '/reconcile', options, RECONCILE_TIMEOUT_MS),
    );
  }

  async startScrub(options: { rateBytesPerSecond: number | null }): Promise<ScrubStatus> {
    return scrubSchema.parse(
      await this.json<unknown>('POST', '/scrub', { rate_bytes_per_second: options.rateBytesPerSecond }),
    );
  }

  async scrubStatus(): Promise<ScrubStatus> {
    return scrubSchema.parse(await this.json<unknown>('GET', '/scrub'));
  }
}
