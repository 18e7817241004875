import { Migration } from '@mikro-orm/migrations';

/** Restored copies of archived files: temporary copies on `edit` SEs with their expiry (issue 6). */
export class Migration20261202050000_restored_copies extends Migration {
  override name = 'Migration20261202050000_restored_copies';

  override up(): void {
    this.addSql(
      `create table "restored_copies" ("file_id" uuid not null, "se_id" varchar(63) not null, "key" text not null, "expires_at" timestamptz not null, "restored_at" timestamptz not null, primary key ("file_id", "se_id"));`,
    );
    this.addSql(`create index "restored_copies_expires_at_index" on "restored_copies" ("expires_at");`);
  }

  override down(): void {
    this.addSql('drop table if exists "restored_copies";');
  }
}
