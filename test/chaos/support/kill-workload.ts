import { createHash, randomBytes } from 'node:crypto';
import { FILE_ID_HEADER } from '../../../src/adapters/http/tus-routes';
import { tusMetadata, UPLOADS } from '../../support/tus';
import type { History, Operation, Outcome, Payload } from './checker';

/** Sizes of the mixed workload; the largest (up to 100 MiB) are added by the campaign. */
const SIZES = [0, 1, 100, 4096, 65_536, 300_000, 1_048_577, 3_000_000];
const TIMEOUT_MS = 30_000;

interface Live {
  readonly tag: string;
  readonly fileId: string;
  finalized: boolean;
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

const payloadOf = (content: Buffer): Payload => ({
  sha256: createHash('sha256').update(content).digest('hex'),
  size: content.length,
});

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const refused = (error: unknown): boolean =>
  ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';

/**
 * ok (2xx), fail (an answer with a status and a body) or info (no answer). A refused connection
 * sent nothing: the request is made again (the process is restarting) rather than recorded, and
 * a 5xx pauses the client a moment, so clients wait for a dead process instead of spinning.
 */
async function attempt(
  request: () => Promise<Response>,
): Promise<{ outcome: Outcome; response?: Response; body?: string; detail?: string }> {
  let response: Response;
  const until = Date.now() + TIMEOUT_MS;
  for (;;) {
    try {
      response = await request();
      break;
    } catch (error) {
      if (refused(error) && Date.now() < until) {
        await pause(100);
        continue;
      }
      return {
        outcome: 'info',
        detail: String((error as Error).cause ?? (error as Error).message).slice(0, 80),
      };
    }
  }
  if (response.status >= 500) await pause(50);
  let body: string;
  try {
    body = await response.text();
  } catch (error) {
    return { outcome: 'info', detail: `body cut: ${(error as Error).message}` };
  }
  if (response.ok) return { outcome: 'ok', response, body };
  return { outcome: 'fail', response, body, detail: `${response.status} ${body.slice(0, 400)}` };
}

/**
 * The kill campaign's clients: direct uploads (raw), tus uploads resumed through any ingester
 * after a failed PATCH, finalize and delete of acknowledged files — every operation recorded in
 * the history. Operations on one file are issued one after another.
 */
export class KillWorkload {
  private stopped = false;
  private counter = 0;
  private readonly live: Live[] = [];
  readonly counts = { direct: 0, tus: 0, tusResumed: 0, finalize: 0, delete: 0 };

  constructor(
    private readonly history: History,
    private readonly ingesters: () => readonly string[],
    private readonly run: string,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  async worker(): Promise<void> {
    while (!this.stopped) {
      const r = Math.random();
      const candidate =
        this.live.length > 0 ? this.live.splice(Math.floor(Math.random() * this.live.length), 1)[0]! : null;
      if (candidate && r < 0.12 && !candidate.finalized) await this.finalize(candidate);
      else if (candidate && r < 0.24) await this.remove(candidate);
      else {
        if (candidate) this.live.push(candidate);
        const content = randomBytes(pick(SIZES));
        if (r < 0.45) await this.tusUpload(content);
        else await this.direct(content);
      }
    }
  }

  private nextTag(): string {
    this.counter += 1;
    return `${this.run}-${this.counter}`;
  }

  private remember(op: Operation): void {
    this.history.record(op);
  }

  async direct(
    content: Buffer,
    retention: 'temporary' | 'permanent' = Math.random() < 0.3 ? 'permanent' : 'temporary',
  ): Promise<void> {
    const tag = this.nextTag();
    this.counts.direct += 1;
    const query = new URLSearchParams({ name: `chaos-${tag}.bin`, retention_policy: retention });
    const result = await attempt(() =>
      fetch(`${pick(this.ingesters())}/api/v1/files?${query.toString()}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: content,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
    );
    const fileId =
      result.outcome === 'ok' ? (JSON.parse(result.body!) as { file_id: string }).file_id : undefined;
    this.remember({
      kind: 'create',
      tag,
      payload: payloadOf(content),
      outcome: result.outcome,
      retention,
      ...(fileId ? { fileId } : {}),
      ...(result.detail ? { detail: result.detail } : {}),
    });
    if (fileId && retention === 'temporary') this.live.push({ tag, fileId, finalized: false });
  }

  /** Creation, then PATCHes from the server's offset; a failed PATCH is resumed through any ingester. */
  async tusUpload(content: Buffer): Promise<void> {
    const tag = this.nextTag();
    this.counts.tus += 1;
    const payload = payloadOf(content);
    const tus = (url: string, method: string, headers: Record<string, string>, body?: Buffer) =>
      attempt(() =>
        fetch(url, {
          method,
          headers: {
            'tus-resumable': '1.0.0',
            ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}),
            ...headers,
          },
          ...(body ? { body } : {}),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        }),
      );
    const created = await tus(`${pick(this.ingesters())}${UPLOADS}`, 'POST', {
      'upload-length': String(content.length),
      'upload-metadata': tusMetadata({ filename: `chaos-${tag}.bin` }),
    });
    const location = created.response?.headers.get('location');
    if (created.outcome !== 'ok' || !location) {
      this.remember({
        kind: 'create',
        tag,
        payload,
        outcome: created.outcome,
        detail: `POST ${created.detail ?? ''}`,
      });
      return;
    }
    const path = location.startsWith('http') ? new URL(location).pathname : location;
    // Two PATCHes for anything but tiny content, so a kill can land between them.
    let offset = 0;
    let resumed = false;
    let last = created;
    for (let tries = 0; tries < 8 && !this.stopped; tries += 1) {
      const base = pick(this.ingesters());
      if (tries > 0) {
        resumed = true;
        // Like tus-js-client's retryDelays: a 423 (stored elsewhere) or a restarting ingester needs a moment.
        await pause(Math.min(4_000, 250 * 2 ** tries));
        const head = await tus(`${base}${path}`, 'HEAD', {});
        if (head.outcome !== 'ok') {
          last = head;
          continue;
        }
        const fileId = head.response!.headers.get(FILE_ID_HEADER.toLowerCase());
        if (fileId) return this.tusDone(tag, payload, fileId, resumed);
        offset = Number(head.response!.headers.get('upload-offset'));
      }
      const end = offset === 0 && content.length > 1024 ? Math.ceil(content.length / 2) : content.length;
      last = await tus(
        `${base}${path}`,
        'PATCH',
        { 'upload-offset': String(offset) },
        content.subarray(offset, end),
      );
      if (last.outcome !== 'ok') continue;
      offset = Number(last.response!.headers.get('upload-offset'));
      const fileId = last.response!.headers.get(FILE_ID_HEADER.toLowerCase());
      if (fileId) return this.tusDone(tag, payload, fileId, resumed);
      if (offset < content.length) tries -= 1; // the first half arrived: not a retry
    }
    // Never acknowledged: some PATCH may have gone through, so the create is open.
    this.remember({
      kind: 'create',
      tag,
      payload,
      outcome: 'info',
      detail: `tus gave up: ${last.detail ?? ''}`,
    });
  }

  private tusDone(tag: string, payload: Payload, fileId: string, resumed: boolean): void {
    if (resumed) this.counts.tusResumed += 1;
    this.remember({ kind: 'create', tag, payload, outcome: 'ok', fileId });
    this.live.push({ tag, fileId, finalized: false });
  }

  private async finalize(file: Live): Promise<void> {
    this.counts.finalize += 1;
    const result = await attempt(() =>
      fetch(`${pick(this.ingesters())}/api/v1/files/${file.fileId}/finalize`, {
        method: 'POST',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
    );
    this.remember({
      kind: 'finalize',
      tag: file.tag,
      outcome: result.outcome,
      ...(result.detail ? { detail: result.detail } : {}),
    });
    // A finalize with no definite answer may be under way: the file is left alone from here.
    if (result.outcome !== 'info') this.live.push({ ...file, finalized: true });
  }

  private async remove(file: Live): Promise<void> {
    this.counts.delete += 1;
    const result = await attempt(() =>
      fetch(`${pick(this.ingesters())}/api/v1/files/${file.fileId}`, {
        method: 'DELETE',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
    );
    this.remember({
      kind: 'delete',
      tag: file.tag,
      outcome: result.outcome,
      ...(result.detail ? { detail: result.detail } : {}),
    });
    if (result.outcome === 'fail') this.live.push(file);
  }
}
