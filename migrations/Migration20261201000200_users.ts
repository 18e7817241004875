import { Migration } from '@mikro-orm/migrations';

/** Users (people) and their refresh-token sessions (issue 3). Exported for tests that build the tables. */
export const USERS_UP_SQL: readonly string[] = [
  `create table "users" ("id" uuid not null, "username" varchar(64) collate "C" not null, "role" varchar(16) not null, "password_hash" text not null, "failed_logins" int not null, "locked_until" timestamptz null, "password_changed_at" timestamptz not null, "last_login_at" timestamptz null, "last_login_source" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null, primary key ("id"));`,
  `create unique index "users_username_lower_unique" on "users" (lower("username"));`,
  `create table "user_sessions" ("id" uuid not null, "user_id" uuid not null, "family_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "rotated_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`,
  `alter table "user_sessions" add constraint "user_sessions_token_hash_unique" unique ("token_hash");`,
  `create index "user_sessions_user_id_index" on "user_sessions" ("user_id");`,
  `create index "user_sessions_family_id_index" on "user_sessions" ("family_id");`,
  `create index "user_sessions_expires_at_index" on "user_sessions" ("expires_at");`,
  `alter table "user_sessions" add constraint "user_sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
];

export const USERS_DOWN_SQL: readonly string[] = [
  'drop table if exists "user_sessions";',
  'drop table if exists "users";',
];

export class Migration20261201000200_users extends Migration {
  override name = 'Migration20261201000200_users';

  override up(): void {
    for (const sql of USERS_UP_SQL) this.addSql(sql);
  }

  override down(): void {
    for (const sql of USERS_DOWN_SQL) this.addSql(sql);
  }
}
