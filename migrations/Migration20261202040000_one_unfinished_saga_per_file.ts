import { Migration } from '@mikro-orm/migrations';

/**
 * One unfinished saga per file as a partial unique index: a saga is created in one statement
 * (`insert … on conflict do nothing`) instead of a transaction around an advisory lock.
 */
export class Migration20261202040000_one_unfinished_saga_per_file extends Migration {
  override name = 'Migration20261202040000_one_unfinished_saga_per_file';

  override up(): void {
    // The advisory lock kept duplicates out; should any exist, all but the newest are set aside.
    this.addSql(
      `update "sagas" set "status" = 'failed', "error" = 'a second unfinished saga of the same file'
        where "id" in (select "id" from (select "id", row_number() over (partition by "file_id" order by "created_at" desc) as "n"
                                           from "sagas" where "file_id" is not null and "status" in ('running', 'compensating')) as "ranked"
                        where "n" > 1);`,
    );
    this.addSql(
      `create unique index "sagas_unfinished_file_id_unique" on "sagas" ("file_id") where "status" in ('running', 'compensating');`,
    );
  }

  override down(): void {
    this.addSql('drop index if exists "sagas_unfinished_file_id_unique";');
  }
}
