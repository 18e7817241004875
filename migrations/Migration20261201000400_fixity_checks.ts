import { Migration } from '@mikro-orm/migrations';

/** Fixity history: every scrub, verified read and gate check of a stored copy (issue 4). */
export class Migration20261201000400_fixity_checks extends Migration {
  override name = 'Migration20261201000400_fixity_checks';

  override up(): void {
    this.addSql(
      `create table "fixity_checks" ("id" bigserial primary key, "se_id" varchar(63) not null, "file_id" uuid not null, "checked_at" timestamptz not null, "ok" boolean not null, "detail" text null, "trigger" varchar(16) not null);`,
    );
    this.addSql(
      'create index "fixity_checks_file_id_checked_at_id_index" on "fixity_checks" ("file_id", "checked_at", "id");',
    );
    this.addSql(
      'create index "fixity_checks_se_id_checked_at_index" on "fixity_checks" ("se_id", "checked_at");',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "fixity_checks";');
  }
}
