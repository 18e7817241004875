import { Migration } from '@mikro-orm/migrations';

/**
 * The weighted vector of one `files` row (`r`), as Migration20261202000600_search built it. Inlined
 * where used: a stand-alone SQL function would be a routine MikroORM's schema diff wants to drop.
 */
function vector(r: string): string {
  const text = {
    name: `coalesce(${r}.name_words, '') || ' ' || ${r}.name`,
    description: `coalesce(${r}.attributes->>'description', '')`,
    tags: `coalesce((select string_agg(x, ' ') from jsonb_array_elements_text(coalesce(${r}.attributes->'tags', '[]')) x), '')`,
    metadata: `coalesce((select string_agg(v, ' ') from jsonb_each_text(coalesce(${r}.attributes->'metadata', '{}')) e(k, v)), '')`,
  };
  const part = (t: string, weight: string) =>
    `setweight(to_tsvector('russian', ${t}) || to_tsvector('simple', ${t}), '${weight}')`;
  return [
    part(text.name, 'A'),
    part(text.description, 'B'),
    part(text.tags, 'C'),
    part(text.metadata, 'D'),
  ].join(' || ');
}

/**
 * Search moves to a narrow side table, `file_search`: one row per file with its weighted tsvector
 * and the columns the search filters and sorts read, and nothing else. Ranking reads the tsvector
 * of every match; in `files` each row also carries the sidecar document (≈ 1.6 kB a row, five
 * rows a page), so a word matching 1.5 % of 1 M files visited ≈ 58 000 pages; here ≈ 16 rows fit a
 * page. The vector is built exactly as before (same function body, same weights and configs).
 *
 * Triggers on `files` keep the side table equal to it for every writer: insert, update (search
 * text or filter columns), delete and truncate. The backfill copies the vectors already built, so
 * migrating a large catalog does not parse every document again.
 */
export class Migration20261202060000_file_search extends Migration {
  override name = 'Migration20261202060000_file_search';

  override up(): void {
    this.addSql(
      `create table "file_search" ("file_id" uuid not null, "name" text not null, "collection" varchar(63) not null, "content_type" text not null, "size" bigint not null, "uploader" text not null, "uploaded_at" timestamptz not null, "status" varchar(16) not null, "retention_policy" varchar(16) not null, "expires_at" timestamptz null, "tags" jsonb not null, "search_vector" tsvector not null, primary key ("file_id"));`,
    );
    // The backfill: files are read in upload order so that the side table starts out clustered by
    // it (date-sorted pages and the ranked candidate cap read neighbouring rows).
    this.addSql(`insert into "file_search"
  select f.file_id, f.name, f.collection, f.content_type, f.size, f.uploader, f.uploaded_at, f.status,
         f.retention_policy, f.expires_at, coalesce(f.attributes->'tags', '[]'), coalesce(f.search_vector, ${vector('f')})
    from "files" f order by f.uploaded_at, f.file_id;`);
    this.addSql(`create function files_search() returns trigger language plpgsql as $$
begin
  if tg_op = 'TRUNCATE' then
    truncate "file_search";
    return null;
  elsif tg_op = 'DELETE' then
    delete from "file_search" where file_id = old.file_id;
    return null;
  elsif tg_op = 'UPDATE' and old.file_id = new.file_id and old.name = new.name
        and old.name_words = new.name_words and old.attributes = new.attributes then
    update "file_search" set collection = new.collection, content_type = new.content_type, size = new.size,
           uploader = new.uploader, uploaded_at = new.uploaded_at, status = new.status,
           retention_policy = new.retention_policy, expires_at = new.expires_at
     where file_id = new.file_id;
    return null;
  end if;
  if tg_op = 'UPDATE' and old.file_id <> new.file_id then
    delete from "file_search" where file_id = old.file_id;
  end if;
  insert into "file_search" values (new.file_id, new.name, new.collection, new.content_type, new.size, new.uploader,
         new.uploaded_at, new.status, new.retention_policy, new.expires_at, coalesce(new.attributes->'tags', '[]'),
         ${vector('new')})
  on conflict (file_id) do update set name = excluded.name, collection = excluded.collection,
         content_type = excluded.content_type, size = excluded.size, uploader = excluded.uploader,
         uploaded_at = excluded.uploaded_at, status = excluded.status, retention_policy = excluded.retention_policy,
         expires_at = excluded.expires_at, tags = excluded.tags, search_vector = excluded.search_vector;
  return null;
end $$;`);
    this.addSql(
      `create trigger files_search after insert or update or delete on "files" for each row execute function files_search();`,
    );
    this.addSql(
      `create trigger files_search_truncate after truncate on "files" for each statement execute function files_search();`,
    );
    this.addSql('drop trigger if exists files_search_vector on "files";');
    this.addSql('drop function if exists files_search_vector();');
    this.addSql('drop index if exists "files_search_vector_index";');
    this.addSql('alter table "files" drop column "search_vector";');
    this.addSql(`set local maintenance_work_mem = '256MB';`);
    this.addSql(
      'create index "file_search_search_vector_index" on "file_search" using gin ("search_vector");',
    );
    this.addSql(
      'create index "file_search_uploaded_at_file_id_index" on "file_search" ("uploaded_at", "file_id");',
    );
    this.addSql('analyze "file_search";');
  }

  override down(): void {
    this.addSql('drop trigger if exists files_search on "files";');
    this.addSql('drop trigger if exists files_search_truncate on "files";');
    this.addSql('drop function if exists files_search();');
    this.addSql('alter table "files" add column "search_vector" tsvector null;');
    this.addSql(
      'update "files" f set "search_vector" = s."search_vector" from "file_search" s where s."file_id" = f."file_id";',
    );
    this.addSql('drop table if exists "file_search";');
    this.addSql(`create function files_search_vector() returns trigger language plpgsql as $$
begin
  new.search_vector := ${vector('new')};
  return new;
end $$;`);
    this.addSql(
      `create trigger files_search_vector before insert or update of name, name_words, attributes on "files" for each row execute function files_search_vector();`,
    );
    this.addSql('create index "files_search_vector_index" on "files" using gin ("search_vector");');
  }
}
