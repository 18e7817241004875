import { Migration } from '@mikro-orm/migrations';

/** Resumable (tus) uploads: state shared by every ingester replica; the bytes sit in the staging area. */
export class Migration20261202000100_uploads extends Migration {
  override name = 'Migration20261202000100_uploads';

  override up(): void {
    this.addSql(
      `create table "uploads" ("id" varchar(64) not null, "owner" text not null, "principal" jsonb not null, "length" bigint null, "offset" bigint not null, "metadata" jsonb not null, "staged_key" text not null, "file_id" uuid null, "status" varchar(16) not null, "error" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "expires_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql('create index "uploads_expires_at_index" on "uploads" ("expires_at");');
    this.addSql('create index "uploads_status_updated_at_index" on "uploads" ("status", "updated_at");');
  }

  override down(): void {
    this.addSql('drop table if exists "uploads";');
  }
}
