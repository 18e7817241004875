import type {
  PrincipalSnapshot,
  TransitionGuard,
  UploadChange,
  UploadProblem,
  UploadRecord,
  UploadStatus,
  UploadStore,
} from '../../application/ports/upload-store';
import type { Orm } from './database';

interface Row {
  id: string;
  owner: string;
  principal: PrincipalSnapshot;
  length: string | number | null;
  offset: string | number;
  metadata: Record<string, string>;
  staged_key: string;
  file_id: string | null;
  status: string;
  error: UploadProblem | null;
  created_at: Date | string;
  updated_at: Date | string;
  expires_at: Date | string;
}

const COLUMNS =
  'id, owner, principal, length, "offset", metadata, staged_key, file_id, status, error, created_at, updated_at, expires_at';

function toRecord(row: Row): UploadRecord {
  return {
    id: row.id,
    owner: row.owner,
    principal: row.principal,
    length: row.length === null ? null : Number(row.length),
    offset: Number(row.offset),
    metadata: row.metadata,
    stagedKey: row.staged_key,
    fileId: row.file_id,
    status: row.status as UploadStatus,
    error: row.error,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    expiresAt: new Date(row.expires_at),
  };
}

/** Upload state in PostgreSQL (table `uploads`), shared by every ingester replica. */
export class MikroOrmUploadStore implements UploadStore {
  constructor(private readonly orm: Orm) {}

  private async execute<T>(sql: string, params: unknown[]): Promise<T> {
    return (await this.orm.em.getConnection().execute(sql, params)) as T;
  }

  async create(r: UploadRecord): Promise<void> {
    await this.execute(`insert into uploads (${COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      r.id,
      r.owner,
      JSON.stringify(r.principal),
      r.length,
      r.offset,
      JSON.stringify(r.metadata),
      r.stagedKey,
      r.fileId,
      r.status,
      r.error === null ? null : JSON.stringify(r.error),
      r.createdAt,
      r.updatedAt,
      r.expiresAt,
    ]);
  }

  async get(id: string): Promise<UploadRecord | null> {
    const [row] = await this.execute<Row[]>(`select ${COLUMNS} from uploads where id = ?`, [id]);
    return row ? toRecord(row) : null;
  }

  async advance(id: string, from: number, to: number, now: Date): Promise<boolean> {
    const rows = await this.execute<{ id: string }[]>(
      `update uploads set "offset" = ?, updated_at = ? where id = ? and "offset" = ? and status = 'uploading' returning id`,
      [to, now, id, from],
    );
    return rows.length === 1;
  }

  async transition(
    id: string,
    from: readonly UploadStatus[],
    change: UploadChange,
    { staleBefore, fileId }: TransitionGuard = {},
  ): Promise<UploadRecord | null> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown): void => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (change.status !== undefined) set('status', change.status);
    if (change.fileId !== undefined) set('file_id', change.fileId);
    if (change.error !== undefined) set('error', change.error === null ? null : JSON.stringify(change.error));
    if (change.updatedAt !== undefined) set('updated_at', change.updatedAt);
    if (sets.length === 0) return this.get(id);
    let where = 'id = ? and status = any(?::text[])';
    params.push(id, `{${from.join(',')}}`);
    if (staleBefore) {
      where += ' and updated_at < ?';
      params.push(staleBefore);
    }
    if (fileId !== undefined) {
      where += ' and file_id = ?';
      params.push(fileId);
    }
    const [row] = await this.execute<Row[]>(
      `update uploads set ${sets.join(', ')} where ${where} returning ${COLUMNS}`,
      params,
    );
    return row ? toRecord(row) : null;
  }

  async remove(id: string): Promise<boolean> {
    const rows = await this.execute<{ id: string }[]>(
      "delete from uploads where id = ? and status <> 'completing' returning id",
      [id],
    );
    return rows.length === 1;
  }

  async expired(now: Date, limit: number): Promise<UploadRecord[]> {
    const rows = await this.execute<Row[]>(
      `select ${COLUMNS} from uploads where expires_at <= ? order by expires_at limit ?`,
      [now, limit],
    );
    return rows.map(toRecord);
  }

  async stalled(staleBefore: Date, limit: number): Promise<UploadRecord[]> {
    const rows = await this.execute<Row[]>(
      `select ${COLUMNS} from uploads
        where (status = 'completing' or (status = 'uploading' and "offset" = length)) and updated_at < ?
        order by updated_at limit ?`,
      [staleBefore, limit],
    );
    return rows.map(toRecord);
  }
}
