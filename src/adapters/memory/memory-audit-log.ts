import { sealEntry } from '../../application/audit/audit-chain';
import { clampAuditLimit, type AuditLog, type AuditQuery } from '../../application/ports/audit-log';
import type { Clock } from '../../application/ports/clock';
import type { Page } from '../../application/ports/file-index';
import type { AuditEntry, AuditRecord } from '../../domain/audit/audit-entry';
import { decodeCursor, encodeCursor } from './cursor';

/**
 * The audit log in process memory. `entries` is the storage, kept in seq order; tests pass their
 * own array to play the attacker who edits it behind the log's back.
 */
export class MemoryAuditLog implements AuditLog {
  constructor(
    private readonly clock: Clock,
    private readonly entries: AuditEntry[] = [],
  ) {}

  async append(record: AuditRecord): Promise<AuditEntry> {
    // No await between reading the last entry and pushing the next: appends cannot interleave.
    const entry = sealEntry(this.entries.at(-1) ?? null, record, this.clock.now());
    this.entries.push(entry);
    return entry;
  }

  async query(filter: AuditQuery): Promise<Page<AuditEntry>> {
    const before = filter.cursor === null ? null : Number(decodeCursor(filter.cursor, ['millis'])[0]);
    const limit = clampAuditLimit(filter.limit);
    const matching = this.entries
      .toReversed()
      .filter((entry) => (before === null || entry.seq < before) && matches(entry, filter));
    const items = matching.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: matching.length > limit && last ? encodeCursor([last.seq]) : null };
  }

  async scan(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.entries.filter((entry) => entry.seq > afterSeq).slice(0, limit);
  }
}

function matches(entry: AuditEntry, filter: AuditQuery): boolean {
  return (
    (filter.from === undefined || entry.at.getTime() >= filter.from.getTime()) &&
    (filter.to === undefined || entry.at.getTime() < filter.to.getTime()) &&
    (filter.actor === undefined || entry.actor.subject === filter.actor) &&
    (filter.actorKind === undefined || entry.actor.kind === filter.actorKind) &&
    (filter.action === undefined || entry.action === filter.action) &&
    (filter.actionPrefix === undefined || entry.action.startsWith(filter.actionPrefix)) &&
    (filter.outcome === undefined || entry.outcome === filter.outcome) &&
    (filter.target === undefined || entry.target === filter.target)
  );
}
