import { MikroORM } from '@mikro-orm/postgresql';
import { MemoryAuditLog } from '../../src/adapters/memory/memory-audit-log';
import { AUDIT_ENTITIES } from '../../src/adapters/persistence/audit-entities';
import { openDatabase, type Orm } from '../../src/adapters/persistence/database';
import { MikroOrmAuditLog } from '../../src/adapters/persistence/mikro-orm-audit-log';
import { verifyAuditChain } from '../../src/application/audit/verify-audit-chain';
import type { AuditEntry } from '../../src/domain/audit/audit-entry';
import { ensureAuditLogTable } from '../support/audit-log-table';
import { FixedClock } from '../support/builders';
import { openTestOrm } from '../support/database';
import { describeAuditLogContract } from './audit-log.contract';

describe('on PostgreSQL', () => {
  let opened: Awaited<ReturnType<typeof openTestOrm>> | null = null;
  const orm = (): Orm => {
    if (!opened) throw new Error('the test database is not open');
    return opened.orm;
  };
  beforeAll(async () => {
    opened = await openTestOrm();
    await ensureAuditLogTable(opened.orm);
  });
  afterAll(async () => {
    await opened?.done();
    opened = null;
  });
  const sql = async (query: string, params: unknown[] = []): Promise<void> => {
    await orm().em.fork().execute(query, params, 'run');
  };

  describeAuditLogContract('MikroOrmAuditLog', async () => {
    const clock = new FixedClock();
    return {
      log: new MikroOrmAuditLog(orm(), clock),
      clock,
      tamper: {
        overwrite: (e: AuditEntry) =>
          sql(
            `update audit_log set at = ?::timestamptz, actor_kind = ?, actor_subject = ?, action = ?, target = ?,
               outcome = ?, details = ?::jsonb, source = ?, prev_hash = ?, hash = ? where seq = ?`,
            [
              e.at.toISOString(),
              e.actor.kind,
              e.actor.subject,
              e.action,
              e.target,
              e.outcome,
              JSON.stringify(e.details),
              e.source,
              e.prevHash,
              e.hash,
              e.seq,
            ],
          ),
        remove: (seq) => sql('delete from audit_log where seq = ?', [seq]),
        renumber: (from, to) => sql('update audit_log set seq = ? where seq = ?', [to, from]),
      },
      cleanup: () => sql('truncate audit_log'),
    };
  });

  it('keeps one chain when two processes (two ORMs, two pools) append 50 entries at once', async () => {
    const other = await openDatabase({ url: opened!.db.url, poolMax: 4 });
    try {
      const clock = new FixedClock();
      const logs = [new MikroOrmAuditLog(orm(), clock), new MikroOrmAuditLog(other, clock)];
      const entries = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          logs[i % 2]!.append({
            actor: { kind: 'system', subject: `process-${i % 2}` },
            action: 'file.deleted',
            outcome: 'success',
            details: { i },
          }),
        ),
      );
      expect(new Set(entries.map((e) => e.seq)).size).toBe(50);
      await expect(verifyAuditChain(logs[0]!)).resolves.toMatchObject({ ok: true, count: 50 });
    } finally {
      await other.close();
      await sql('truncate audit_log');
    }
  });

  it('the audit_log entity agrees with the migration: no schema difference on its table', async () => {
    const checker = await MikroORM.init({
      clientUrl: opened!.db.url,
      entities: AUDIT_ENTITIES,
      pool: { min: 0, max: 1 },
      allowGlobalContext: false,
    });
    try {
      const diff = (await checker.schema.getUpdateSchemaSQL({ dropTables: false }))
        .split('\n')
        .filter((line) => line.includes('audit_log'));
      expect(diff).toEqual([]);
    } finally {
      await checker.close();
    }
  });
});

describeAuditLogContract('MemoryAuditLog', async () => {
  const clock = new FixedClock();
  const entries: AuditEntry[] = [];
  const sort = (): void => void entries.sort((a, b) => a.seq - b.seq);
  const index = (seq: number): number => entries.findIndex((e) => e.seq === seq);
  return {
    log: new MemoryAuditLog(clock, entries),
    clock,
    tamper: {
      overwrite: async (entry) => void entries.splice(index(entry.seq), 1, entry),
      remove: async (seq) => void entries.splice(index(seq), 1),
      renumber: async (from, to) => {
        entries.splice(index(from), 1, { ...entries[index(from)]!, seq: to });
        sort();
      },
    },
    cleanup: async () => undefined,
  };
});
