import type { Context } from 'koa';
import { ApplicationError, type ApplicationErrorCode } from '../../application/errors';
import { diskFailure } from '../../application/storage/storage-errors';
import { DomainError, type DomainErrorCode } from '../../domain/errors';
import { InvalidCursor } from '../memory/cursor';

/** Errors only the HTTP edge can detect (malformed requests, routing). */
export const HTTP_ERROR_CODES = [
  'malformed_request',
  'headers_too_large',
  'route_not_found',
  'method_not_allowed',
  'malformed_multipart',
  'missing_file',
  'multiple_files',
  'field_after_file',
  'invalid_digest',
  'invalid_cursor',
  'invalid_json',
  'unsupported_media_type',
  'request_too_large',
  'tus_resumable_required',
  'unsupported_tus_extension',
  'decompression_bomb',
  'unsupported_content_encoding',
  'expectation_failed',
  'dependency_unavailable',
  'internal_error',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export type ErrorCode = DomainErrorCode | ApplicationErrorCode | HttpErrorCode;

/** ARCHITECTURE §5: every error code maps to exactly one status; the compiler checks the table is complete. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, { status: number; title: string }>> = {
  invalid_retention: { status: 400, title: 'Invalid retention' },
  invalid_ttl: { status: 400, title: 'Invalid TTL' },
  invalid_file_name: { status: 400, title: 'Invalid file name' },
  file_name_too_long: { status: 400, title: 'File name too long' },
  description_too_long: { status: 400, title: 'Description too long' },
  too_many_tags: { status: 400, title: 'Too many tags' },
  tag_too_long: { status: 400, title: 'Tag too long' },
  invalid_tag: { status: 400, title: 'Invalid tag' },
  too_many_metadata_entries: { status: 400, title: 'Too many metadata entries' },
  metadata_key_invalid: { status: 400, title: 'Invalid metadata key' },
  metadata_value_too_long: { status: 400, title: 'Metadata value too long' },
  metadata_too_large: { status: 413, title: 'Metadata too large' },
  invalid_collection: { status: 400, title: 'Invalid collection' },
  mode_forbids_operation: { status: 409, title: 'Storage mode forbids the operation' },
  illegal_mode_transition: { status: 409, title: 'Illegal mode transition' },
  confirmation_required: { status: 409, title: 'Confirmation required' },
  retention_active: { status: 409, title: 'Retention period active' },
  legal_hold_active: { status: 409, title: 'Legal hold active' },
  insufficient_capacity: { status: 507, title: 'Insufficient capacity' },
  legal_hold_temporary: { status: 409, title: 'Legal hold applies to permanent files only' },
  retain_until_shortened: { status: 409, title: 'Retention may only be extended' },
  invalid_request: { status: 400, title: 'Invalid request' },
  file_not_found: { status: 404, title: 'File not found' },
  storage_element_not_found: { status: 404, title: 'Storage element not found' },
  digest_mismatch: { status: 400, title: 'Digest mismatch' },
  size_mismatch: { status: 400, title: 'Size mismatch' },
  content_too_large: { status: 413, title: 'Content too large' },
  file_too_large: { status: 413, title: 'File too large' },
  content_type_not_allowed: { status: 415, title: 'Content type not allowed' },
  range_not_satisfiable: { status: 416, title: 'Range not satisfiable' },
  no_writable_storage: { status: 507, title: 'No writable storage' },
  storage_unavailable: { status: 503, title: 'Storage unavailable' },
  storage_full: { status: 507, title: 'Storage full' },
  write_outcome_unknown: { status: 503, title: 'Write outcome unknown' },
  upload_interrupted: { status: 400, title: 'Upload interrupted' },
  forbidden: { status: 403, title: 'Forbidden' },
  conflict: { status: 409, title: 'Conflict' },
  file_corrupt: { status: 503, title: 'Stored copy failed its integrity check' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'Invalid token' },
  insufficient_scope: { status: 403, title: 'Insufficient scope' },
  invalid_client: { status: 401, title: 'Invalid client' },
  invalid_grant: { status: 400, title: 'Invalid grant' },
  invalid_scope: { status: 400, title: 'Invalid scope' },
  unsupported_grant_type: { status: 400, title: 'Unsupported grant type' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  account_locked: { status: 423, title: 'Account locked' },
  weak_password: { status: 400, title: 'Password does not meet the policy' },
  rate_limited: { status: 429, title: 'Too many requests' },
  account_not_found: { status: 404, title: 'Service account not found' },
  user_not_found: { status: 404, title: 'User not found' },
  saga_not_found: { status: 404, title: 'Saga not found' },
  replicas_missing: { status: 409, title: 'Copies missing' },
  signing_key_unavailable: { status: 503, title: 'Signing key unavailable' },
  upload_not_found: { status: 404, title: 'Upload not found' },
  upload_expired: { status: 410, title: 'Upload expired' },
  upload_failed: { status: 409, title: 'Upload failed' },
  upload_locked: { status: 423, title: 'Upload locked' },
  offset_mismatch: { status: 409, title: 'Upload-Offset conflict' },
  checksum_mismatch: { status: 460, title: 'Checksum Mismatch' },
  attr_version_mismatch: { status: 412, title: 'Attribute version mismatch' },
  restore_required: { status: 409, title: 'Restore required' },
  restore_not_found: { status: 404, title: 'No restore requested' },
  malformed_request: { status: 400, title: 'Malformed request' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  route_not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  malformed_multipart: { status: 400, title: 'Malformed multipart body' },
  missing_file: { status: 400, title: 'Missing file' },
  multiple_files: { status: 400, title: 'More than one file' },
  field_after_file: { status: 400, title: 'Field after file' },
  invalid_digest: { status: 400, title: 'Invalid digest header' },
  invalid_cursor: { status: 400, title: 'Invalid cursor' },
  invalid_json: { status: 400, title: 'Invalid JSON' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  request_too_large: { status: 413, title: 'Request too large' },
  tus_resumable_required: { status: 412, title: 'Tus-Resumable required' },
  unsupported_tus_extension: { status: 400, title: 'Unsupported tus extension' },
  decompression_bomb: { status: 413, title: 'Decompression bomb' },
  unsupported_content_encoding: { status: 415, title: 'Unsupported content encoding' },
  expectation_failed: { status: 417, title: 'Expectation failed' },
  dependency_unavailable: { status: 503, title: 'Dependency unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
};

export interface Problem {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly details: Readonly<Record<string, unknown>>;
}

const DEPENDENCY_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);
// PostgreSQL SQLSTATE classes 08 (connection exception) and 57P0x (operator intervention, e.g. shutdown).
const DEPENDENCY_SQLSTATE = /^(08|57P0)/u;

/**
 * ioredis's own failures while Redis is away or silent: a command timed out, the retries ran out,
 * the connection is closed, or it refuses to queue while offline.
 */
function isRedisUnavailable(error: unknown): boolean {
  const name = (error as Error | null)?.name ?? '';
  const message = (error as Error | null)?.message ?? '';
  return (
    name === 'MaxRetriesPerRequestError' ||
    name === 'DependencyUnavailable' ||
    /^(Command timed out|Connection is closed\.|Stream isn't writeable)/u.test(message)
  );
}

/** Classifies anything thrown into a problem; unknown errors are internal (a bug), never blamed on input. */
export function toProblem(error: unknown): Problem {
  if (error instanceof DomainError || error instanceof ApplicationError || error instanceof HttpError) {
    return { code: error.code, detail: error.message, details: error.details };
  }
  if (error instanceof InvalidCursor)
    return { code: 'invalid_cursor', detail: error.message, details: { field: 'cursor' } };
  // A disk error that no use case named (a restart, a compaction, a scan): still the disk's failure.
  const disk = diskFailure(error);
  if (disk) return { code: disk.code, detail: disk.message, details: {} };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (DEPENDENCY_ERRNOS.has(code) || DEPENDENCY_SQLSTATE.test(code))) {
    return {
      code: 'dependency_unavailable',
      detail: 'a service ArtStore depends on is not answering; try again',
      details: {},
    };
  }
  const name = (error as Error | null)?.name ?? '';
  const message = (error as Error | null)?.message ?? '';
  if (
    name === 'ConnectionException' ||
    /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Query read timeout)/u.test(
      message,
    ) ||
    isRedisUnavailable(error)
  ) {
    return {
      code: 'dependency_unavailable',
      detail: 'a service ArtStore depends on is not answering; try again',
      details: {},
    };
  }
  return { code: 'internal_error', detail: 'an unexpected error occurred; it has been logged', details: {} };
}

/** RFC 9457 problem details. */
export function problemBody(problem: Problem, requestId: string | undefined): Record<string, unknown> {
  const { status, title } = ERROR_STATUS[problem.code];
  return {
    type: `https://artstore.dev/problems/${problem.code.replaceAll('_', '-')}`,
    title,
    status,
    detail: problem.detail,
    code: problem.code,
    request_id: requestId,
    ...problem.details,
  };
}

export function sendProblem(ctx: Context, problem: Problem): void {
  ctx.status = ERROR_STATUS[problem.code].status;
  ctx.type = 'application/problem+json';
  ctx.body = problemBody(problem, ctx.state.requestId as string | undefined);
}
