import type { FixityCheck, FixityLog, FixityTrigger } from '../../application/ports/fixity-log';
import type { Orm } from './database';

interface FixityRow {
  se_id: string;
  file_id: string;
  checked_at: Date | string;
  ok: boolean;
  detail: string | null;
  trigger: string;
}

/** The fixity history in PostgreSQL (table `fixity_checks`), written by every storage process. */
export class MikroOrmFixityLog implements FixityLog {
  constructor(private readonly orm: Orm) {}

  async record(check: FixityCheck): Promise<void> {
    await this.orm.em
      .getConnection()
      .execute(
        'insert into fixity_checks (se_id, file_id, checked_at, ok, detail, trigger) values (?, ?, ?, ?, ?, ?)',
        [check.seId, check.fileId, check.checkedAt, check.ok, check.detail, check.trigger],
      );
  }

  async history(fileId: string, options: { limit: number }): Promise<FixityCheck[]> {
    const rows = await this.orm.em
      .getConnection()
      .execute<FixityRow[]>(
        'select se_id, file_id, checked_at, ok, detail, trigger from fixity_checks where file_id = ? order by checked_at desc, id desc limit ?',
        [fileId, options.limit],
      );
    return rows.map((row) => ({
      seId: row.se_id,
      fileId: row.file_id,
      checkedAt: new Date(row.checked_at),
      ok: row.ok,
      detail: row.detail,
      trigger: row.trigger as FixityTrigger,
    }));
  }

  async lastCheckedAt(seId: string, triggers: readonly FixityTrigger[]): Promise<Date | null> {
    const [row] = await this.orm.em
      .getConnection()
      .execute<{ last: Date | string | null }[]>(
        'select max(checked_at) as last from fixity_checks where se_id = ? and trigger = any(?::text[])',
        [seId, `{${triggers.join(',')}}`],
      );
    return row?.last ? new Date(row.last) : null;
  }
}
