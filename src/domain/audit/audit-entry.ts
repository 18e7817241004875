import type { Principal } from '../access/principal';

/** Every security-relevant action (§6). Closed: a new kind of event is a new member here. */
export const AUDIT_ACTIONS = [
  'token.issued',
  'token.refused',
  'session.login',
  'session.login_failed',
  'session.logout',
  'account.created',
  'account.updated',
  'account.suspended',
  'account.deleted',
  'account.secret_rotated',
  'grant.changed',
  'key.rotated',
  'user.created',
  'user.changed',
  'user.locked',
  'storage_element.mode_changed',
  'storage_element.reconciled',
  'storage_element.scrub_started',
  'file.quarantined',
  'file.deleted',
  'file.finalized',
  'retention.changed',
  'file.legal_hold_set',
  'file.legal_hold_cleared',
  'file.retention_extended',
  'file.restore_requested',
  'file.restored',
  'file.restore_expired',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export type AuditOutcome = 'success' | 'failure';

export interface AuditActor {
  readonly kind: Principal['kind'];
  readonly subject: string;
}

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type AuditDetails = { readonly [key: string]: JsonValue };

/** What a caller asks to record; the log adds seq, time and the chain. */
export interface AuditRecord {
  readonly actor: AuditActor;
  readonly action: AuditAction;
  readonly target?: string | null;
  readonly outcome: AuditOutcome;
  readonly details?: AuditDetails;
  readonly source?: string | null;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly actor: AuditActor;
  readonly action: AuditAction;
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly details: AuditDetails;
  readonly source: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

export type UnsealedAuditEntry = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** The `prevHash` of entry 1: the chain has to start somewhere fixed. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);
export const AUDIT_STRING_MAX = 256;
export const AUDIT_DETAILS_MAX_BYTES = 4096;

/**
 * JSON with object keys sorted at every level: the same value always gives the same text, whatever
 * order its keys were built in or came back from jsonb in. Undefined members are dropped, as
 * JSON.stringify and therefore storage drop them.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value))
    return `[${value.map((item: JsonValue) => canonicalJson(item ?? null)).join(',')}]`;
  const object = value as { readonly [key: string]: JsonValue | undefined };
  const members = Object.keys(object)
    .sort()
    .flatMap((key) => {
      const member = object[key];
      return member === undefined ? [] : [`${JSON.stringify(key)}:${canonicalJson(member)}`];
    });
  return `{${members.join(',')}}`;
}

/** The bytes an entry's hash covers: every field by position, then the previous entry's hash. */
export function chainInput(prevHash: string, entry: UnsealedAuditEntry): string {
  return JSON.stringify([
    1, // format version: a future change of this layout must not silently reinterpret old entries
    String(entry.seq),
    entry.at.toISOString(),
    entry.actor.kind,
    entry.actor.subject,
    entry.action,
    entry.target,
    entry.outcome,
    canonicalJson(entry.details),
    entry.source,
    prevHash,
  ]);
}

/**
 * Makes a record storable as it is hashed. Hostile input reaches the log (failed logins carry
 * whatever name was sent), so strings are bounded and lose NUL and lone surrogates, which
 * PostgreSQL text and jsonb reject; oversized details become a marker instead of losing the entry.
 */
export function normalizeRecord(record: AuditRecord): Omit<UnsealedAuditEntry, 'seq' | 'at'> {
  const details = JSON.parse(canonicalJson(cleanJson(record.details ?? {}))) as AuditDetails;
  const bytes = new TextEncoder().encode(canonicalJson(details)).length;
  return {
    actor: { kind: record.actor.kind, subject: cleanString(record.actor.subject, AUDIT_STRING_MAX) },
    action: record.action,
    target: record.target == null ? null : cleanString(record.target, AUDIT_STRING_MAX),
    outcome: record.outcome,
    details: bytes > AUDIT_DETAILS_MAX_BYTES ? { truncated: true, bytes } : details,
    source: record.source == null ? null : cleanString(record.source, 64),
  };
}

function cleanString(value: string, max = Number.POSITIVE_INFINITY): string {
  const clean = value.replace(/\u0000/gu, '\uFFFD').toWellFormed();
  return clean.length > max ? clean.slice(0, max).toWellFormed() : clean;
}

function cleanJson(value: JsonValue): JsonValue {
  if (typeof value === 'string') return cleanString(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: JsonValue) => cleanJson(item));
  return Object.fromEntries(
    Object.entries(value as AuditDetails).map(([key, member]) => [cleanString(key), cleanJson(member)]),
  );
}
