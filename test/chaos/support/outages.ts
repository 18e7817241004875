import { createHash, randomBytes } from 'node:crypto';
import { anonymousFetch, type ClientCredentials } from '../../support/auth';
import { tusMetadata, UPLOADS } from '../../support/tus';

/** Every request must end with a definite answer within this (issue 7). */
export const ANSWER_WITHIN_MS = 5_000;
/** A request still unanswered after this is a hang (the client gives up). */
const HANG_MS = 15_000;

/** Where each role answers: one URL for `--role all`, one per role for a split deployment. */
export interface Target {
  readonly admin: string;
  readonly ingester: string;
  readonly query: string;
  /** The bootstrap admin's token (every scope), valid on every role. */
  readonly token: string;
}

/** Accounts and tokens that must never be let through, whatever is down. */
export interface Refused {
  readonly good: ClientCredentials;
  /** Guessed at with wrong secrets: its own account, so that `good` never meets the failure budget. */
  readonly guessed: ClientCredentials;
  readonly suspendedToken: string;
  readonly deletedToken: string;
  /** A token of an account whose per-minute limit is used up (`limit` sets it up per fault). */
  readonly limited: { token: string; until: number };
  /** A good token with its signature altered. */
  readonly forgedToken: string;
}

export interface Stored {
  readonly fileId: string;
  readonly sha256: string;
}

/** Files made before an outage for the operations that use one up (delete, finalize, first read). */
export interface Pool {
  readonly temporary: Stored;
  readonly permanent: Stored;
  readonly uncachedRead: Stored;
  readonly toDelete: Stored;
  readonly toFinalize: Stored;
}

export interface Outcome {
  readonly op: string;
  /** The status, `hang` (no answer in time) or `reset` (the connection failed). */
  readonly status: number | 'hang' | 'reset';
  readonly ms: number;
  readonly code?: string;
  /** Whether a 5xx came as problem details. */
  readonly problem: boolean;
  /** For operations that must never succeed: a 2xx is an auth decision that failed open. */
  readonly mustRefuse: boolean;
  /** An upload answered 2xx: its file must be readable after recovery. */
  readonly stored?: Stored;
  /** A delete answered 2xx: the file must stay gone. */
  readonly deleted?: string;
}

const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

async function timed(
  op: string,
  send: (signal: AbortSignal) => Promise<Response>,
  mustRefuse = false,
): Promise<{ outcome: Outcome; body: Buffer | null; response: Response | null }> {
  const started = performance.now();
  try {
    const response = await send(AbortSignal.timeout(HANG_MS));
    const body = Buffer.from(await response.arrayBuffer());
    const ms = performance.now() - started;
    const problem = (response.headers.get('content-type') ?? '').startsWith('application/problem+json');
    let code: string | undefined;
    if (problem) code = (JSON.parse(body.toString()) as { code?: string }).code;
    return { outcome: { op, status: response.status, ms, code, problem, mustRefuse }, body, response };
  } catch (error) {
    const ms = performance.now() - started;
    const name = (error as Error).name;
    const status = name === 'TimeoutError' || name === 'AbortError' ? 'hang' : 'reset';
    return { outcome: { op, status, ms, problem: false, mustRefuse }, body: null, response: null };
  }
}

/** Requests of one round in flight at once: enough to overlap, few enough not to queue on CPU. */
const MIX_CONCURRENCY = 6;

/** Runs the tasks with at most `n` at a time; results in the tasks' order. */
async function limited<T>(n: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, worker));
  return results;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function tokenRequest(url: string, clientId: string, secret: string, signal: AbortSignal): Promise<Response> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString(
    'base64',
  );
  return anonymousFetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
    signal,
  });
}

async function upload(target: Target, op: string, retention: string): Promise<Outcome> {
  const content = randomBytes(1024 + Math.floor(Math.random() * 64 * 1024));
  const { outcome, body } = await timed(op, (signal) =>
    anonymousFetch(
      `${target.ingester}/api/v1/files?${new URLSearchParams({ name: `${op}.bin`, retention_policy: retention })}`,
      {
        method: 'POST',
        headers: { ...bearer(target.token), 'content-type': 'application/octet-stream' },
        body: content,
        signal,
      },
    ),
  );
  if (outcome.status !== 201 || !body) return outcome;
  const fileId = (JSON.parse(body.toString()) as { file_id: string }).file_id;
  return { ...outcome, stored: { fileId, sha256: sha256(content) } };
}

async function tusUpload(target: Target): Promise<Outcome[]> {
  const content = randomBytes(20_000);
  const created = await timed('tus create', (signal) =>
    anonymousFetch(`${target.ingester}${UPLOADS}`, {
      method: 'POST',
      headers: {
        ...bearer(target.token),
        'tus-resumable': '1.0.0',
        'upload-length': String(content.length),
        'upload-metadata': tusMetadata({ filename: 'tus.bin', retention_policy: 'temporary' }),
      },
      signal,
    }),
  );
  const location = created.response?.headers.get('location');
  if (created.outcome.status !== 201 || !location) return [created.outcome];
  const patched = await timed('tus patch', (signal) =>
    anonymousFetch(new URL(location, target.ingester), {
      method: 'PATCH',
      headers: {
        ...bearer(target.token),
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
      },
      body: content,
      signal,
    }),
  );
  const fileId = patched.response?.headers.get('artstore-file-id');
  return [
    created.outcome,
    patched.outcome.status === 204 && fileId
      ? { ...patched.outcome, stored: { fileId, sha256: sha256(content) } }
      : patched.outcome,
  ];
}

async function download(target: Target, op: string, file: Stored): Promise<Outcome> {
  const { outcome, body } = await timed(op, (signal) =>
    anonymousFetch(`${target.query}/api/v1/files/${file.fileId}/content`, {
      headers: { ...bearer(target.token), 'accept-encoding': 'identity' },
      signal,
    }),
  );
  // A 2xx with other bytes than were stored is corruption served, never acceptable.
  if (outcome.status === 200 && body && sha256(body) !== file.sha256)
    return { ...outcome, status: 'reset', code: 'wrong_bytes' };
  return outcome;
}

const get = (target: Target, op: string, url: string, token = target.token, mustRefuse = false) =>
  timed(op, (signal) => anonymousFetch(url, { headers: bearer(token), signal }), mustRefuse).then(
    (r) => r.outcome,
  );

/**
 * The representative request mix of one round, all at once: tokens (granted and refused), uploads
 * (direct on both SEs, tus), metadata (cached and not), search, downloads, update, delete,
 * finalize, readiness, and requests that must be refused whatever is down.
 */
export async function runMix(target: Target, refused: Refused, pool: Pool): Promise<Outcome[]> {
  const search = `${target.query}/api/v1/search?q=chaos`;
  const rounds = await limited<Outcome | Outcome[]>(MIX_CONCURRENCY, [
    () =>
      timed('token', (s) =>
        tokenRequest(target.admin, refused.good.clientId, refused.good.clientSecret, s),
      ).then((r) => r.outcome),
    () =>
      timed(
        'token unknown client',
        (s) => tokenRequest(target.admin, 'no-such-client', 'secret', s),
        true,
      ).then((r) => r.outcome),
    () =>
      timed(
        'token wrong secret',
        (s) => tokenRequest(target.admin, refused.guessed.clientId, 'wrong', s),
        true,
      ).then((r) => r.outcome),
    () => get(target, 'suspended account', search, refused.suspendedToken, true),
    () => get(target, 'deleted account', search, refused.deletedToken, true),
    // The limit is used up for a minute only: past it the account may rightly be let through.
    () =>
      get(target, 'rate limited account', search, refused.limited.token, Date.now() < refused.limited.until),
    () => get(target, 'forged token', search, refused.forgedToken, true),
    () =>
      get(
        target,
        'admin forged token',
        `${target.admin}/api/v1/admin/service-accounts`,
        refused.forgedToken,
        true,
      ),
    () => upload(target, 'upload temporary', 'temporary'),
    () => upload(target, 'upload permanent', 'permanent'),
    () => tusUpload(target),
    () => get(target, 'metadata cached', `${target.query}/api/v1/files/${pool.temporary.fileId}`),
    () => get(target, 'metadata uncached', `${target.query}/api/v1/files/${pool.uncachedRead.fileId}`),
    () => get(target, 'search', search),
    () => download(target, 'download temporary', pool.temporary),
    () => download(target, 'download permanent', pool.permanent),
    () =>
      timed('update', (signal) =>
        anonymousFetch(`${target.ingester}/api/v1/files/${pool.temporary.fileId}`, {
          method: 'PATCH',
          headers: { ...bearer(target.token), 'content-type': 'application/json' },
          body: JSON.stringify({ description: `chaos ${Date.now()}` }),
          signal,
        }),
      ).then((r) => r.outcome),
    () =>
      timed('delete', (signal) =>
        anonymousFetch(`${target.ingester}/api/v1/files/${pool.toDelete.fileId}`, {
          method: 'DELETE',
          headers: bearer(target.token),
          signal,
        }),
      ).then((r) =>
        r.outcome.status === 204 || r.outcome.status === 200
          ? { ...r.outcome, deleted: pool.toDelete.fileId }
          : r.outcome,
      ),
    () =>
      timed('finalize', (signal) =>
        anonymousFetch(`${target.ingester}/api/v1/files/${pool.toFinalize.fileId}/finalize`, {
          method: 'POST',
          headers: { ...bearer(target.token), 'content-type': 'application/json' },
          body: '{}',
          signal,
        }),
      ).then((r) => r.outcome),
    ...[target.admin, target.ingester, target.query]
      .filter((url, i, all) => all.indexOf(url) === i)
      .map(
        (url) => () =>
          timed('ready', (signal) => anonymousFetch(`${url}/health/ready`, { signal })).then(
            (r) => r.outcome,
          ),
      ),
  ]);
  return rounds.flat();
}

/**
 * A definite answer: a status (no hang, no reset), a 5xx only as a 503/504 problem, and in time:
 * within 5 s more than the same request took once the deployment was healthy again (`healthyMs`),
 * so that a machine too loaded to answer in 5 s when nothing is wrong does not count against the
 * outage handling. The raw maximum is recorded against 5 s as well.
 */
export function isDefinite(o: Outcome, healthyMs = 0): boolean {
  if (typeof o.status !== 'number' || o.ms > ANSWER_WITHIN_MS + healthyMs) return false;
  // Readiness answers 503 with its own body, the per-dependency checks (not an error).
  if (o.op === 'ready') return o.status === 200 || o.status === 503;
  // 507 no_writable_storage: placement found no healthy SE able to take the file (an SE whose
  // backend is down is not healthy), answered before any byte is read.
  if (o.status === 507) return o.code === 'no_writable_storage';
  if (o.status >= 500) return (o.status === 503 || o.status === 504) && o.problem;
  return true;
}

export const failedOpen = (o: Outcome): boolean =>
  o.mustRefuse && typeof o.status === 'number' && o.status >= 200 && o.status < 300;

/** Whether the answer is what a healthy deployment gives (recovery is every op healthy again). */
export function isHealthy(o: Outcome): boolean {
  // Past its minute (or after a flush) the limited account may be let through or refused again.
  if (o.op === 'rate limited account') return o.status === 429 || o.status === 200;
  if (o.mustRefuse) return typeof o.status === 'number' && o.status >= 400 && o.status < 500;
  // A finalize or delete already done in an earlier round answers 409/404: the file moved on.
  if (o.op === 'finalize' || o.op === 'delete')
    return typeof o.status === 'number' && (o.status < 300 || o.status === 404 || o.status === 409);
  return typeof o.status === 'number' && o.status >= 200 && o.status < 300;
}

/** `503 dependency_unavailable ×3, 504 … ×1` for the table. */
export function fiveXxKinds(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    if (typeof o.status === 'number' && o.status < 500) continue;
    const key = `${o.status}${o.code ? ` ${o.code}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts.size === 0 ? 'none' : [...counts].map(([key, n]) => `${key} ×${n}`).join(', ');
}

export const describeOutcome = (o: Outcome): string =>
  `${o.op}: ${o.status}${o.code ? ` ${o.code}` : ''} in ${Math.round(o.ms)} ms`;
