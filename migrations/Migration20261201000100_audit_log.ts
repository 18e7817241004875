import { Migration } from '@mikro-orm/migrations';

/** The statements of `up`, exported so contract tests can create the table before this is registered. */
export const AUDIT_LOG_UP_SQL: readonly string[] = [
  `create table "audit_log" ("seq" bigint not null, "at" timestamptz not null, "actor_kind" varchar(16) not null, "actor_subject" text not null, "action" varchar(64) not null, "target" text null, "outcome" varchar(8) not null, "details" jsonb not null, "source" text null, "prev_hash" varchar(64) not null, "hash" varchar(64) not null, primary key ("seq"));`,
  `create index "audit_log_at_index" on "audit_log" ("at");`,
  `create index "audit_log_actor_subject_index" on "audit_log" ("actor_subject");`,
  `create index "audit_log_action_index" on "audit_log" ("action");`,
  `create index "audit_log_target_index" on "audit_log" ("target");`,
];

/** The append-only, hash-chained audit log (issue 3). */
export class Migration20261201000100_audit_log extends Migration {
  override name = 'Migration20261201000100_audit_log';

  override up(): void {
    for (const sql of AUDIT_LOG_UP_SQL) this.addSql(sql);
  }

  override down(): void {
    this.addSql('drop table if exists "audit_log";');
  }
}
