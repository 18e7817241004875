import { Migration } from '@mikro-orm/migrations';

/**
 * Full-text search over the catalog. `name_words` is the name split into words by the application
 * (search-text.ts: at `_ - .`, case and digit changes); the trigger builds `search_vector` from it,
 * the raw name, the description, tags and metadata values of the sidecar document, weighted
 * A > B > C > D. Each part is indexed twice: 'russian' (Russian snowball; it sends ASCII words
 * through english_stem, so English morphology too) and 'simple' (exact forms, for exact and prefix
 * matching). A trigger keeps every writer (add, update, restore, bulk loads) consistent.
 */
export class Migration20261202000600_search extends Migration {
  override name = 'Migration20261202000600_search';

  override up(): void {
    this.addSql(
      `alter table "files" add column "name_words" text not null default '', add column "search_vector" tsvector null;`,
    );
    this.addSql(`create function files_search_vector() returns trigger language plpgsql as $$
declare
  name_text text := coalesce(new.name_words, '') || ' ' || new.name;
  description text := coalesce(new.attributes->>'description', '');
  tags text := coalesce((select string_agg(t, ' ') from jsonb_array_elements_text(coalesce(new.attributes->'tags', '[]')) t), '');
  meta text := coalesce((select string_agg(v, ' ') from jsonb_each_text(coalesce(new.attributes->'metadata', '{}')) m(k, v)), '');
begin
  new.search_vector :=
    setweight(to_tsvector('russian', name_text) || to_tsvector('simple', name_text), 'A') ||
    setweight(to_tsvector('russian', description) || to_tsvector('simple', description), 'B') ||
    setweight(to_tsvector('russian', tags) || to_tsvector('simple', tags), 'C') ||
    setweight(to_tsvector('russian', meta) || to_tsvector('simple', meta), 'D');
  return new;
end $$;`);
    this.addSql(
      `create trigger files_search_vector before insert or update of name, name_words, attributes on "files" for each row execute function files_search_vector();`,
    );
    this.addSql(
      `update "files" set "name_words" = lower(regexp_replace("name", '[^[:alnum:]]+', ' ', 'g'));`,
    );
    this.addSql('create index "files_search_vector_index" on "files" using gin ("search_vector");');
    this.addSql('create index "files_content_type_index" on "files" ("content_type");');
    this.addSql('create index "files_uploader_index" on "files" ("uploader");');
  }

  override down(): void {
    this.addSql('drop trigger if exists files_search_vector on "files";');
    this.addSql('drop function if exists files_search_vector();');
    this.addSql('drop index if exists "files_search_vector_index";');
    this.addSql('drop index if exists "files_content_type_index";');
    this.addSql('drop index if exists "files_uploader_index";');
    this.addSql('alter table "files" drop column "search_vector", drop column "name_words";');
  }
}
