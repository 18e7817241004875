import { AUDIT_LOG_UP_SQL } from '../../migrations/Migration20261201000100_audit_log';
import type { Orm } from '../../src/adapters/persistence/database';

/**
 * Creates `audit_log` from its migration's statements unless the template already has it: the
 * migration is written but registered separately, and this keeps working once it is.
 */
export async function ensureAuditLogTable(orm: Orm): Promise<void> {
  const em = orm.em.fork();
  const [row] = await em.execute<{ table: string | null }[]>(
    `select to_regclass('public.audit_log') as "table"`,
  );
  if (row?.table) return;
  for (const sql of AUDIT_LOG_UP_SQL) await em.execute(sql);
}
