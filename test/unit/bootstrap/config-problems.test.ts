import { ConfigError, loadConfig, type ConfigSources } from '../../../src/bootstrap/config';

const SPLIT = {
  ARTSTORE_DATABASE_URL: 'postgresql://artstore@db.internal:5432/artstore',
  ARTSTORE_REDIS_URL: 'redis://cache.internal:6379',
};

function problemsOf(sources: ConfigSources): readonly string[] {
  try {
    loadConfig(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    for (const problem of problems) expect((error as ConfigError).message).toContain(problem);
    return problems;
  }
  throw new Error('expected a ConfigError, the configuration loaded');
}

/** The config key each problem names (the text before the first space or colon). */
const keysOf = (problems: readonly string[]): string[] => problems.map((p) => p.split(/[ :]/u)[0]!).sort();

describe('loadConfig problems', () => {
  it('reports every problem at once: bad port and a split role without database and redis', () => {
    const problems = problemsOf({ env: { ARTSTORE_PORT: '99999', ARTSTORE_ROLE: 'admin' } });
    expect(keysOf(problems)).toEqual(['database_url', 'port', 'redis_url']);
    expect(problems.find((p) => p.startsWith('port'))).toContain('ARTSTORE_PORT');
  });

  it.each<[string, Record<string, string>, string[]]>([
    [
      'a non-numeric port',
      { ARTSTORE_PORT: 'abc' },
      ['client_id', 'database_url', 'issuer_url', 'port', 'redis_url'],
    ],
    [
      'an unknown log level',
      { ARTSTORE_LOG_LEVEL: 'loud' },
      ['client_id', 'database_url', 'issuer_url', 'log_level', 'redis_url'],
    ],
  ])('reports %s together with the missing URLs and credentials of a split role', (_label, env, keys) => {
    expect(keysOf(problemsOf({ env: { ARTSTORE_ROLE: 'ingester', ...env } }))).toEqual(keys);
  });

  it.each<[string, Record<string, string>, string]>([
    ['an unknown role', { ARTSTORE_ROLE: 'admin,foo' }, "unknown role 'foo'"],
    ['an empty role list', { ARTSTORE_ROLE: ',' }, 'unknown role'],
    ['a port out of range', { ARTSTORE_PORT: '65536' }, 'port'],
    ['a negative port', { ARTSTORE_PORT: '-1' }, 'port'],
    ['a TTL out of bounds', { ARTSTORE_DEFAULT_TTL_DAYS: '366' }, 'default_ttl_days'],
    ['a heartbeat too short', { ARTSTORE_HEARTBEAT_MS: '10' }, 'heartbeat_ms'],
    ['a database URL of another scheme', { ARTSTORE_DATABASE_URL: 'mysql://h/db' }, 'database_url'],
    ['a redis URL of another scheme', { ARTSTORE_REDIS_URL: 'http://h' }, 'redis_url'],
    ['an unknown SE id', { ARTSTORE_SE_ID: 'nope-9' }, "no storage element 'nope-9'"],
  ])('refuses %s', (_label, env, fragment) => {
    const problems = problemsOf({ env });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(fragment);
  });

  it('requires ARTSTORE_SE_ID for a split storage role', () => {
    const problems = problemsOf({
      env: { ARTSTORE_ROLE: 'storage', ...SPLIT, ARTSTORE_ISSUER_URL: 'http://admin.internal:8000' },
    });
    expect(keysOf(problems)).toEqual(['storage_element_id']);
    expect(problems[0]).toContain('ARTSTORE_SE_ID');
  });

  it('requires the issuer URL without the admin role, and credentials for split ingester and query', () => {
    expect(keysOf(problemsOf({ env: { ARTSTORE_ROLE: 'query', ...SPLIT } }))).toEqual([
      'client_id',
      'issuer_url',
    ]);
    const storage = { ARTSTORE_ROLE: 'storage', ARTSTORE_SE_ID: 'rw-1', ...SPLIT };
    expect(keysOf(problemsOf({ env: storage }))).toEqual(['issuer_url']);
    expect(() => loadConfig({ env: { ...storage, ARTSTORE_ISSUER_URL: 'http://admin:8000' } })).not.toThrow();
    expect(() => loadConfig({ env: { ARTSTORE_ROLE: 'admin', ...SPLIT } })).not.toThrow();
  });

  it('does not require ARTSTORE_SE_ID when all roles run in one process', () => {
    expect(loadConfig({ env: {} }).storage_element_id).toBeUndefined();
  });

  it('refuses duplicate SE ids', () => {
    const problems = problemsOf({
      env: { ARTSTORE_CONFIG_FILE: '/c.json' },
      readFile: () =>
        JSON.stringify({
          storage_elements: [
            { id: 'a-1', mode: 'rw' },
            { id: 'b-1', mode: 'edit' },
            { id: 'a-1', mode: 'ro' },
          ],
        }),
    });
    expect(problems).toEqual(["storage_elements: duplicate storage element id 'a-1'"]);
  });

  it('refuses two S3 SEs whose prefixes in one bucket overlap, and takes distinct ones', () => {
    const s3 = {
      backend: 's3',
      s3_endpoint: 'http://s3:9000',
      s3_bucket: 'docs',
      s3_access_key: 'k',
      s3_secret_key: 's',
    };
    const sources = (prefixes: (string | undefined)[]): ConfigSources => ({
      env: { ARTSTORE_CONFIG_FILE: '/c.json' },
      readFile: () =>
        JSON.stringify({
          storage_elements: prefixes.map((s3_prefix, i) => ({ id: `s3-${i}`, mode: 'rw', ...s3, s3_prefix })),
        }),
    });
    expect(problemsOf(sources(['se/', 'se/a']))).toEqual([
      "storage_elements: storage elements 's3-0' and 's3-1' share bucket 'docs' with overlapping prefixes 'se/' and 'se/a/'",
    ]);
    expect(problemsOf(sources(['', undefined]))).toHaveLength(1);
    expect(() => loadConfig(sources(['a', 'ab', undefined]))).not.toThrow();
  });

  it('refuses an SE defined by ARTSTORE_SE_* that duplicates one from the file', () => {
    const problems = problemsOf({
      env: { ARTSTORE_CONFIG_FILE: '/c.json', ARTSTORE_SE_ID: 'rw-1', ARTSTORE_SE_MODE: 'rw' },
      readFile: () => JSON.stringify({ storage_elements: [{ id: 'rw-1', mode: 'rw' }] }),
    });
    expect(keysOf(problems)).toEqual(['storage_elements']);
  });

  it.each<[string, string, string]>([
    ['torn JSON', '{"port": 1', 'config file /c.json:'],
    ['a JSON array', '[1]', 'config file /c.json: expected a JSON object'],
    ['JSON null', 'null', 'config file /c.json: expected a JSON object'],
  ])('reports a config file with %s, together with env problems', (_label, text, fragment) => {
    const problems = problemsOf({
      env: { ARTSTORE_CONFIG_FILE: '/c.json', ARTSTORE_PORT: '70000' },
      readFile: () => text,
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(fragment);
    expect(problems[1]).toMatch(/^port/u);
  });

  it('reports an unreadable config file', () => {
    const problems = problemsOf({
      env: {},
      flags: { config: '/missing.json' },
      readFile: () => {
        throw new Error('ENOENT: no such file');
      },
    });
    expect(problems).toEqual(['config file /missing.json: ENOENT: no such file']);
  });

  it('reports invalid SE fields with their path', () => {
    const problems = problemsOf({
      env: { ARTSTORE_CONFIG_FILE: '/c.json' },
      readFile: () => JSON.stringify({ storage_elements: [{ id: 'Bad_Id', mode: 'hot' }] }),
    });
    expect(keysOf(problems)).toEqual(['storage_elements.0.id', 'storage_elements.0.mode']);
  });
});
