import type { Outcome } from './fuzz-client';

/** What one answer broke, or null when it keeps every rule of the campaign. */
export type Violation = {
  readonly rule: '5xx' | 'hang' | 'reset' | 'not_problem' | 'no_field';
  readonly detail: string;
} | null;

/**
 * Codes that answer something other than the input's shape: who is asking, whether the thing
 * exists, the state it is in, how often. They must be problem details, but there is no field
 * to name (a malformed id is deliberately answered exactly like an unknown one).
 */
const NOT_ABOUT_A_FIELD = new Set([
  'unauthenticated',
  'invalid_token',
  'forbidden',
  'insufficient_scope',
  'rate_limited',
  'route_not_found',
  'method_not_allowed',
  'file_not_found',
  'storage_element_not_found',
  'account_not_found',
  'user_not_found',
  'saga_not_found',
  'upload_not_found',
  'restore_not_found',
  'upload_expired',
  'upload_failed',
  'upload_locked',
  'account_locked',
  'invalid_credentials',
  'invalid_grant',
  'legal_hold_active',
  'legal_hold_temporary',
  'retention_active',
  'mode_forbids_operation',
  'illegal_mode_transition',
  'confirmation_required',
  'restore_required',
  'replicas_missing',
  'conflict',
  'attr_version_mismatch',
]);

export interface Verdict {
  readonly violation: Violation;
  /** The problem's `code`, or `oauth:<error>` for the token endpoint, for the per-code tally. */
  readonly code: string | null;
}

function header(outcome: Extract<Outcome, { kind: 'response' }>, name: string): string {
  const value = outcome.headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/**
 * The campaign's rules for one answer: no 5xx, no hang, no reset; every 4xx is RFC 9457 problem
 * details with type/title/status/detail/code, whose `field` names what to fix unless the code is
 * about something else than input (above). The token endpoint answers RFC 6749 §5.2 instead.
 */
export function judge(outcome: Outcome, oauth: boolean, method: string): Verdict {
  if (outcome.kind !== 'response')
    return { violation: { rule: outcome.kind, detail: outcome.detail }, code: null };
  const { status } = outcome;
  const text = outcome.body.toString('utf8');
  if (status === 0) return { violation: null, code: 'not_sent' };
  if (status >= 500)
    return { violation: { rule: '5xx', detail: `${status}: ${text.slice(0, 500)}` }, code: null };
  if (status < 400) return { violation: null, code: null };
  // A HEAD answer has headers only: its status and type are all there is to check.
  if (method === 'HEAD') {
    const type = header(outcome, 'content-type');
    return type.startsWith('application/problem+json') || status === 404
      ? { violation: null, code: null }
      : { violation: { rule: 'not_problem', detail: `HEAD ${status} with type '${type}'` }, code: null };
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {
      violation: { rule: 'not_problem', detail: `${status} body is not JSON: ${text.slice(0, 300)}` },
      code: null,
    };
  }
  if (oauth) {
    const ok = typeof body.error === 'string' && typeof body.error_description === 'string';
    return ok
      ? { violation: null, code: `oauth:${String(body.error)}` }
      : {
          violation: { rule: 'not_problem', detail: `token endpoint ${status}: ${text.slice(0, 300)}` },
          code: null,
        };
  }
  const type = header(outcome, 'content-type');
  const shaped =
    type.startsWith('application/problem+json') &&
    typeof body.type === 'string' &&
    typeof body.title === 'string' &&
    body.status === status &&
    typeof body.detail === 'string' &&
    body.detail !== '' &&
    typeof body.code === 'string';
  if (!shaped)
    return {
      violation: { rule: 'not_problem', detail: `${status} '${type}': ${text.slice(0, 300)}` },
      code: null,
    };
  const code = body.code as string;
  if (NOT_ABOUT_A_FIELD.has(code)) return { violation: null, code };
  if (typeof body.field !== 'string' || body.field === '')
    return { violation: { rule: 'no_field', detail: `${status} ${code}: ${String(body.detail)}` }, code };
  return { violation: null, code };
}
