import { Migration } from '@mikro-orm/migrations';

/** The OAuth issuer's signing key ring (issue 3). */
export class Migration20261201000000_signing_keys extends Migration {
  override name = 'Migration20261201000000_signing_keys';

  override up(): void {
    this.addSql(
      `create table "signing_keys" ("kid" varchar(64) not null, "public_jwk" jsonb not null, "encrypted_private_key" text not null, "created_at" timestamptz not null, "activates_at" timestamptz not null, "retired_at" timestamptz null, primary key ("kid"));`,
    );
  }

  override down(): void {
    this.addSql('drop table if exists "signing_keys";');
  }
}
