import { resolve } from 'node:path';
import { loadConfig, ROLES, type ConfigError, type ConfigSources } from '../../../src/bootstrap/config';
import { ingestSettings } from '../../../src/bootstrap/ingest-settings';
import { thresholdsFrom } from '../../../src/bootstrap/storage-elements';
import { policyFor } from '../../../src/application/ingester/collection-policy';
import { DEFAULT_THRESHOLDS } from '../../../src/domain/storage-element/capacity-level';

const SPLIT = {
  ARTSTORE_DATABASE_URL: 'postgresql://artstore@db.internal:5432/artstore',
  ARTSTORE_REDIS_URL: 'redis://cache.internal:6379',
  ARTSTORE_ISSUER_URL: 'http://admin.internal:8000',
  ARTSTORE_CLIENT_ID: 'role-query',
  ARTSTORE_CLIENT_SECRET: 'role-query-secret-0123456789',
};

describe('loadConfig defaults', () => {
  const config = loadConfig({ env: {} });

  it('runs every role in one process on port 8000', () => {
    expect(config.role).toEqual([...ROLES]);
    expect(config.all_in_one).toBe(true);
    expect(config.port).toBe(8000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.default_ttl_days).toBe(30);
    expect(config.log_level).toBe('info');
  });

  it('resolves ./data and puts three SEs, edit-1, rw-1 and rw-2 (permanent files keep two copies), under <data>/se/<id>', () => {
    const data = resolve('./data');
    expect(config.data_dir).toBe(data);
    expect(config.storage_elements.map((se) => [se.id, se.mode, se.path])).toEqual([
      ['edit-1', 'edit', `${data}/se/edit-1`],
      ['rw-1', 'rw', `${data}/se/rw-1`],
      ['rw-2', 'rw', `${data}/se/rw-2`],
    ]);
    expect(config.hosted_storage_elements.map((se) => se.id)).toEqual(['edit-1', 'rw-1', 'rw-2']);
    expect([config.replication_temporary, config.replication_permanent]).toEqual([1, 2]);
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.role)).toBe(true);
    expect(Object.isFrozen(config.storage_elements)).toBe(true);
    expect(Object.isFrozen(config.storage_elements[0])).toBe(true);
    expect(Object.isFrozen(config.hosted_storage_elements[0])).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('loadConfig sources', () => {
  it.each<[string, string, string, unknown]>([
    ['ARTSTORE_HOST', '127.0.0.1', 'host', '127.0.0.1'],
    ['ARTSTORE_PORT', '9001', 'port', 9001],
    ['ARTSTORE_DATA_DIR', '/srv/artstore', 'data_dir', '/srv/artstore'],
    ['ARTSTORE_DATABASE_URL', 'postgres://u@h/db', 'database_url', 'postgres://u@h/db'],
    ['ARTSTORE_REDIS_URL', 'rediss://h:6380', 'redis_url', 'rediss://h:6380'],
    ['ARTSTORE_REDIS_PREFIX', 'x:', 'redis_prefix', 'x:'],
    ['ARTSTORE_PUBLIC_URL', 'https://files.example.com', 'public_url', 'https://files.example.com'],
    ['ARTSTORE_SE_ID', 'rw-1', 'storage_element_id', 'rw-1'],
    ['ARTSTORE_DEFAULT_TTL_DAYS', '7', 'default_ttl_days', 7],
    ['ARTSTORE_MAX_UPLOAD_BYTES', '1048576', 'max_upload_bytes', 1048576],
    ['ARTSTORE_HEARTBEAT_MS', '1000', 'heartbeat_ms', 1000],
    ['ARTSTORE_LOG_LEVEL', 'debug', 'log_level', 'debug'],
    ['ARTSTORE_FAILPOINTS', 'se.put=throw', 'failpoints', 'se.put=throw'],
    ['ARTSTORE_SHUTDOWN_TIMEOUT_MS', '0', 'shutdown_timeout_ms', 0],
  ])('maps %s=%s to %s', (name, value, key, expected) => {
    const config = loadConfig({ env: { [name]: value } }) as unknown as Record<string, unknown>;
    expect(config[key]).toEqual(expected);
  });

  it('ignores empty environment variables', () => {
    expect(loadConfig({ env: { ARTSTORE_PORT: '' } }).port).toBe(8000);
  });

  it('layers file < env < flags', () => {
    const read: string[] = [];
    const readFile = (path: string): string => {
      read.push(path);
      return JSON.stringify({ port: 1111, host: 'file-host', data_dir: '/file', heartbeat_ms: 700 });
    };
    const sources = (env: Record<string, string>, flags: Record<string, string> = {}): ConfigSources => ({
      env: { ARTSTORE_CONFIG_FILE: '/etc/artstore.json', ...env },
      flags,
      readFile,
    });
    const fromFile = loadConfig(sources({}));
    expect([fromFile.port, fromFile.host, fromFile.data_dir, fromFile.heartbeat_ms]).toEqual([
      1111,
      'file-host',
      '/file',
      700,
    ]);
    const fromEnv = loadConfig(sources({ ARTSTORE_PORT: '2222', ARTSTORE_DATA_DIR: '/env' }));
    expect([fromEnv.port, fromEnv.host, fromEnv.data_dir]).toEqual([2222, 'file-host', '/env']);
    const fromFlags = loadConfig(sources({ ARTSTORE_PORT: '2222' }, { port: '3333', 'data-dir': '/flag' }));
    expect([fromFlags.port, fromFlags.data_dir, fromFlags.heartbeat_ms]).toEqual([3333, '/flag', 700]);
    expect(read).toEqual(['/etc/artstore.json', '/etc/artstore.json', '/etc/artstore.json']);
  });

  it('takes the config file path from --config over ARTSTORE_CONFIG_FILE', () => {
    const config = loadConfig({
      env: { ARTSTORE_CONFIG_FILE: '/env.json' },
      flags: { config: '/flag.json' },
      readFile: (path) => JSON.stringify({ port: path === '/flag.json' ? 4444 : 5555 }),
    });
    expect(config.port).toBe(4444);
  });

  it('lets --role override ARTSTORE_ROLE', () => {
    const config = loadConfig({ env: { ARTSTORE_ROLE: 'admin' }, flags: { role: 'all' } });
    expect(config.all_in_one).toBe(true);
  });

  it.each<[string, string[]]>([
    ['all', [...ROLES]],
    ['admin,query', ['admin', 'query']],
    [' ingester , query ', ['ingester', 'query']],
    ['query,query,admin', ['query', 'admin']],
    ['admin,storage,ingester,query', [...ROLES]],
  ])('reads the role list %j', (role, expected) => {
    const config = loadConfig({ env: { ARTSTORE_ROLE: role, ARTSTORE_SE_ID: 'rw-1', ...SPLIT } });
    expect(config.role).toEqual(expected);
    expect(config.all_in_one).toBe(expected.length === ROLES.length);
  });

  it('hosts only ARTSTORE_SE_ID on a split storage process, and nothing without the storage role', () => {
    const storage = loadConfig({ env: { ARTSTORE_ROLE: 'storage', ARTSTORE_SE_ID: 'rw-1', ...SPLIT } });
    expect(storage.hosted_storage_elements.map((se) => se.id)).toEqual(['rw-1']);
    const query = loadConfig({ env: { ARTSTORE_ROLE: 'query', ...SPLIT } });
    expect(query.hosted_storage_elements).toEqual([]);
  });

  it('defines a storage element from ARTSTORE_SE_* alone', () => {
    const config = loadConfig({
      env: {
        ...SPLIT,
        ARTSTORE_ROLE: 'storage',
        ARTSTORE_SE_ID: 'arch-2',
        ARTSTORE_SE_MODE: 'ro',
        ARTSTORE_SE_PATH: '/mnt/arch',
        ARTSTORE_SE_DC: 'dc7',
        ARTSTORE_SE_PRIORITY: '5',
        ARTSTORE_SE_CAPACITY_BYTES: '1048576',
      },
    });
    expect(config.storage_elements).toEqual([
      {
        id: 'arch-2',
        mode: 'ro',
        backend: 'local',
        path: '/mnt/arch',
        dc: 'dc7',
        priority: 5,
        capacity_bytes: 1048576,
      },
    ]);
    expect(config.hosted_storage_elements.map((se) => se.id)).toEqual(['arch-2']);
  });
});

describe('capacity thresholds', () => {
  it('lays configured floors over the defaults, level by level', () => {
    const config = loadConfig({
      env: { ARTSTORE_CONFIG_FILE: '/etc/artstore.json' },
      readFile: () =>
        JSON.stringify({ capacity_thresholds: { rw: { full: { percent: 3, bytes: 1_000_000 } } } }),
    });
    const thresholds = thresholdsFrom(config);
    expect(thresholds.rw).toEqual({ ...DEFAULT_THRESHOLDS.rw, full: { percent: 3, bytes: 1_000_000 } });
    expect(thresholds.edit).toEqual(DEFAULT_THRESHOLDS.edit);
  });

  it('refuses a percent over 100 and unknown levels', () => {
    expect(() =>
      loadConfig({
        env: { ARTSTORE_CONFIG_FILE: '/etc/artstore.json' },
        readFile: () => JSON.stringify({ capacity_thresholds: { rw: { full: { percent: 120 } }, ro: {} } }),
      }),
    ).toThrow(/capacity_thresholds/u);
  });
});

describe('loadConfig: resumable uploads', () => {
  it('stages under <data_dir>/staging, expires after a day, sweeps every 5 minutes, accepts up to 1 TiB', () => {
    const config = loadConfig({ env: { ARTSTORE_DATA_DIR: '/srv/artstore' } });
    expect(config.staging_dir).toBe('/srv/artstore/staging');
    expect(config.upload_expiry_s).toBe(86_400);
    expect(config.upload_sweep_interval_s).toBe(300);
    expect(config.max_upload_bytes).toBe(2 ** 40);
  });

  it('takes a shared staging directory and limits from the environment, and refuses nonsense', () => {
    const config = loadConfig({
      env: {
        ARTSTORE_STAGING_DIR: '/mnt/shared/staging',
        ARTSTORE_UPLOAD_EXPIRY_S: '600',
        ARTSTORE_UPLOAD_SWEEP_INTERVAL_S: '0',
        ARTSTORE_MAX_UPLOAD_BYTES: '1048576',
      },
    });
    expect(config).toMatchObject({
      staging_dir: '/mnt/shared/staging',
      upload_expiry_s: 600,
      upload_sweep_interval_s: 0,
      max_upload_bytes: 1_048_576,
    });
    let problems: readonly string[] = [];
    try {
      loadConfig({ env: { ARTSTORE_MAX_UPLOAD_BYTES: '0', ARTSTORE_UPLOAD_EXPIRY_S: 'x' } });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^upload_expiry_s \(ARTSTORE_UPLOAD_EXPIRY_S\)/u),
        expect.stringMatching(/^max_upload_bytes \(ARTSTORE_MAX_UPLOAD_BYTES\)/u),
      ]),
    );
    expect(problems).toHaveLength(2);
  });
});

describe('upload limits and collection policies', () => {
  const fromFile = (file: Record<string, unknown>, env: Record<string, string> = {}) =>
    loadConfig({
      env: { ARTSTORE_CONFIG_FILE: '/etc/artstore.json', ...env },
      readFile: () => JSON.stringify(file),
    });

  it('limits uploads to 1 TiB and has no collection policies by default', () => {
    const config = loadConfig({ env: {} });
    expect(config.max_upload_bytes).toBe(2 ** 40);
    expect(ingestSettings(config)).toMatchObject({ maxUploadBytes: 2 ** 40, collections: {} });
  });

  it('reads per-collection limits, allow-lists and compression into IngestSettings', () => {
    const config = fromFile(
      {
        max_upload_bytes: 10_000_000,
        collections: {
          scans: { max_upload_bytes: 5000, allowed_content_types: ['Image/*', 'application/pdf'] },
          logs: { compression: 'gzip' },
        },
      },
      { ARTSTORE_MAX_UPLOAD_BYTES: '20000000' },
    );
    const settings = ingestSettings(config);
    expect(settings.maxUploadBytes).toBe(20_000_000);
    expect(settings.collections).toEqual({
      scans: { maxUploadBytes: 5000, allowedContentTypes: ['image/*', 'application/pdf'], compression: null },
      logs: { maxUploadBytes: null, allowedContentTypes: null, compression: 'gzip' },
    });
    expect(policyFor(settings.collections, 'logs').compression).toBe('gzip');
    expect(policyFor(settings.collections, 'other')).toEqual({
      maxUploadBytes: null,
      allowedContentTypes: null,
      compression: null,
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a zero limit', { max_upload_bytes: 0 }, 'max_upload_bytes'],
    ['a bad collection name', { collections: { 'Bad Name': {} } }, 'collections.Bad Name'],
    [
      'a negative collection limit',
      { collections: { a: { max_upload_bytes: -1 } } },
      'collections.a.max_upload_bytes',
    ],
    [
      'a malformed type',
      { collections: { a: { allowed_content_types: ['pdf'] } } },
      'collections.a.allowed_content_types.0',
    ],
    [
      'a */subtype glob',
      { collections: { a: { allowed_content_types: ['*/pdf'] } } },
      'collections.a.allowed_content_types.0',
    ],
    [
      'an empty allow-list',
      { collections: { a: { allowed_content_types: [] } } },
      'collections.a.allowed_content_types',
    ],
    ['an unknown compression', { collections: { a: { compression: 'zstd' } } }, 'collections.a.compression'],
    ['an unknown key', { collections: { a: { max_size: 1 } } }, 'collections.a'],
  ])('refuses %s, naming it', (_label, file, key) => {
    expect(() => fromFile(file)).toThrow(key);
  });
});

describe('catalog cache settings', () => {
  it('keep 4096 entries and 1024 searches for 30 s in the process and 60 s in Redis by default', () => {
    expect(loadConfig({ env: {} })).toMatchObject({
      cache_metadata_entries: 4_096,
      cache_search_entries: 1_024,
      cache_l1_ttl_ms: 30_000,
      cache_l2_ttl_s: 60,
      cache_l2_timeout_ms: 100,
    });
  });

  it('turn off by zero sizes and TTL, and refuse a level-1 TTL that would never expire', () => {
    const off = loadConfig({
      env: {
        ARTSTORE_CACHE_METADATA_ENTRIES: '0',
        ARTSTORE_CACHE_SEARCH_ENTRIES: '0',
        ARTSTORE_CACHE_L2_TTL_S: '0',
        ARTSTORE_CACHE_L2_TIMEOUT_MS: '25',
      },
    });
    expect(off).toMatchObject({
      cache_metadata_entries: 0,
      cache_search_entries: 0,
      cache_l2_ttl_s: 0,
      cache_l2_timeout_ms: 25,
    });
    let problems: readonly string[] = [];
    try {
      loadConfig({ env: { ARTSTORE_CACHE_L1_TTL_MS: '0', ARTSTORE_CACHE_L2_TIMEOUT_MS: '0' } });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^cache_l1_ttl_ms \(ARTSTORE_CACHE_L1_TTL_MS\)/u),
      expect.stringMatching(/^cache_l2_timeout_ms \(ARTSTORE_CACHE_L2_TIMEOUT_MS\)/u),
    ]);
  });
});
