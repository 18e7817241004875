import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymousFetch, signInAsBootstrapAdmin } from '../support/auth';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, json } from '../support/http';

afterAll(killAll);

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  scope: string;
  expires_in: number;
  user: { id: string; username: string; role: string };
}

/** People (issue 3): login, refresh rotation, logout, lockout, roles, admin management. */
describe('users over HTTP (--role all)', () => {
  let proc: ArtStoreProcess;
  let db: TestDatabase;
  let dataDir: string;
  let base: string;
  let adminPassword: string;

  const post = (path: string, body: unknown, token?: string): Promise<Response> =>
    anonymousFetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const get = (path: string, token: string): Promise<Response> =>
    anonymousFetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const login = async (username: string, password: string): Promise<TokenAnswer> => {
    const response = await post('/api/v1/auth/login', { username, password });
    expect(response.status).toBe(200);
    return json<TokenAnswer>(response);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-users-'));
    proc = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
    base = proc.url;
    await signInAsBootstrapAdmin(base, dataDir);
    const file = join(dataDir, 'bootstrap-credentials.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(await readFile(file, 'utf8')) as {
      admin_user: { username: string; password: string };
    };
    expect(credentials.admin_user.username).toBe('admin');
    adminPassword = credentials.admin_user.password;
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('signs the bootstrap admin in for a short token without the internal storage scopes', async () => {
    const answer = await login('Admin', adminPassword);
    expect(answer.expires_in).toBe(900);
    expect(answer.scope.split(' ')).toEqual(expect.arrayContaining(['admin:write', 'files:read']));
    expect(answer.scope).not.toContain('storage:');
    expect((await get('/api/v1/admin/users', answer.access_token)).status).toBe(200);
    await expectProblem(
      await get('/internal/v1/storage-elements/rw-1/info', answer.access_token),
      403,
      'forbidden',
    );
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const first = await login('admin', adminPassword);
    const second = await json<TokenAnswer>(
      await post('/api/v1/auth/refresh', { refresh_token: first.refresh_token }),
    );
    expect(second.refresh_token).not.toBe(first.refresh_token);
    await expectProblem(
      await post('/api/v1/auth/refresh', { refresh_token: first.refresh_token }),
      400,
      'invalid_grant',
    );
    // The reuse ended the family: the newest token is dead too.
    await expectProblem(
      await post('/api/v1/auth/refresh', { refresh_token: second.refresh_token }),
      400,
      'invalid_grant',
    );
  });

  it('logs out server-side', async () => {
    const session = await login('admin', adminPassword);
    expect((await post('/api/v1/auth/logout', { refresh_token: session.refresh_token })).status).toBe(204);
    await expectProblem(
      await post('/api/v1/auth/refresh', { refresh_token: session.refresh_token }),
      400,
      'invalid_grant',
    );
  });

  it('enforces the password policy and roles, and applies a role change to tokens already issued', async () => {
    const admin = (await login('admin', adminPassword)).access_token;
    const weak = await post(
      '/api/v1/admin/users',
      { username: 'weak', password: 'password1234', role: 'readonly' },
      admin,
    );
    await expectProblem(weak, 400, 'weak_password');
    const created = await post(
      '/api/v1/admin/users',
      { username: 'reader', password: 'a long enough passphrase 7', role: 'readonly' },
      admin,
    );
    expect(created.status).toBe(201);
    const reader = await json<{ id: string }>(created);
    const session = await login('reader', 'a long enough passphrase 7');
    expect((await get('/api/v1/search?q=x', session.access_token)).status).toBe(200);
    await expectProblem(
      await post(
        '/api/v1/admin/users',
        { username: 'x2', password: 'another passphrase 99', role: 'admin' },
        session.access_token,
      ),
      403,
      'forbidden',
    );
    const upload = await anonymousFetch(`${base}/api/v1/files?name=a.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.access_token}`, 'content-type': 'text/plain' },
      body: 'x',
    });
    await expectProblem(upload, 403, 'forbidden');
    expect(upload.headers.get('www-authenticate')).toContain('insufficient_scope');
    // Promoted: the same token may now do what an operator may, within the scopes it carries.
    const patched = await anonymousFetch(`${base}/api/v1/admin/users/${reader.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'operator' }),
    });
    expect(patched.status).toBe(200);
    const reset = await post(
      `/api/v1/admin/users/${reader.id}/reset-password`,
      { password: 'a brand new passphrase 8' },
      admin,
    );
    expect(reset.status).toBe(200);
    await expectProblem(
      await post('/api/v1/auth/refresh', { refresh_token: session.refresh_token }),
      400,
      'invalid_grant',
    );
    await login('reader', 'a brand new passphrase 8');
  });

  it('locks an account after five failures, with Retry-After, whatever the password then', async () => {
    const admin = (await login('admin', adminPassword)).access_token;
    expect(
      (
        await post(
          '/api/v1/admin/users',
          { username: 'victim', password: 'correct staple battery 2026', role: 'readonly' },
          admin,
        )
      ).status,
    ).toBe(201);
    for (let i = 0; i < 5; i++) {
      await expectProblem(
        await post('/api/v1/auth/login', { username: 'victim', password: `guess-${i}` }),
        401,
        'invalid_credentials',
      );
    }
    const locked = await post('/api/v1/auth/login', {
      username: 'victim',
      password: 'correct staple battery 2026',
    });
    await expectProblem(locked, 423, 'account_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers an unknown user like a wrong password, and limits failures per username and source', async () => {
    for (let i = 0; i < 10; i++) {
      await expectProblem(
        await post('/api/v1/auth/login', { username: 'nobody', password: `guess-${i}` }),
        401,
        'invalid_credentials',
      );
    }
    const limited = await post('/api/v1/auth/login', { username: 'nobody', password: 'guess-10' });
    await expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
