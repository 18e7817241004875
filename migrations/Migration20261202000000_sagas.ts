import { Migration } from '@mikro-orm/migrations';

/** Sagas (§3.5): upload, finalize, delete and metadata updates, saved after every step (issue 5). */
export class Migration20261202000000_sagas extends Migration {
  override name = 'Migration20261202000000_sagas';

  override up(): void {
    this.addSql(
      `create table "sagas" ("id" uuid primary key, "kind" varchar(16) not null, "status" varchar(16) not null, "step" int not null, "payload" jsonb not null, "file_id" uuid null, "error" text null, "owner" varchar(64) not null, "lease_until" timestamptz not null, "attempts" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );
    this.addSql('create index "sagas_created_at_id_index" on "sagas" ("created_at", "id");');
    this.addSql('create index "sagas_file_id_index" on "sagas" ("file_id");');
    this.addSql('create index "sagas_status_lease_until_index" on "sagas" ("status", "lease_until");');
  }

  override down(): void {
    this.addSql('drop table if exists "sagas";');
  }
}
