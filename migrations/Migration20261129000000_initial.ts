import { Migration } from '@mikro-orm/migrations';

/** Registry, SE metadata cache, catalog and copies (issue 2). */
export class Migration20261129000000_initial extends Migration {
  override name = 'Migration20261129000000_initial';

  override up(): void {
    this.addSql(
      `create table "storage_elements" ("id" varchar(63) not null, "mode" varchar(8) not null, "backend" varchar(8) not null, "dc" varchar(63) not null, "priority" int not null, "total_bytes" bigint not null, "used_bytes" bigint not null, "file_count" bigint not null, "url" text not null, "last_seen_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `create table "se_files" ("se_id" varchar(63) not null, "file_id" uuid not null, "size" bigint not null, "attributes" jsonb not null, "updated_at" timestamptz not null, primary key ("se_id", "file_id"));`,
    );
    this.addSql(
      `create table "files" ("file_id" uuid not null, "name" text not null, "collection" varchar(63) not null, "content_type" text not null, "size" bigint not null, "sha256" varchar(64) not null, "uploader" text not null, "uploaded_at" timestamptz not null, "status" varchar(16) not null, "retention_policy" varchar(16) not null, "expires_at" timestamptz null, "attributes" jsonb not null, primary key ("file_id"));`,
    );
    this.addSql(`create index "files_uploaded_at_file_id_index" on "files" ("uploaded_at", "file_id");`);
    this.addSql(`create index "files_collection_index" on "files" ("collection");`);
    this.addSql(
      `create table "file_copies" ("file_id" uuid not null, "se_id" varchar(63) not null, "key" text not null, "created_at" timestamptz not null, primary key ("file_id", "se_id"));`,
    );
    this.addSql(`create index "file_copies_se_id_index" on "file_copies" ("se_id");`);
  }

  override down(): void {
    this.addSql('drop table if exists "file_copies";');
    this.addSql('drop table if exists "files";');
    this.addSql('drop table if exists "se_files";');
    this.addSql('drop table if exists "storage_elements";');
  }
}
