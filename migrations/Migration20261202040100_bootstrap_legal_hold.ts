import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 5 added the `files:legal_hold` scope. The bootstrap service account is created with every
 * non-internal scope there is; one created before the scope existed gains it here, so an existing
 * installation's administrator can set and clear legal holds as a new one can.
 */
export class Migration20261202040100_bootstrap_legal_hold extends Migration {
  override name = 'Migration20261202040100_bootstrap_legal_hold';

  override up(): void {
    this.addSql(
      `update "service_accounts" set "scopes" = "scopes" || '["files:legal_hold"]'::jsonb
        where "name" = 'bootstrap admin' and not "internal"
          and "scopes" @> '["admin:write"]'::jsonb and not "scopes" @> '["files:legal_hold"]'::jsonb;`,
    );
  }

  override down(): void {
    // The scope stays: it may have been granted on purpose since.
  }
}
