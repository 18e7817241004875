import { IsolationLevel } from '@mikro-orm/postgresql';
import { sealEntry } from '../../application/audit/audit-chain';
import { clampAuditLimit, type AuditLog, type AuditQuery } from '../../application/ports/audit-log';
import type { Clock } from '../../application/ports/clock';
import type { Page } from '../../application/ports/file-index';
import type { AuditDetails, AuditEntry, AuditRecord } from '../../domain/audit/audit-entry';
import { decodeCursor, encodeCursor } from '../memory/cursor';
import type { Orm } from './database';

/** The advisory lock every process takes to append: one key for the one chain ('AUDI'). */
const APPEND_LOCK_KEY = 0x41554449;

const COLUMNS =
  'seq, at, actor_kind, actor_subject, action, target, outcome, details, source, prev_hash, hash';

interface AuditRow {
  seq: string | number;
  at: Date | string;
  actor_kind: string;
  actor_subject: string;
  action: string;
  target: string | null;
  outcome: string;
  details: unknown;
  source: string | null;
  prev_hash: string;
  hash: string;
}

/** The audit log in PostgreSQL (table `audit_log`), shared by every process of a deployment. */
export class MikroOrmAuditLog implements AuditLog {
  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
  ) {}

  append(record: AuditRecord): Promise<AuditEntry> {
    // The lock serializes appends across connections and processes until commit. READ COMMITTED
    // matters: the select after the lock takes a fresh snapshot and so sees the entry the previous
    // holder committed; a snapshot taken before the wait (REPEATABLE READ) would fork the chain.
    return this.orm.em.fork().transactional(
      async (em) => {
        await em.execute('select pg_advisory_xact_lock(?)', [APPEND_LOCK_KEY], 'run');
        const [last] = await em.execute<{ seq: string; hash: string }[]>(
          'select seq, hash from audit_log order by seq desc limit 1',
        );
        const entry = sealEntry(
          last ? { seq: Number(last.seq), hash: last.hash } : null,
          record,
          this.clock.now(),
        );
        await em.execute(
          `insert into audit_log (${COLUMNS}) values (?, ?::timestamptz, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?)`,
          [
            entry.seq,
            entry.at.toISOString(),
            entry.actor.kind,
            entry.actor.subject,
            entry.action,
            entry.target,
            entry.outcome,
            JSON.stringify(entry.details),
            entry.source,
            entry.prevHash,
            entry.hash,
          ],
          'run',
        );
        return entry;
      },
      { isolationLevel: IsolationLevel.READ_COMMITTED },
    );
  }

  async query(filter: AuditQuery): Promise<Page<AuditEntry>> {
    const before = filter.cursor === null ? null : Number(decodeCursor(filter.cursor, ['millis'])[0]);
    const limit = clampAuditLimit(filter.limit);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (condition: string, value: unknown): void => {
      where.push(condition);
      params.push(value);
    };
    if (before !== null) add('seq < ?', before);
    if (filter.from) add('at >= ?::timestamptz', filter.from.toISOString());
    if (filter.to) add('at < ?::timestamptz', filter.to.toISOString());
    if (filter.actor !== undefined) add('actor_subject = ?', filter.actor);
    if (filter.actorKind !== undefined) add('actor_kind = ?', filter.actorKind);
    if (filter.action !== undefined) add('action = ?', filter.action);
    if (filter.actionPrefix !== undefined) add('starts_with(action, ?)', filter.actionPrefix);
    if (filter.outcome !== undefined) add('outcome = ?', filter.outcome);
    if (filter.target !== undefined) add('target = ?', filter.target);
    const rows = await this.orm.em.fork().execute<AuditRow[]>(
      `select ${COLUMNS} from audit_log ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
         order by seq desc limit ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map(toEntry);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.seq]) : null };
  }

  async scan(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.orm.em
      .fork()
      .execute<AuditRow[]>(`select ${COLUMNS} from audit_log where seq > ? order by seq limit ?`, [
        afterSeq,
        limit,
      ]);
    return rows.map(toEntry);
  }
}

/** Rows are read back as stored, unchecked: whether they still hash correctly is verify's question. */
function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: new Date(row.at),
    actor: { kind: row.actor_kind as AuditEntry['actor']['kind'], subject: row.actor_subject },
    action: row.action as AuditEntry['action'],
    target: row.target,
    outcome: row.outcome as AuditEntry['outcome'],
    details: (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as AuditDetails,
    source: row.source,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
