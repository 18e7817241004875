import type { Page } from '../../application/ports/file-index';
import type {
  SagaFilter,
  SagaKind,
  SagaRecord,
  SagaStatus,
  SagaStore,
  SagaUpdate,
} from '../../application/ports/saga-store';
import { decodeCursor, encodeCursor } from '../memory/cursor';
import { failpoint } from '../system/failpoints';
import type { Orm } from './database';

interface Row {
  id: string;
  kind: string;
  status: string;
  step: number;
  payload: Record<string, unknown>;
  file_id: string | null;
  error: string | null;
  owner: string;
  lease_until: Date | string;
  attempts: number;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  'id, kind, status, step, payload, file_id, error, owner, lease_until, attempts, created_at, updated_at';

function toRecord(row: Row): SagaRecord {
  return {
    id: row.id,
    kind: row.kind as SagaKind,
    status: row.status as SagaStatus,
    step: row.step,
    payload: row.payload,
    fileId: row.file_id,
    error: row.error,
    owner: row.owner,
    leaseUntil: new Date(row.lease_until),
    attempts: row.attempts,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** Sagas in PostgreSQL (table `sagas`); a take-over is one UPDATE … SKIP LOCKED, so one taker wins. */
export class MikroOrmSagaStore implements SagaStore {
  constructor(private readonly orm: Orm) {}

  private get db() {
    return this.orm.em.getConnection();
  }

  /** One statement: the partial unique index on unfinished sagas' file ids refuses a second one. */
  async create(saga: SagaRecord): Promise<boolean> {
    failpoint('db.saga.before_commit');
    const rows = await this.db.execute<{ id: string }[]>(
      `insert into sagas (${COLUMNS}) values (?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?)
       on conflict (file_id) where status in ('running', 'compensating') do nothing
       returning id`,
      [
        saga.id,
        saga.kind,
        saga.status,
        saga.step,
        JSON.stringify(saga.payload),
        saga.fileId,
        saga.error,
        saga.owner,
        saga.leaseUntil,
        saga.attempts,
        saga.createdAt,
        saga.updatedAt,
      ],
    );
    failpoint('db.saga.after_commit');
    return rows.length > 0;
  }

  async save(id: string, owner: string, update: SagaUpdate): Promise<boolean> {
    failpoint('db.saga.before_commit');
    const rows = await this.db.execute<{ id: string }[]>(
      `update sagas set status = ?, step = ?, payload = ?::jsonb, error = ?, lease_until = ?, updated_at = ?
        where id = ? and owner = ? returning id`,
      [
        update.status,
        update.step,
        JSON.stringify(update.payload),
        update.error,
        update.leaseUntil,
        update.updatedAt,
        id,
        owner,
      ],
    );
    failpoint('db.saga.after_commit');
    return rows.length > 0;
  }

  async renew(ids: readonly string[], owner: string, leaseUntil: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(
      `update sagas set lease_until = ?
        where id = any(?::uuid[]) and owner = ? and status in ('running', 'compensating')`,
      [leaseUntil, `{${ids.join(',')}}`, owner],
    );
  }

  async get(id: string): Promise<SagaRecord | null> {
    const [row] = await this.db.execute<Row[]>(`select ${COLUMNS} from sagas where id = ?`, [id]);
    return row ? toRecord(row) : null;
  }

  async list(filter: SagaFilter): Promise<Page<SagaRecord>> {
    let sql = `select ${COLUMNS} from sagas where true`;
    const params: unknown[] = [];
    if (filter.status) {
      sql += ' and status = ?';
      params.push(filter.status);
    }
    if (filter.kind) {
      sql += ' and kind = ?';
      params.push(filter.kind);
    }
    if (filter.fileId) {
      sql += ' and file_id = ?';
      params.push(filter.fileId);
    }
    if (filter.cursor) {
      const [at, id] = decodeCursor(filter.cursor, ['millis', 'uuid']);
      sql += ' and (created_at, id) < (?, ?)';
      params.push(new Date(Number(at)), String(id));
    }
    sql += ' order by created_at desc, id desc limit ?';
    params.push(filter.limit + 1);
    const rows = await this.db.execute<Row[]>(sql, params);
    const items = rows.slice(0, filter.limit).map(toRecord);
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        rows.length > filter.limit && last ? encodeCursor([last.createdAt.getTime(), last.id]) : null,
    };
  }

  async claimExpired(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<SagaRecord[]> {
    const rows = await this.db.execute<Row[]>(
      `update sagas set owner = ?, lease_until = ?, attempts = attempts + 1
        where id in (select id from sagas
                      where status in ('running', 'compensating') and lease_until <= ?
                      order by created_at limit ? for update skip locked)
        returning ${COLUMNS}`,
      [owner, leaseUntil, now, limit],
    );
    return rows.map(toRecord).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
