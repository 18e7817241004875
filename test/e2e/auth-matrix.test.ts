import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, bootstrapCredentials, clientToken, type ClientCredentials } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';

afterAll(killAll);

type Endpoint =
  | 'upload'
  | 'metadata'
  | 'patch'
  | 'legal hold'
  | 'content'
  | 'search'
  | 'fixity'
  | 'se list'
  | 'se mode'
  | 'se info'
  | 'se reconcile'
  | 'se scrub start'
  | 'se scrub status'
  | 'account create'
  | 'account list'
  | 'account get'
  | 'account patch'
  | 'account suspend'
  | 'account activate'
  | 'account rotate'
  | 'account delete'
  | 'keys list'
  | 'keys rotate'
  | 'se internal info';

const ENDPOINTS: readonly Endpoint[] = [
  'upload',
  'metadata',
  'patch',
  'legal hold',
  'content',
  'search',
  'fixity',
  'se list',
  'se mode',
  'se info',
  'se reconcile',
  'se scrub start',
  'se scrub status',
  'account create',
  'account list',
  'account get',
  'account patch',
  'account suspend',
  'account activate',
  'account rotate',
  'account delete',
  'keys list',
  'keys rotate',
  'se internal info',
];

/** Expected status per endpoint; anything not listed is expected to be `otherwise`. */
const row = (
  otherwise: number,
  exceptions: Partial<Record<Endpoint, number>> = {},
): Record<Endpoint, number> =>
  Object.fromEntries(ENDPOINTS.map((e) => [e, exceptions[e] ?? otherwise])) as Record<Endpoint, number>;

const ADMIN_ENDPOINTS: readonly Endpoint[] = ENDPOINTS.filter(
  (e) => e.startsWith('account') || e.startsWith('keys') || (e.startsWith('se ') && e !== 'se internal info'),
);

/**
 * Who may do what on an all-in-one server: every principal against every protected endpoint.
 * A cell is the status the server answered; the table of expectations is the authorization policy
 * (ARCHITECTURE §6). No unauthorized cell may be a 2xx, and every permitted cell must be.
 */
describe('authorization matrix (--role all)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: ArtStoreProcess;
  let base: string;
  let adminToken: string;
  const word = `matrix${randomBytes(4).toString('hex')}`;
  /** A file in collection 'default', uploaded by the bootstrap admin. */
  let fileId: string;
  /** A permanent file in 'default' (a legal hold needs one). */
  let heldId: string;
  /** The account every denied principal tries to change; it must come out untouched. */
  let victim: ClientCredentials;

  const SE = 'rw-1';
  const bearer = (token: string | null): Record<string, string> =>
    token === null ? {} : { authorization: `Bearer ${token}` };
  const send = (
    path: string,
    token: string | null,
    init: { method?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> =>
    anonymousFetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...bearer(token),
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
    });

  const upload = (
    token: string | null,
    collection: string,
    name = `${word}-${collection}.txt`,
    retention_policy = 'temporary',
  ) =>
    send(`/api/v1/files?${new URLSearchParams({ name, collection, retention_policy }).toString()}`, token, {
      method: 'POST',
      body: `content of ${name}`,
      headers: { 'content-type': 'text/plain' },
    });

  const admin = async (path: string, init: Parameters<typeof send>[2] = {}): Promise<Response> =>
    send(path, adminToken, init);

  const createAccount = async (settings: Record<string, unknown>): Promise<ClientCredentials> => {
    const response = await admin('/api/v1/admin/service-accounts', { method: 'POST', json: settings });
    const body = (await response.json()) as { client_id?: string; client_secret?: string };
    if (response.status !== 201)
      throw new Error(`creating an account: ${response.status} ${JSON.stringify(body)}`);
    return { clientId: body.client_id!, clientSecret: body.client_secret! };
  };

  /** Calls one endpoint as `token`; account endpoints act on `target`. */
  const callAs = (endpoint: Endpoint, token: string | null, target: string): Promise<Response> => {
    const accounts = '/api/v1/admin/service-accounts';
    switch (endpoint) {
      case 'upload':
        return upload(token, 'default');
      case 'metadata':
        return send(`/api/v1/files/${fileId}`, token);
      case 'patch':
        // The same tags every time: a no-op after the first permitted call.
        return send(`/api/v1/files/${fileId}`, token, { method: 'PATCH', json: { tags: ['matrix'] } });
      case 'legal hold':
        return send(`/api/v1/files/${heldId}/legal-hold`, token, {
          method: 'PUT',
          json: { reason: 'authorization matrix' },
        });
      case 'content':
        return send(`/api/v1/files/${fileId}/content`, token);
      case 'search':
        return send(`/api/v1/search?q=${word}`, token);
      case 'fixity':
        return send(`/api/v1/files/${fileId}/fixity`, token);
      case 'se list':
        return send('/api/v1/storage-elements', token);
      case 'se info':
        return send(`/api/v1/storage-elements/${SE}/info`, token);
      case 'se reconcile':
        // Report only: harmless when permitted.
        return send(`/api/v1/storage-elements/${SE}/reconcile`, token, { method: 'POST', json: {} });
      case 'se scrub start':
        return send(`/api/v1/storage-elements/${SE}/scrub`, token, { method: 'POST', json: {} });
      case 'se scrub status':
        return send(`/api/v1/storage-elements/${SE}/scrub`, token);
      case 'se mode':
        // The same mode: a no-op when permitted, so the table can run in any order.
        return send(`/api/v1/storage-elements/${SE}/mode`, token, { method: 'POST', json: { mode: 'rw' } });
      case 'account create':
        return send(accounts, token, {
          method: 'POST',
          json: { name: `created by ${String(token).slice(-6)}`, scopes: ['files:read'] },
        });
      case 'account list':
        return send(accounts, token);
      case 'account get':
        return send(`${accounts}/${target}`, token);
      case 'account patch':
        return send(`${accounts}/${target}`, token, {
          method: 'PATCH',
          json: { name: 'renamed by an intruder' },
        });
      case 'account suspend':
        return send(`${accounts}/${target}/suspend`, token, { method: 'POST' });
      case 'account activate':
        return send(`${accounts}/${target}/activate`, token, { method: 'POST' });
      case 'account rotate':
        return send(`${accounts}/${target}/rotate-secret`, token, { method: 'POST', json: {} });
      case 'account delete':
        return send(`${accounts}/${target}`, token, { method: 'DELETE' });
      case 'keys list':
        return send('/api/v1/admin/keys', token);
      case 'keys rotate':
        return send('/api/v1/admin/keys/rotate', token, { method: 'POST' });
      case 'se internal info':
        return send(`/internal/v1/storage-elements/${SE}/info`, token);
    }
  };

  interface Cell {
    status: number;
    challenge: string | null;
    code: string | null;
  }

  /** Every endpoint in table order (sequential: the account endpoints build on each other). */
  const sweep = async (token: string | null, target: string): Promise<Record<Endpoint, Cell>> => {
    const cells = {} as Record<Endpoint, Cell>;
    for (const endpoint of ENDPOINTS) {
      const response = await callAs(endpoint, token, target);
      const text = await response.text();
      let code: string | null = null;
      try {
        code = (JSON.parse(text) as { code?: string }).code ?? null;
      } catch {
        code = null;
      }
      cells[endpoint] = {
        status: response.status,
        challenge: response.headers.get('www-authenticate'),
        code,
      };
    }
    return cells;
  };
  const statuses = (cells: Record<Endpoint, Cell>): Record<Endpoint, number> =>
    Object.fromEntries(ENDPOINTS.map((e) => [e, cells[e].status])) as Record<Endpoint, number>;
  const unauthorizedSuccesses = (cells: Record<Endpoint, Cell>, permitted: readonly Endpoint[] = []) =>
    ENDPOINTS.filter((e) => !permitted.includes(e) && cells[e].status < 300);

  const searchIds = async (token: string): Promise<string[]> => {
    const response = await send(`/api/v1/search?q=${word}`, token);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: { file_id: string }[] }).items.map((f) => f.file_id);
  };

  /** The victim is exactly as created: same name, active, not deleted, its secret unchanged. */
  const expectVictimUntouched = async (): Promise<void> => {
    const response = await admin(`/api/v1/admin/service-accounts/${victim.clientId}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: 'victim', status: 'active' });
    await expect(clientToken(base, victim)).resolves.toEqual(expect.any(String));
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-matrix-'));
    server = await startServe(['--role', 'all', '--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
    base = server.url;
    adminToken = await clientToken(base, await bootstrapCredentials(dataDir));
    const uploaded = await upload(adminToken, 'default');
    expect(uploaded.status).toBe(201);
    fileId = ((await uploaded.json()) as { file_id: string }).file_id;
    const permanent = await upload(adminToken, 'default', 'legal-hold-target.txt', 'permanent');
    expect(permanent.status).toBe(201);
    heldId = ((await permanent.json()) as { file_id: string }).file_id;
    victim = await createAccount({ name: 'victim', scopes: ['files:read'] });
  });

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('no token: 401 with a Bearer challenge everywhere', async () => {
    const cells = await sweep(null, victim.clientId);
    expect(statuses(cells)).toEqual(row(401));
    for (const e of ENDPOINTS) {
      expect({ e, challenge: cells[e].challenge }).toEqual({ e, challenge: 'Bearer realm="artstore"' });
      expect({ e, code: cells[e].code }).toEqual({ e, code: 'unauthenticated' });
    }
    await expectVictimUntouched();
  });

  it('a token without any needed scope (audit:read only): 403 insufficient_scope everywhere', async () => {
    const token = await clientToken(base, await createAccount({ name: 'auditor', scopes: ['audit:read'] }));
    const cells = await sweep(token, victim.clientId);
    expect(unauthorizedSuccesses(cells)).toEqual([]);
    expect(statuses(cells)).toEqual(row(403));
    for (const e of ENDPOINTS) {
      expect({ e, code: cells[e].code }).toEqual({ e, code: 'forbidden' });
      expect({ e, challenge: cells[e].challenge }).toEqual({
        e,
        challenge: expect.stringMatching(
          /^Bearer realm="artstore", error="insufficient_scope", scope="[a-z:]+"$/u,
        ),
      });
    }
    expect(cells['se internal info'].challenge).toContain('scope="storage:read"');
    expect(cells.upload.challenge).toContain('scope="files:write"');
    expect(cells['keys rotate'].challenge).toContain('scope="admin:write"');
    await expectVictimUntouched();
  });

  it('a readonly user (a person signed in): reads and admin reads only', async () => {
    const created = await admin('/api/v1/admin/users', {
      method: 'POST',
      json: { username: 'reader', password: 'a readonly passphrase 42', role: 'readonly' },
    });
    expect(created.status).toBe(201);
    const login = await anonymousFetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reader', password: 'a readonly passphrase 42' }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { access_token: string }).access_token;
    const cells = await sweep(token, victim.clientId);
    const permitted: Endpoint[] = [
      'metadata',
      'content',
      'search',
      'fixity',
      'se list',
      'se info',
      'se scrub status',
      'account list',
      'account get',
      'keys list',
    ];
    expect(unauthorizedSuccesses(cells, permitted)).toEqual([]);
    expect(statuses(cells)).toEqual(row(403, Object.fromEntries(permitted.map((e) => [e, 200]))));
    await expectVictimUntouched();
  });

  it('the admin token narrowed to files:read: reads only', async () => {
    const token = await clientToken(base, await bootstrapCredentials(dataDir), 'files:read');
    const cells = await sweep(token, victim.clientId);
    const permitted: Endpoint[] = ['metadata', 'content', 'search', 'fixity'];
    expect(unauthorizedSuccesses(cells, permitted)).toEqual([]);
    expect(statuses(cells)).toEqual(row(403, { metadata: 200, content: 200, search: 200, fixity: 200 }));
    expect(await searchIds(token)).toContain(fileId);
    await expectVictimUntouched();
  });

  it("an account limited to collections 'other-*': other collections do not exist for it", async () => {
    const limited = await createAccount({
      name: 'other team',
      scopes: ['files:read', 'files:write'],
      collections: { 'files:read': ['other-*'], 'files:write': ['other-*'] },
    });
    const token = await clientToken(base, limited);
    const cells = await sweep(token, victim.clientId);
    expect(unauthorizedSuccesses(cells, ['search'])).toEqual([]);
    expect(statuses(cells)).toEqual(
      row(403, { metadata: 404, patch: 404, content: 404, search: 200, fixity: 404 }),
    );
    expect(cells.metadata.code).toBe('file_not_found');
    expect(cells.patch.code).toBe('file_not_found');
    expect(cells['legal hold'].challenge).toContain('scope="files:legal_hold"');
    expect(cells.fixity.code).toBe('file_not_found');
    expect(cells.content.code).toBe('file_not_found');
    expect(cells.upload.code).toBe('forbidden');
    // Indistinguishable from a file that does not exist.
    const missing = await send(`/api/v1/files/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, token);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('file_not_found');

    const own = await upload(token, 'other-team');
    expect(own.status).toBe(201);
    const ownId = ((await own.json()) as { file_id: string }).file_id;
    expect((await send(`/api/v1/files/${ownId}`, token)).status).toBe(200);
    expect((await send(`/api/v1/files/${ownId}/content`, token)).status).toBe(200);
    expect(await searchIds(token)).toEqual([ownId]);
    // The admin sees both: the search above omitted the file for want of a grant, not by chance.
    expect((await searchIds(adminToken)).sort()).toEqual([fileId, ownId].sort());
    await expectVictimUntouched();
  });

  it("a suspended account's unexpired token is refused at once, and accepted again after activation", async () => {
    const account = await createAccount({
      name: 'soon suspended',
      scopes: ['files:read', 'files:write', 'admin:read'],
    });
    const token = await clientToken(base, account);
    expect((await send(`/api/v1/search?q=${word}`, token)).status).toBe(200);
    const suspended = await admin(`/api/v1/admin/service-accounts/${account.clientId}/suspend`, {
      method: 'POST',
    });
    expect(suspended.status).toBe(200);

    const cells = await sweep(token, victim.clientId);
    expect(unauthorizedSuccesses(cells)).toEqual([]);
    expect(statuses(cells)).toEqual(row(401));
    for (const e of ENDPOINTS)
      expect({ e, challenge: cells[e].challenge }).toEqual({
        e,
        challenge: expect.stringContaining('error="invalid_token"'),
      });
    // Nor can it obtain a new one.
    await expect(clientToken(base, account)).rejects.toThrow(/401.*invalid_client/u);

    expect(
      (await admin(`/api/v1/admin/service-accounts/${account.clientId}/activate`, { method: 'POST' })).status,
    ).toBe(200);
    expect((await send(`/api/v1/search?q=${word}`, token)).status).toBe(200);
    await expectVictimUntouched();
  });

  it('an ordinary account cannot hold, request or use the storage scopes', async () => {
    const refused = await admin('/api/v1/admin/service-accounts', {
      method: 'POST',
      json: { name: 'wants storage', scopes: ['files:read', 'storage:read', 'storage:write'] },
    });
    expect(refused.status).toBe(400);
    const ordinary = await createAccount({ name: 'ordinary', scopes: ['files:read', 'files:write'] });
    // Nor can the scopes be added later.
    const widened = await admin(`/api/v1/admin/service-accounts/${ordinary.clientId}`, {
      method: 'PATCH',
      json: { scopes: ['files:read', 'storage:read'] },
    });
    expect(widened.status).toBe(400);
    await expect(clientToken(base, ordinary, 'storage:read storage:write')).rejects.toThrow(
      /400.*invalid_scope/u,
    );

    const token = await clientToken(base, ordinary);
    const cells = await sweep(token, victim.clientId);
    const permitted: Endpoint[] = ['upload', 'metadata', 'patch', 'content', 'search', 'fixity'];
    expect(unauthorizedSuccesses(cells, permitted)).toEqual([]);
    expect(statuses(cells)).toEqual(
      row(403, { upload: 201, metadata: 200, patch: 200, content: 200, search: 200, fixity: 200 }),
    );
    expect(cells['legal hold'].challenge).toContain('scope="files:legal_hold"');
    expect(cells['se internal info'].challenge).toContain('scope="storage:read"');
    await expectVictimUntouched();
  });

  it("a role's internal account reaches the storage internal API and nothing else", async () => {
    const internal = await createAccount({
      name: 'role',
      scopes: ['storage:read', 'storage:write'],
      internal: true,
    });
    const cells = await sweep(await clientToken(base, internal), victim.clientId);
    expect(unauthorizedSuccesses(cells, ['se internal info'])).toEqual([]);
    expect(statuses(cells)).toEqual(row(403, { 'se internal info': 200 }));
    await expectVictimUntouched();
  });

  it('the bootstrap admin: everything but the storage internal API', async () => {
    const disposable = await createAccount({ name: 'disposable', scopes: ['files:read'] });
    const cells = await sweep(adminToken, disposable.clientId);
    expect(statuses(cells)).toEqual(
      row(200, {
        upload: 201,
        'account create': 201,
        'keys rotate': 201,
        'account delete': 204,
        'se scrub start': 202,
        'se internal info': 403,
      }),
    );
    for (const e of ADMIN_ENDPOINTS) expect({ e, ok: cells[e].status < 300 }).toEqual({ e, ok: true });
    // The disposable account went through patch, suspend, activate, rotate and delete.
    expect((await admin(`/api/v1/admin/service-accounts/${disposable.clientId}`)).status).toBe(404);
    await expect(clientToken(base, disposable)).rejects.toThrow(/401/u);
    await expectVictimUntouched();
  });
});
