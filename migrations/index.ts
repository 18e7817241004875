import { Migration20261129000000_initial } from './Migration20261129000000_initial';

/** Every migration in order; listed explicitly so compiled and test runs see the same set. */
export const MIGRATIONS = [Migration20261129000000_initial];
