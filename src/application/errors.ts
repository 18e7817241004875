/**
 * Errors raised by use cases (application layer). Like DomainError, the code is closed and stable;
 * the HTTP adapter owns the mapping to statuses.
 */
export const APPLICATION_ERROR_CODES = [
  'invalid_request',
  'file_not_found',
  'storage_element_not_found',
  'digest_mismatch',
  'size_mismatch',
  'content_too_large',
  // upload validation (ingester/inspect-content.ts)
  'file_too_large',
  'content_type_not_allowed',
  'range_not_satisfiable',
  'no_writable_storage',
  'storage_unavailable',
  'storage_full',
  // a failed write whose undo could not be made durable (issue 7, I/O-error sweep)
  'write_outcome_unknown',
  'upload_interrupted',
  'forbidden',
  'conflict',
  'file_corrupt',
  // identity and access (issue 3)
  'unauthenticated',
  'invalid_token',
  'insufficient_scope',
  'invalid_client',
  'invalid_grant',
  'invalid_scope',
  'unsupported_grant_type',
  'invalid_credentials',
  'account_locked',
  'weak_password',
  'rate_limited',
  'account_not_found',
  'user_not_found',
  'saga_not_found',
  'replicas_missing',
  'signing_key_unavailable',
  // resumable uploads (tus)
  'upload_not_found',
  'upload_expired',
  'upload_failed',
  'upload_locked',
  'offset_mismatch',
  'checksum_mismatch',
  // metadata updates (issue 5)
  'attr_version_mismatch',
  // archive reads (issue 6)
  'restore_required',
  'restore_not_found',
] as const;
export type ApplicationErrorCode = (typeof APPLICATION_ERROR_CODES)[number];

export class ApplicationError extends Error {
  override readonly name = 'ApplicationError';
  constructor(
    readonly code: ApplicationErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
