import type {
  AuditAction,
  AuditActor,
  AuditEntry,
  AuditOutcome,
  AuditRecord,
} from '../../domain/audit/audit-entry';
import type { Page } from './file-index';

export const AUDIT_QUERY_MAX_LIMIT = 500;

/** Every filter is optional and they combine with AND; `to` is exclusive. */
export interface AuditQuery {
  readonly from?: Date;
  readonly to?: Date;
  readonly actor?: string;
  readonly actorKind?: AuditActor['kind'];
  readonly action?: AuditAction;
  /** Plain prefix of the action, e.g. `token.` or `account.`. */
  readonly actionPrefix?: string;
  readonly outcome?: AuditOutcome;
  readonly target?: string;
  readonly cursor: string | null;
  /** Clamped to 1..AUDIT_QUERY_MAX_LIMIT. */
  readonly limit: number;
}

/**
 * The append-only, hash-chained audit log (§6). Appends from every request and every process form
 * one chain: the adapter serializes them.
 */
export interface AuditLog {
  append(record: AuditRecord): Promise<AuditEntry>;
  /** Newest first; keyset pagination by seq. A cursor this log did not issue is an InvalidCursor. */
  query(filter: AuditQuery): Promise<Page<AuditEntry>>;
  /** Entries with seq above `afterSeq`, oldest first, at most `limit`: what verification walks. */
  scan(afterSeq: number, limit: number): Promise<AuditEntry[]>;
}

export function clampAuditLimit(limit: number): number {
  return Math.min(Math.max(1, Math.trunc(limit) || 1), AUDIT_QUERY_MAX_LIMIT);
}
