import type { Orm } from '../../src/adapters/persistence/database';
import { openTestOrm } from './database';

export interface SharedTestOrm {
  /** The ORM of this block's database; only valid inside its tests and hooks. */
  readonly orm: Orm;
  /** Empties the tables (between tests: contract suites assume an empty store). */
  truncate(...tables: string[]): Promise<void>;
}

/**
 * Registers beforeAll/afterAll in the calling describe block: one database cloned from the
 * migrated template for the whole block (STYLE.md: each test file gets its own), dropped after it.
 */
export function useSharedTestOrm(): SharedTestOrm {
  let opened: Awaited<ReturnType<typeof openTestOrm>> | null = null;
  beforeAll(async () => {
    opened = await openTestOrm();
  });
  afterAll(async () => {
    await opened?.done();
    opened = null;
  });
  const orm = (): Orm => {
    if (!opened) throw new Error('the test database is not open (used outside a test?)');
    return opened.orm;
  };
  return {
    get orm() {
      return orm();
    },
    async truncate(...tables) {
      const names = tables.map((t) => `"${t}"`).join(', ');
      await orm().em.fork().getConnection().execute(`truncate ${names}`);
    },
  };
}
