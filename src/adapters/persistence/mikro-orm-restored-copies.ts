import type { RestoredCopies, RestoredCopy } from '../../application/ports/restored-copies';
import type { Orm } from './database';

interface Row {
  file_id: string;
  se_id: string;
  key: string;
  expires_at: Date | string;
  restored_at: Date | string;
}

const COLUMNS = 'file_id, se_id, key, expires_at, restored_at';

function copyOf(row: Row): RestoredCopy {
  return {
    fileId: row.file_id,
    seId: row.se_id,
    key: row.key,
    expiresAt: new Date(row.expires_at),
    restoredAt: new Date(row.restored_at),
  };
}

/** Restored copies in PostgreSQL (table `restored_copies`), shared by every query and admin process. */
export class MikroOrmRestoredCopies implements RestoredCopies {
  constructor(private readonly orm: Orm) {}

  async put(copy: RestoredCopy): Promise<void> {
    await this.orm.em.getConnection().execute(
      `insert into restored_copies (${COLUMNS}) values (?, ?, ?, ?, ?)
       on conflict (file_id, se_id) do update
         set key = excluded.key, expires_at = excluded.expires_at, restored_at = excluded.restored_at`,
      [copy.fileId, copy.seId, copy.key, copy.expiresAt, copy.restoredAt],
    );
  }

  async list(fileId: string): Promise<RestoredCopy[]> {
    const rows = await this.orm.em
      .getConnection()
      .execute<Row[]>(
        `select ${COLUMNS} from restored_copies where file_id = ? order by expires_at desc, se_id`,
        [fileId],
      );
    return rows.map(copyOf);
  }

  async expired(now: Date, limit: number): Promise<RestoredCopy[]> {
    const rows = await this.orm.em
      .getConnection()
      .execute<Row[]>(
        `select ${COLUMNS} from restored_copies where expires_at <= ? order by expires_at, file_id, se_id limit ?`,
        [now, limit],
      );
    return rows.map(copyOf);
  }

  async remove(fileId: string, seId: string): Promise<void> {
    await this.orm.em
      .getConnection()
      .execute('delete from restored_copies where file_id = ? and se_id = ?', [fileId, seId]);
  }
}
