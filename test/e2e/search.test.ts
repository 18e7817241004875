import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, bootstrapCredentials, clientToken } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, json } from '../support/http';

afterAll(killAll);

interface Hit {
  file_id: string;
  name: string;
  collection: string;
  rank: number | null;
  snippet: string | null;
}
interface Facet {
  value: string;
  count: number;
}
interface SearchBody {
  items: Hit[];
  next_cursor: string | null;
  facets: { content_type: Facet[]; retention: Facet[] } | null;
}

/** Search over HTTP on an all-in-one server: syntax, filters, paging, facets and grants. */
describe('GET /api/v1/search (--role all)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let server: ArtStoreProcess;
  let adminToken: string;
  let teamToken: string;

  const get = (path: string, token: string): Promise<Response> =>
    anonymousFetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const search = async (params: Record<string, string>, token = adminToken): Promise<SearchBody> => {
    const response = await get(`/api/v1/search?${new URLSearchParams(params).toString()}`, token);
    if (response.status !== 200)
      throw new Error(`search answered ${response.status}: ${await response.text()}`);
    return json<SearchBody>(response);
  };
  const upload = async (
    name: string,
    collection: string,
    fields: Record<string, string> = {},
    type = 'application/pdf',
  ): Promise<void> => {
    const query = new URLSearchParams({ name, collection, ...fields }).toString();
    const response = await anonymousFetch(`${server.url}/api/v1/files?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': type },
      body: `content of ${name}`,
    });
    if (response.status !== 201)
      throw new Error(`upload answered ${response.status}: ${await response.text()}`);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-search-'));
    server = await startServe(['--role', 'all', '--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
    adminToken = await clientToken(server.url, await bootstrapCredentials(dataDir));
    await upload('Договор поставки.pdf', 'team-a', { description: 'подписан', tags: 'legal,2026' });
    await upload('Annual report 2026.pdf', 'team-a', { retention_policy: 'permanent', tags: 'finance' });
    await upload('report draft.txt', 'team-a', {}, 'text/plain');
    await upload('Договоры архив.pdf', 'secret', { retention_policy: 'permanent', tags: 'legal' });
    await upload('secret report.txt', 'secret', {}, 'text/plain');
    const response = await anonymousFetch(`${server.url}/api/v1/admin/service-accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'team a reader',
        scopes: ['files:read'],
        collections: { 'files:read': ['team-*'] },
      }),
    });
    const account = await json<{ client_id: string; client_secret: string }>(response);
    teamToken = await clientToken(server.url, {
      clientId: account.client_id,
      clientSecret: account.client_secret,
    });
  });

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('finds words in any form, ranks and marks them, and counts facets', async () => {
    const body = await search({ q: 'договор', facets: 'true' });
    expect(body.items.map((h) => h.name).sort()).toEqual(['Договор поставки.pdf', 'Договоры архив.pdf']);
    expect(body.items.every((h) => (h.rank ?? 0) > 0)).toBe(true);
    expect(body.items.map((h) => h.snippet).join(' ')).toMatch(/<mark>Договор<\/mark> поставки/u);
    expect(body.next_cursor).toBeNull();
    expect(body.facets).toEqual({
      content_type: [{ value: 'application/pdf', count: 2 }],
      retention: [
        { value: 'permanent', count: 1 },
        { value: 'temporary', count: 1 },
      ],
    });
    expect((await search({ q: 'reports -secret' })).items.map((h) => h.name).sort()).toEqual([
      'Annual report 2026.pdf',
      'report draft.txt',
    ]);
  });

  it('shows a principal only the collections it is granted, in results and in facet counts', async () => {
    const body = await search({ q: 'report or договоры', facets: 'true' }, teamToken);
    expect(body.items.map((h) => `${h.collection}/${h.name}`).sort()).toEqual([
      'team-a/Annual report 2026.pdf',
      'team-a/report draft.txt',
      'team-a/Договор поставки.pdf',
    ]);
    expect(body.facets).toEqual({
      content_type: [
        { value: 'application/pdf', count: 2 },
        { value: 'text/plain', count: 1 },
      ],
      retention: [
        { value: 'temporary', count: 2 },
        { value: 'permanent', count: 1 },
      ],
    });
    // Asking for a collection outside the grant narrows further; it never widens.
    expect((await search({ q: 'report', collection: 'secret' }, teamToken)).items).toEqual([]);
    expect((await search({ q: 'report', collection: 'secret' })).items.map((h) => h.name)).toEqual([
      'secret report.txt',
    ]);
  });

  it('filters and sorts from the query string, and pages with next_cursor', async () => {
    const legal = await search({ tags: 'legal,finance', tags_mode: 'any', sort: 'name' });
    expect(legal.items.map((h) => h.name)).toEqual([
      'Annual report 2026.pdf',
      'Договор поставки.pdf',
      'Договоры архив.pdf',
    ]);
    expect(legal.items.every((h) => h.rank === null && h.snippet === null)).toBe(true);
    const filtered = await search({ content_type: 'text/plain', retention: 'temporary', sort: 'size' });
    expect(filtered.items.map((h) => h.name)).toEqual(['secret report.txt', 'report draft.txt']);

    const names: string[] = [];
    let cursor: string | null = null;
    let cursorOfNameSort = '';
    do {
      const page: SearchBody = await search({ sort: 'name', limit: '2', ...(cursor ? { cursor } : {}) });
      names.push(...page.items.map((h) => h.name));
      cursor = page.next_cursor;
      if (cursor) cursorOfNameSort = cursor;
    } while (cursor !== null);
    expect(names).toHaveLength(5);
    expect(names).toEqual([...names].sort());

    const wrongSort = await get(`/api/v1/search?sort=date&cursor=${cursorOfNameSort}`, adminToken);
    const problem = await expectProblem(wrongSort, 400, 'invalid_cursor');
    expect(problem.detail).toMatch(/sorted by name/u);
  });

  it.each([
    ['sort=sideways', 'sort'],
    ['order=up', 'order'],
    ['size_min=10&size_max=5', 'size_max'],
    ['uploaded_from=yesterday', 'uploaded_from'],
    ['expires_from=2026-02-01&expires_to=2026-01-01', 'expires_to'],
    ['status=active,gone', 'status'],
    ['tags_mode=some', 'tags_mode'],
    ['facets=yes', 'facets'],
    ['sort=relevance&order=asc', 'order'],
    ['limit=0', 'limit'],
    ['colour=red', 'colour'],
    ['cursor=garbage', 'cursor'],
  ])('answers %s with a 400 naming %s', async (query, field) => {
    const response = await get(`/api/v1/search?${query}`, adminToken);
    const problem = await expectProblem(
      response,
      400,
      field === 'cursor' ? 'invalid_cursor' : 'invalid_request',
    );
    expect(problem.field).toContain(field);
  });
});
