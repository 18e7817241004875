import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { COMPRESSION_CHOICES } from '../application/ingester/collection-policy';
import { isValidCollection } from '../domain/document/document';
import { MAX_TTL_DAYS, MIN_TTL_DAYS } from '../domain/retention/retention';
import { isValidStorageElementId } from '../domain/storage-element/storage-element';
import { STORAGE_MODES } from '../domain/storage-mode/storage-mode';

export const ROLES = ['admin', 'storage', 'ingester', 'query'] as const;
export type Role = (typeof ROLES)[number];

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const storageElement = z.object({
  id: z.string().refine(isValidStorageElementId, 'must be 1-63 characters of a-z, 0-9 and "-"'),
  mode: z.enum(STORAGE_MODES),
  backend: z.enum(['local', 's3']).default('local'),
  /** S3 backend: the bucket and key prefix holding this SE's blobs and sidecars (the WAL stays on `path`). */
  s3_endpoint: z.url({ protocol: /^https?$/u }).optional(),
  s3_bucket: z.string().min(3).max(63).optional(),
  s3_prefix: z.string().max(512).optional(),
  s3_access_key: z.string().min(1).optional(),
  s3_secret_key: z.string().min(1).optional(),
  s3_region: z.string().min(1).optional(),
  /** Directory holding the SE's blobs, WAL and state; default `<data_dir>/se/<id>`. */
  path: z.string().min(1).optional(),
  dc: z.string().min(1).max(63).default('dc1'),
  priority: integer(0, 1_000_000).default(100),
  capacity_bytes: z.coerce.number().int().positive().optional(),
});
export type StorageElementConfig = z.infer<typeof storageElement> & { readonly path: string };

/** Where an S3 SE keeps its objects (S3BlobStore adds the trailing '/'). */
function s3PrefixOf(se: z.infer<typeof storageElement>): string {
  const prefix = se.s3_prefix ?? `${se.id}/`;
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/**
 * Two SEs in one bucket must not see each other's objects: reconcile would take the other's files
 * for orphans and its multipart uploads for leftovers.
 */
function noSharedS3Prefixes(elements: z.infer<typeof storageElement>[], ctx: z.RefinementCtx): void {
  const s3 = elements.filter((se) => se.backend === 's3');
  for (const [i, a] of s3.entries()) {
    for (const b of s3.slice(i + 1)) {
      if (a.s3_endpoint !== b.s3_endpoint || a.s3_bucket !== b.s3_bucket) continue;
      const [pa, pb] = [s3PrefixOf(a), s3PrefixOf(b)];
      if (pa.startsWith(pb) || pb.startsWith(pa)) {
        ctx.addIssue({
          code: 'custom',
          message: `storage elements '${a.id}' and '${b.id}' share bucket '${a.s3_bucket}' with overlapping prefixes '${pa}' and '${pb}'`,
        });
      }
    }
  }
}

const MEDIA_TYPE_PATTERN = /^([a-z0-9!#$&^_.+-]+|\*)\/([a-z0-9!#$&^_.+-]+|\*)$/u;

/** Per-collection upload policy (config file only): `collections: { "<name>": { ... } }`. */
const collectionPolicy = z
  .object({
    max_upload_bytes: z.number().int().positive().optional(),
    allowed_content_types: z
      .array(
        z
          .string()
          .transform((s) => s.trim().toLowerCase())
          .refine(
            (s) => MEDIA_TYPE_PATTERN.test(s) && !/^\*\/[^*]/u.test(s),
            'must be a media type (type/subtype) or a type/* glob',
          ),
      )
      .min(1)
      .optional(),
    compression: z.enum(COMPRESSION_CHOICES).optional(),
  })
  .strict();
const collections = z
  .record(
    z.string().refine(isValidCollection, 'collection names are 1-63 characters of a-z, 0-9, ".", "_", "-"'),
    collectionPolicy,
  )
  .default({});

const threshold = z
  .object({
    percent: z.number().min(0).max(100).default(0),
    bytes: z.number().int().min(0).default(0),
  })
  .strict();
const modeThresholds = z
  .object({ warning: threshold.optional(), critical: threshold.optional(), full: threshold.optional() })
  .strict();

const roleList = z
  .string()
  .default('all')
  .transform((value, ctx) => {
    const names = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 1 && names[0] === 'all') return [...ROLES];
    const unknown = names.filter((n) => !(ROLES as readonly string[]).includes(n));
    if (unknown.length > 0 || names.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown role '${unknown.join("', '") || value}': use all, or a list of ${ROLES.join(', ')}`,
      });
      return z.NEVER;
    }
    return [...new Set(names)] as Role[];
  });

const schema = z.object({
  role: roleList,
  host: z.string().min(1).default('0.0.0.0'),
  port: integer(0, 65535).default(8000),
  data_dir: z.string().min(1).default('./data'),
  database_url: z.url({ protocol: /^postgres(ql)?$/u }).optional(),
  redis_url: z.url({ protocol: /^rediss?$/u }).optional(),
  redis_prefix: z.string().default('artstore:'),
  public_url: z.url({ protocol: /^https?$/u }).optional(),
  storage_element_id: z.string().optional(),
  storage_elements: z
    .array(storageElement)
    .min(1)
    .superRefine(noSharedS3Prefixes)
    .default([
      { id: 'edit-1', mode: 'edit', backend: 'local', dc: 'dc1', priority: 100 },
      { id: 'rw-1', mode: 'rw', backend: 'local', dc: 'dc1', priority: 100 },
      { id: 'rw-2', mode: 'rw', backend: 'local', dc: 'dc1', priority: 100 },
    ]),
  default_ttl_days: integer(MIN_TTL_DAYS, MAX_TTL_DAYS).default(30),
  /** No document may be larger; a collection may set a lower limit. Default 1 TiB. */
  max_upload_bytes: integer(1, Number.MAX_SAFE_INTEGER).default(2 ** 40),
  collections,
  /** Free-space floors per writable mode; each level is reached at max(percent of total, bytes) free. */
  capacity_thresholds: z
    .object({ edit: modeThresholds.optional(), rw: modeThresholds.optional() })
    .strict()
    .optional(),
  heartbeat_ms: integer(100, 600_000).default(5_000),
  /** This process's data centre: the query role reads copies in it first (§3.4); none by default. */
  dc: z.string().min(1).max(63).optional(),
  /** Copies of each retention class (§3.4) written before an upload or finalize is acknowledged. */
  replication_temporary: integer(1, 8).default(1),
  replication_permanent: integer(1, 8).default(2),
  /** A saga whose process has not renewed it for this long is taken over (resumed or compensated). */
  saga_lease_ms: integer(200, 600_000).default(30_000),
  /** Scrub read rate per SE; scrubs run every `scrub_interval_s` (0: only when asked). */
  scrub_rate_bytes_per_s: integer(1024, Number.MAX_SAFE_INTEGER).default(64 * 1024 * 1024),
  // At most 24 days: the longest delay a Node timer takes.
  scrub_interval_s: integer(0, 24 * 86_400).default(7 * 86_400),
  /** Stored content up to this size is checked against the sidecar checksum before a byte is sent (identity: ranges too). */
  verify_on_read_max_bytes: integer(0, 256 * 1024 * 1024).default(1024 * 1024),
  /** Temp files and incomplete uploads older than this are leftovers reconcile removes. */
  stale_temp_after_s: integer(1, 30 * 86_400).default(3_600),
  /** Partial resumable uploads; every ingester replica must reach the same directory. Default `<data_dir>/staging`. */
  staging_dir: z.string().min(1).optional(),
  /** An unfinished resumable upload expires this long after its creation (Upload-Expires). */
  upload_expiry_s: integer(1, 365 * 86_400).default(86_400),
  /** How often an ingester removes expired uploads and finishes completions whose process died (0: only at start). */
  upload_sweep_interval_s: integer(0, 86_400).default(300),
  /** Catalog cache (query path): level 1 in each process, level 2 in Redis when configured. */
  cache_l1_ttl_ms: integer(100, 86_400_000).default(30_000),
  cache_metadata_entries: integer(0, 10_000_000).default(4_096),
  cache_search_entries: integer(0, 10_000_000).default(1_024),
  /** 0 turns level 2 off. */
  cache_l2_ttl_s: integer(0, 86_400).default(60),
  cache_l2_timeout_ms: integer(1, 10_000).default(100),
  /** A PostgreSQL query (serve) unanswered for this long fails, and the request gets a 503. */
  database_query_timeout_ms: integer(100, 3_600_000).default(3_000),
  /** A new PostgreSQL connection (or a wait for a pooled one) longer than this fails likewise. */
  database_connect_timeout_ms: integer(100, 60_000).default(2_000),
  /**
   * An S3 request whose connection carries nothing for this long fails (the SE answers 503): the
   * minio client has no timeout of its own. Short, so that a failed write and its undo fit in 5 s.
   */
  s3_idle_timeout_ms: integer(100, 600_000).default(2_000),
  /** How long a restored copy of an archived file stays readable before the sweep removes it. */
  restore_ttl_s: integer(1, 365 * 86_400).default(86_400),
  /** How often the admin removes expired restored copies (also at start; 0: only at start). */
  restore_sweep_interval_s: integer(0, 86_400).default(60),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  failpoints: z.string().optional(),
  shutdown_timeout_ms: integer(0, 600_000).default(10_000),
  /** 32 bytes (64 hex digits or base64) encrypting signing keys at rest; default: `<data_dir>/master.key`. */
  auth_master_key: z.string().min(1).optional(),
  /** The admin's public base URL, for roles that verify tokens with its JWKS and obtain their own. */
  issuer_url: z.url({ protocol: /^https?$/u }).optional(),
  token_audience: z.string().min(1).max(256).default('artstore'),
  token_lifetime_s: integer(60, 3600).default(900),
  key_rotation_interval_s: integer(60, 365 * 86_400).default(86_400),
  key_publish_lead_s: integer(1, 86_400).default(600),
  /** Without the admin role: how long the issuer's last JWKS stays usable while the issuer is unreachable (0: not at all). */
  issuer_keys_grace_s: integer(0, 7 * 86_400).default(3_600),
  /** This process's own service account, used to call the other roles in split mode. */
  client_id: z.string().min(1).max(128).optional(),
  client_secret: z.string().min(1).max(512).optional(),
  /** Credentials for the accounts made on first start; generated when absent. */
  bootstrap_client_id: z
    .string()
    .regex(/^[\w.-]{3,128}$/u, 'must be 3-128 letters, digits, ".", "_" or "-"')
    .optional(),
  bootstrap_client_secret: z.string().min(24, 'must be at least 24 characters').max(512).optional(),
  bootstrap_admin_username: z.string().min(3).max(64).default('admin'),
  bootstrap_admin_password: z.string().min(12).max(256).optional(),
});

const DEFAULT_SE_IDS = ['edit-1', 'rw-1', 'rw-2'];

/**
 * Checks across fields, run on the raw input even when some field failed its own schema, so one
 * run reports every problem (zod skips refinements once a field is invalid).
 */
function crossFieldProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const roles = roleList.safeParse(raw.role);
  const allInOne = roles.success && ROLES.every((r) => roles.data.includes(r));
  if (roles.success && !allInOne) {
    if (!raw.database_url)
      problems.push('database_url (ARTSTORE_DATABASE_URL): split roles need a shared PostgreSQL');
    if (!raw.redis_url) problems.push('redis_url (ARTSTORE_REDIS_URL): split roles need a shared Redis');
  }
  const elements = Array.isArray(raw.storage_elements) ? (raw.storage_elements as unknown[]) : null;
  const ids = elements
    ? elements
        .map((e) => (e as { id?: unknown } | null)?.id)
        .filter((id): id is string => typeof id === 'string')
    : DEFAULT_SE_IDS;
  for (const element of elements ?? []) {
    const se = (element ?? {}) as Record<string, unknown>;
    if (se.backend !== 's3') continue;
    const missing = ['s3_endpoint', 's3_bucket', 's3_access_key', 's3_secret_key'].filter((k) => !se[k]);
    if (missing.length > 0) {
      problems.push(
        `storage_elements: '${String(se.id)}' uses the s3 backend and needs ${missing.join(', ')} (ARTSTORE_SE_S3_* for an SE defined by environment)`,
      );
    }
  }
  const duplicates = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  if (duplicates.length > 0)
    problems.push(`storage_elements: duplicate storage element id '${duplicates.join("', '")}'`);
  const seId = raw.storage_element_id;
  if (typeof seId === 'string' && !ids.includes(seId)) {
    problems.push(`storage_element_id (ARTSTORE_SE_ID): no storage element '${seId}' is configured`);
  }
  if (roles.success && !allInOne && !roles.data.includes('admin') && !raw.issuer_url) {
    problems.push(
      "issuer_url (ARTSTORE_ISSUER_URL): a process without the admin role verifies tokens with the admin's keys: set its URL",
    );
  }
  const callsOthers = roles.success && !allInOne && roles.data.some((r) => r !== 'storage' && r !== 'admin');
  if (callsOthers && (!raw.client_id || !raw.client_secret)) {
    problems.push(
      'client_id (ARTSTORE_CLIENT_ID) and client_secret (ARTSTORE_CLIENT_SECRET): split ingester and query roles call the storage elements with their own service account',
    );
  }
  if (roles.success && roles.data.includes('storage') && !allInOne && seId === undefined) {
    problems.push(
      'storage_element_id (ARTSTORE_SE_ID): a storage-role process serves one storage element: set ARTSTORE_SE_ID',
    );
  }
  return problems;
}

export type Config = Readonly<
  Omit<z.infer<typeof schema>, 'storage_elements' | 'staging_dir'> & {
    storage_elements: readonly StorageElementConfig[];
    staging_dir: string;
    /** Storage elements this process hosts. */
    hosted_storage_elements: readonly StorageElementConfig[];
    all_in_one: boolean;
  }
>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Environment variable → config key (the README's config table lists the same). */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  ARTSTORE_ROLE: 'role',
  ARTSTORE_HOST: 'host',
  ARTSTORE_PORT: 'port',
  ARTSTORE_DATA_DIR: 'data_dir',
  ARTSTORE_DATABASE_URL: 'database_url',
  ARTSTORE_REDIS_URL: 'redis_url',
  ARTSTORE_REDIS_PREFIX: 'redis_prefix',
  ARTSTORE_PUBLIC_URL: 'public_url',
  ARTSTORE_SE_ID: 'storage_element_id',
  ARTSTORE_DEFAULT_TTL_DAYS: 'default_ttl_days',
  ARTSTORE_MAX_UPLOAD_BYTES: 'max_upload_bytes',
  ARTSTORE_HEARTBEAT_MS: 'heartbeat_ms',
  ARTSTORE_DC: 'dc',
  ARTSTORE_REPLICATION_TEMPORARY: 'replication_temporary',
  ARTSTORE_REPLICATION_PERMANENT: 'replication_permanent',
  ARTSTORE_SAGA_LEASE_MS: 'saga_lease_ms',
  ARTSTORE_SCRUB_RATE_BYTES_PER_S: 'scrub_rate_bytes_per_s',
  ARTSTORE_SCRUB_INTERVAL_S: 'scrub_interval_s',
  ARTSTORE_VERIFY_ON_READ_MAX_BYTES: 'verify_on_read_max_bytes',
  ARTSTORE_STALE_TEMP_AFTER_S: 'stale_temp_after_s',
  ARTSTORE_STAGING_DIR: 'staging_dir',
  ARTSTORE_UPLOAD_EXPIRY_S: 'upload_expiry_s',
  ARTSTORE_UPLOAD_SWEEP_INTERVAL_S: 'upload_sweep_interval_s',
  ARTSTORE_CACHE_L1_TTL_MS: 'cache_l1_ttl_ms',
  ARTSTORE_CACHE_METADATA_ENTRIES: 'cache_metadata_entries',
  ARTSTORE_CACHE_SEARCH_ENTRIES: 'cache_search_entries',
  ARTSTORE_CACHE_L2_TTL_S: 'cache_l2_ttl_s',
  ARTSTORE_CACHE_L2_TIMEOUT_MS: 'cache_l2_timeout_ms',
  ARTSTORE_DATABASE_QUERY_TIMEOUT_MS: 'database_query_timeout_ms',
  ARTSTORE_DATABASE_CONNECT_TIMEOUT_MS: 'database_connect_timeout_ms',
  ARTSTORE_S3_IDLE_TIMEOUT_MS: 's3_idle_timeout_ms',
  ARTSTORE_RESTORE_TTL_S: 'restore_ttl_s',
  ARTSTORE_RESTORE_SWEEP_INTERVAL_S: 'restore_sweep_interval_s',
  ARTSTORE_LOG_LEVEL: 'log_level',
  ARTSTORE_FAILPOINTS: 'failpoints',
  ARTSTORE_SHUTDOWN_TIMEOUT_MS: 'shutdown_timeout_ms',
  ARTSTORE_AUTH_MASTER_KEY: 'auth_master_key',
  ARTSTORE_ISSUER_URL: 'issuer_url',
  ARTSTORE_TOKEN_AUDIENCE: 'token_audience',
  ARTSTORE_TOKEN_LIFETIME_S: 'token_lifetime_s',
  ARTSTORE_KEY_ROTATION_INTERVAL_S: 'key_rotation_interval_s',
  ARTSTORE_KEY_PUBLISH_LEAD_S: 'key_publish_lead_s',
  ARTSTORE_ISSUER_KEYS_GRACE_S: 'issuer_keys_grace_s',
  ARTSTORE_CLIENT_ID: 'client_id',
  ARTSTORE_CLIENT_SECRET: 'client_secret',
  ARTSTORE_BOOTSTRAP_CLIENT_ID: 'bootstrap_client_id',
  ARTSTORE_BOOTSTRAP_CLIENT_SECRET: 'bootstrap_client_secret',
  ARTSTORE_BOOTSTRAP_ADMIN_USERNAME: 'bootstrap_admin_username',
  ARTSTORE_BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap_admin_password',
};

/** One storage element defined by environment alone (a storage process without a config file). */
const SE_ENV_KEYS: Readonly<Record<string, string>> = {
  ARTSTORE_SE_MODE: 'mode',
  ARTSTORE_SE_PATH: 'path',
  ARTSTORE_SE_DC: 'dc',
  ARTSTORE_SE_PRIORITY: 'priority',
  ARTSTORE_SE_CAPACITY_BYTES: 'capacity_bytes',
  ARTSTORE_SE_BACKEND: 'backend',
  ARTSTORE_SE_S3_ENDPOINT: 's3_endpoint',
  ARTSTORE_SE_S3_BUCKET: 's3_bucket',
  ARTSTORE_SE_S3_PREFIX: 's3_prefix',
  ARTSTORE_SE_S3_ACCESS_KEY: 's3_access_key',
  ARTSTORE_SE_S3_SECRET_KEY: 's3_secret_key',
  ARTSTORE_SE_S3_REGION: 's3_region',
};

export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Command-line overrides (`--role`, `--port`, `--data-dir`, `--config`). */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
}

/** The only reader of the environment: file < env < flags, validated at once, all problems reported. */
export function loadConfig(sources: ConfigSources): Config {
  const { env, flags = {}, readFile = (p) => readFileSync(p, 'utf8') } = sources;
  const problems: string[] = [];
  let file: Record<string, unknown> = {};
  const configPath = flags.config ?? env.ARTSTORE_CONFIG_FILE;
  if (configPath) {
    try {
      const parsed = JSON.parse(readFile(configPath)) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('expected a JSON object');
      file = parsed as Record<string, unknown>;
    } catch (error) {
      problems.push(`config file ${configPath}: ${(error as Error).message}`);
    }
  }
  const raw: Record<string, unknown> = { ...file };
  for (const [name, key] of Object.entries(ENV_KEYS))
    if (env[name] !== undefined && env[name] !== '') raw[key] = env[name];
  for (const [flag, key] of Object.entries({ role: 'role', port: 'port', 'data-dir': 'data_dir' })) {
    if (flags[flag] !== undefined) raw[key] = flags[flag];
  }
  const envSe = Object.fromEntries(
    Object.entries(SE_ENV_KEYS).flatMap(([name, key]) => (env[name] ? [[key, env[name]]] : [])),
  );
  if (Object.keys(envSe).length > 0) {
    const listed = Array.isArray(raw.storage_elements) ? (raw.storage_elements as unknown[]) : [];
    raw.storage_elements = [...listed, { id: raw.storage_element_id, ...envSe }];
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    problems.push(...result.error.issues.map((i) => `${describeKey(i.path)}: ${i.message}`));
  }
  problems.push(...crossFieldProblems(raw));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const c = result.data;
  const dataDir = resolve(c.data_dir);
  const elements = c.storage_elements.map((se) => ({
    ...se,
    path: resolve(se.path ?? `${dataDir}/se/${se.id}`),
  }));
  const allInOne = ROLES.every((r) => c.role.includes(r));
  const hosted = c.role.includes('storage')
    ? elements.filter((se) => c.storage_element_id === undefined || se.id === c.storage_element_id)
    : [];
  return deepFreeze({
    ...c,
    data_dir: dataDir,
    staging_dir: resolve(c.staging_dir ?? `${dataDir}/staging`),
    storage_elements: elements,
    hosted_storage_elements: hosted,
    all_in_one: allInOne,
  });
}

function describeKey(path: readonly PropertyKey[]): string {
  const key = path.map(String).join('.');
  const env = Object.entries(ENV_KEYS).find(([, k]) => k === path[0])?.[0];
  return env && path.length === 1 ? `${key} (${env})` : key || '(config)';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
