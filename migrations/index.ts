import { Migration20261129000000_initial } from './Migration20261129000000_initial';
import { Migration20261201000000_signing_keys } from './Migration20261201000000_signing_keys';
import { Migration20261201000100_audit_log } from './Migration20261201000100_audit_log';
import { Migration20261201000200_users } from './Migration20261201000200_users';
import { Migration20261201000300_service_accounts } from './Migration20261201000300_service_accounts';
import { Migration20261201000400_fixity_checks } from './Migration20261201000400_fixity_checks';
import { Migration20261202000000_sagas } from './Migration20261202000000_sagas';
import { Migration20261202000100_uploads } from './Migration20261202000100_uploads';
import { Migration20261202000600_search } from './Migration20261202000600_search';
import { Migration20261202040000_one_unfinished_saga_per_file } from './Migration20261202040000_one_unfinished_saga_per_file';
import { Migration20261202040100_bootstrap_legal_hold } from './Migration20261202040100_bootstrap_legal_hold';
import { Migration20261202050000_restored_copies } from './Migration20261202050000_restored_copies';
import { Migration20261202060000_file_search } from './Migration20261202060000_file_search';

/** Every migration in order; listed explicitly so compiled and test runs see the same set. */
export const MIGRATIONS = [
  Migration20261129000000_initial,
  Migration20261201000000_signing_keys,
  Migration20261201000100_audit_log,
  Migration20261201000200_users,
  Migration20261201000300_service_accounts,
  Migration20261201000400_fixity_checks,
  Migration20261202000000_sagas,
  Migration20261202000100_uploads,
  Migration20261202000600_search,
  Migration20261202040000_one_unfinished_saga_per_file,
  Migration20261202040100_bootstrap_legal_hold,
  Migration20261202050000_restored_copies,
  Migration20261202060000_file_search,
];
