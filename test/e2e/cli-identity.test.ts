import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, runCli, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, clientToken, type ClientCredentials } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { requireInfrastructure } from '../support/infrastructure';
import { eventually } from '../support/poll';

afterAll(killAll);

interface AccountJson {
  client_id: string;
  client_secret?: string;
  name: string;
  scopes: string[];
  collections: Record<string, string[]>;
  internal: boolean;
  secret_expires_at: string;
}

const DAY_MS = 86_400_000;

/** RFC 6749 §4.4 with HTTP Basic; the raw answer, for refusals. */
function tokenRequest(url: string, credentials: ClientCredentials): Promise<Response> {
  const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64');
  return anonymousFetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
}

async function searchStatus(url: string, credentials: ClientCredentials): Promise<number> {
  const token = await clientToken(url, credentials);
  const response = await anonymousFetch(`${url}/api/v1/search?q=x`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.body?.cancel();
  return response.status;
}

async function jwksKids(url: string): Promise<string[]> {
  const response = await anonymousFetch(`${url}/.well-known/jwks.json`);
  return ((await response.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

/** One line on stderr, no stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(pattern);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /mu);
}

describe('artstore accounts and keys (offline, on the database)', () => {
  let db: TestDatabase;
  let dir: string;
  let dataDir: string;
  let env: Record<string, string>;
  let server: ArtStoreProcess | null = null;
  const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir], env);

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'artstore-cli-id-'));
    dataDir = join(dir, 'data');
    // Shared Redis: the CLI announces account changes, so the server drops its cached copy.
    env = {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_REDIS_URL: requireInfrastructure('redis'),
      ARTSTORE_REDIS_PREFIX: `artstore-cli-${randomBytes(4).toString('hex')}:`,
    };
  });

  afterAll(async () => {
    await server?.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates an account whose secret works, lists without secrets, rotates the secret and the signing key', async () => {
    expect((await cli('migrate')).code).toBe(0);

    const created = await cli(
      'accounts',
      'create',
      '--name',
      'ci bot',
      '--scopes',
      'files:read,files:write,admin:read',
      '--collections',
      'files:write=docs-*|archive',
      '--secret-ttl-days',
      '30',
    );
    expect(created).toMatchObject({ code: 0, stderr: expect.not.stringMatching(/secret/u) as unknown });
    const account = JSON.parse(created.stdout) as AccountJson;
    expect(account).toMatchObject({
      name: 'ci bot',
      scopes: ['files:read', 'files:write', 'admin:read'],
      collections: { 'files:write': ['docs-*', 'archive'] },
      internal: false,
    });
    expect(account.client_id).toMatch(/^sa_/u);
    expect(account.client_secret).toEqual(expect.any(String));
    expect(Date.parse(account.secret_expires_at) - Date.now()).toBeGreaterThan(29 * DAY_MS);
    expect(Date.parse(account.secret_expires_at) - Date.now()).toBeLessThan(31 * DAY_MS);
    const first = { clientId: account.client_id, clientSecret: account.client_secret! };

    const internal = await cli(
      'accounts',
      'create',
      '--name',
      'role',
      '--scopes',
      'storage:read',
      '--internal',
    );
    expect(internal.code).toBe(0);
    expect(JSON.parse(internal.stdout)).toMatchObject({ internal: true, scopes: ['storage:read'] });

    server = await startServe(['--data-dir', dataDir], env);
    expect(await searchStatus(server.url, first)).toBe(200);

    const listed = await cli('accounts', 'list');
    expect(listed.code).toBe(0);
    const accounts = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AccountJson);
    expect(accounts.map((a) => a.client_id)).toEqual(expect.arrayContaining([first.clientId]));
    expect(listed.stdout).not.toContain(first.clientSecret);
    expect(listed.stdout).not.toMatch(/secret_hash|secretHash|client_secret|scrypt/u);
    const limited = await cli('accounts', 'list', '--limit', '1');
    expect(limited.stdout.trim().split('\n')).toHaveLength(1);

    const rotated = await cli('accounts', 'rotate-secret', first.clientId, '--secret-ttl-days', '7');
    expect(rotated.code).toBe(0);
    const after = JSON.parse(rotated.stdout) as AccountJson;
    expect(after.client_id).toBe(first.clientId);
    expect(after.client_secret).not.toBe(first.clientSecret);
    const refused = await tokenRequest(server.url, first);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    expect(await searchStatus(server.url, { ...first, clientSecret: after.client_secret! })).toBe(200);

    const before = await jwksKids(server.url);
    const rotatedKey = await cli('keys', 'rotate');
    expect(rotatedKey.code).toBe(0);
    const key = JSON.parse(rotatedKey.stdout) as { kid: string; activates_at: string };
    expect(before).not.toContain(key.kid);
    // The server's publish lead (default 600 s) is the successor's wait before it signs.
    expect(Date.parse(key.activates_at) - Date.now()).toBeGreaterThan(500_000);
    // The server caches its key set for 5 s.
    const kids = await eventually(
      () => jwksKids(server!.url),
      (k) => k.includes(key.kid),
      8_000,
    );
    expect(kids).toHaveLength(before.length + 1);
    expect(kids).toContain(key.kid);

    // A master key made up elsewhere would seal a key the server cannot open.
    const noMasterKey = await runCli(['keys', 'rotate', '--data-dir', join(dir, 'elsewhere')], env);
    expect(noMasterKey).toMatchObject({ code: 1, stdout: '' });
    expectOneLineError(noMasterKey.stderr, /no master key/u);
  });

  it('refuses bad usage with one line and exit code 2, and refused requests with 1', async () => {
    const [unknownSub, noName, unknownScope, storageScope, unknownAccount, noSub, help] = await Promise.all([
      cli('accounts', 'frobnicate'),
      cli('accounts', 'create', '--scopes', 'files:read'),
      cli('accounts', 'create', '--name', 'x', '--scopes', 'files:read,files:fly'),
      cli('accounts', 'create', '--name', 'x', '--scopes', 'files:read,storage:write'),
      cli('accounts', 'rotate-secret', 'sa_nobody'),
      cli('keys'),
      runCli(['--help']),
    ]);
    expect(unknownSub.code).toBe(2);
    expectOneLineError(unknownSub.stderr, /unknown subcommand 'accounts frobnicate'/u);
    expect(noName.code).toBe(2);
    expectOneLineError(noName.stderr, /needs --name/u);
    expect(unknownScope.code).toBe(2);
    expectOneLineError(unknownScope.stderr, /unknown scope 'files:fly'/u);
    expect(storageScope.code).toBe(1);
    expectOneLineError(storageScope.stderr, /invalid_request: storage:write belong to the roles' internal/u);
    expect(unknownAccount.code).toBe(1);
    expectOneLineError(unknownAccount.stderr, /account_not_found/u);
    expect(noSub.code).toBe(2);
    expectOneLineError(noSub.stderr, /keys needs a subcommand: rotate/u);
    for (const result of [unknownSub, noName, unknownScope, storageScope, unknownAccount, noSub]) {
      expect(result.stdout).toBe('');
    }
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('artstore accounts create --name NAME --scopes');
    expect(help.stdout).toContain('artstore keys rotate');
  });
});
