import { Migration } from '@mikro-orm/migrations';

/** OAuth service accounts (issue 3). */
export class Migration20261201000300_service_accounts extends Migration {
  override name = 'Migration20261201000300_service_accounts';

  override up(): void {
    this.addSql(
      `create table "service_accounts" ("id" varchar(128) not null, "name" text not null, "scopes" jsonb not null, "collections" jsonb not null, "status" varchar(16) not null, "secret_hash" text not null, "secret_expires_at" timestamptz not null, "rate_limit_per_minute" int null, "internal" boolean not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "last_used_at" timestamptz null, primary key ("id"));`,
    );
  }

  override down(): void {
    this.addSql('drop table if exists "service_accounts";');
  }
}
