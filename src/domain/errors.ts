/**
 * Errors raised by domain rules. The code is stable and closed: the HTTP adapter maps every code
 * to exactly one status in one table, and the compiler checks that table is exhaustive.
 */
export const DOMAIN_ERROR_CODES = [
  'invalid_retention',
  'invalid_ttl',
  'invalid_file_name',
  'file_name_too_long',
  // document metadata limits (metadata-limits.ts)
  'description_too_long',
  'too_many_tags',
  'tag_too_long',
  'invalid_tag',
  'too_many_metadata_entries',
  'metadata_key_invalid',
  'metadata_value_too_long',
  'metadata_too_large',
  'invalid_collection',
  'mode_forbids_operation',
  'illegal_mode_transition',
  'confirmation_required',
  'retention_active',
  'legal_hold_active',
  'insufficient_capacity',
  'legal_hold_temporary',
  'retain_until_shortened',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}
