import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { killAll, runCli, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, internalToken, rawAuthHeaders, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, json, rawUpload, sha256Hex } from '../support/http';

afterAll(killAll);

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/** Sends raw bytes on a fresh connection and returns what came back before the server closed it. */
function rawExchange(url: string, request: string | Buffer, { endAfterWrite = true } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(received) : reject(error),
    );
    socket.on('close', () => resolve(received));
    socket.write(request, () => {
      if (endAfterWrite) socket.end();
    });
  });
}

/** Bad input gets a clear 4xx problem-details response, never a 500, and leaves nothing behind (issue 2). */
describe('bad input over HTTP (--role all)', () => {
  let proc: ArtStoreProcess;
  let db: TestDatabase;
  let dataDir: string;
  let base: string;
  const stored: string[] = [];
  let storageToken: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-bad-'));
    proc = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
    base = proc.url;
    await signInAsBootstrapAdmin(base, dataDir);
    storageToken = await internalToken(base);
    const ok = await rawUpload(base, Buffer.from('the one good file'), { name: 'good.txt' });
    expect(ok.status).toBe(201);
    stored.push(((await json(ok)) as { file_id: string }).file_id);
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  // Paths, device names and control characters are sanitised and stored (upload-validation.test.ts);
  // a name with nothing left, or an absurdly long one, is refused.
  it.each([
    ['..', 'a dot-dot', 'invalid_file_name'],
    ['a/b/', 'a path to a directory', 'invalid_file_name'],
    ['\u0007\u0008', 'only control characters', 'invalid_file_name'],
    // PostgreSQL cannot store U+0000, so a NUL is refused wherever it is (below), names included.
    ['\u0000\u0007', 'a NUL character', 'invalid_request'],
    ['x'.repeat(1025), 'an over-long name', 'file_name_too_long'],
  ])('refuses the file name %j (%s) with %s', async (name, _label, code) => {
    await expectProblem(await rawUpload(base, Buffer.from('x'), { name }), 400, code);
  });

  it.each([
    [{ name: 'a.txt', ttl_days: '0' }, 'invalid_ttl'],
    [{ name: 'a.txt', ttl_days: '366' }, 'invalid_ttl'],
    [{ name: 'a.txt', ttl_days: 'soon' }, 'invalid_request'],
    [{ name: 'a.txt', retention_policy: 'forever' }, 'invalid_retention'],
    [{ name: 'a.txt', retention_policy: 'permanent', ttl_days: '5' }, 'invalid_retention'],
    [{ name: 'a.txt', collection: 'Bad Collection!' }, 'invalid_collection'],
    [{ name: 'a.txt', colour: 'blue' }, 'invalid_request'],
    [{}, 'invalid_request'],
  ])('refuses upload parameters %j with %s', async (query, code) => {
    const problem = await expectProblem(
      await rawUpload(base, Buffer.from('x'), query as Record<string, string>),
      400,
      code,
    );
    expect(problem.request_id).toMatch(/^[0-9a-f]{16}$/u);
  });

  it('refuses content that does not match its digest, and malformed digest headers', async () => {
    const content = randomBytes(5_000);
    const wrong = Buffer.from(sha256Hex(Buffer.from('other')), 'hex').toString('base64');
    await expectProblem(
      await rawUpload(base, content, { name: 'd.bin' }, { 'content-digest': `sha-256=:${wrong}:` }),
      400,
      'digest_mismatch',
    );
    await expectProblem(
      await rawUpload(base, content, { name: 'd.bin' }, { 'content-digest': 'sha-256=:not base64!:' }),
      400,
      'invalid_digest',
    );
    await expectProblem(
      await rawUpload(base, content, { name: 'd.bin' }, { 'content-type': 'not a type' }),
      415,
      'unsupported_media_type',
    );
  });

  it('refuses malformed multipart bodies', async () => {
    const post = (body: string | Buffer, type: string) =>
      fetch(`${base}/api/v1/files`, { method: 'POST', headers: { 'content-type': type }, body });
    await expectProblem(await post('whatever', 'multipart/form-data'), 400, 'malformed_multipart');
    await expectProblem(
      await post(
        '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\nabc',
        'multipart/form-data; boundary=XX',
      ),
      400,
      'malformed_multipart',
    );
    await expectProblem(
      await post(
        '--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\nx.txt\r\n--XX--\r\n',
        'multipart/form-data; boundary=XX',
      ),
      400,
      'missing_file',
    );
    const two =
      '--XX\r\nContent-Disposition: form-data; name="a"; filename="a.bin"\r\n\r\naaa\r\n' +
      '--XX\r\nContent-Disposition: form-data; name="b"; filename="b.bin"\r\n\r\nbbb\r\n--XX--\r\n';
    await expectProblem(await post(two, 'multipart/form-data; boundary=XX'), 400, 'multiple_files');
    const late =
      '--XX\r\nContent-Disposition: form-data; name="f"; filename="late.bin"\r\n\r\naaa\r\n--XX\r\nContent-Disposition: form-data; name="ttl_days"\r\n\r\n3\r\n--XX--\r\n';
    await expectProblem(await post(late, 'multipart/form-data; boundary=XX'), 400, 'field_after_file');
  });

  it('leaves nothing behind when the client sends less than its Content-Length and hangs up', async () => {
    const head = `POST /api/v1/files?name=lying.bin HTTP/1.1\r\n${rawAuthHeaders(base)}Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n`;
    await rawExchange(base, Buffer.concat([Buffer.from(head), randomBytes(200_000)]));
    // The aborted transaction is rolled back before its WAL record is closed; wait for that.
    for (let i = 0; ; i += 1) {
      const info = await json<{ wal_pending: number }>(
        await fetch(`${base}/internal/v1/storage-elements/edit-1/info`, {
          headers: { authorization: `Bearer ${storageToken}` },
        }),
      );
      if (info.wal_pending === 0) break;
      if (i > 200) throw new Error('the aborted upload never finished rolling back');
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  it('answers a request Node cannot parse with problem details', async () => {
    const answer = await rawExchange(base, 'GET /api/v1/files/\u00ff\u0000 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /u);
    expect(answer).toContain('"code":"malformed_request"');
  });

  it('answers a HEAD whose headers are too large without a body (the client reads no stray answer)', async () => {
    const answer = await rawExchange(
      base,
      `HEAD /api/v1/files/x/content HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /u);
    expect(answer.endsWith('\r\n\r\n')).toBe(true);
  });

  it('answers a token request whose headers are too large with problem details that carry the RFC 6749 error too', async () => {
    const answer = await rawExchange(
      base,
      `POST /oauth/token HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /u);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'headers_too_large', error: 'invalid_request' });
    expect(body.error_description).toEqual(expect.any(String));
  });

  it('answers a token request with a NUL in its (unread) query in RFC 6749 form, not problem details', async () => {
    const token = await anonymousFetch(`${base}/oauth/token?limit=%00`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=nobody&client_secret=x',
    });
    expect(token.status).toBe(401);
    expect(await json(token)).toMatchObject({ error: 'invalid_client' });
  });

  it('answers unknown ids, unknown routes, wrong methods and bad ranges with 4xx', async () => {
    await expectProblem(
      await fetch(`${base}/api/v1/files/01900000-0000-7000-8000-000000000000`),
      404,
      'file_not_found',
    );
    await expectProblem(await fetch(`${base}/api/v1/files/not-a-uuid/content`), 404, 'file_not_found');
    await expectProblem(await fetch(`${base}/api/v1/nothing-here`), 404, 'route_not_found');
    const wrongMethod = await fetch(`${base}/api/v1/search?q=x`, { method: 'DELETE' });
    expect(wrongMethod.headers.get('allow')).toContain('GET');
    await expectProblem(wrongMethod, 405, 'method_not_allowed');
    await expectProblem(
      await fetch(`${base}/api/v1/files/${stored[0]}/content`, { headers: { range: 'bytes=abc' } }),
      416,
      'range_not_satisfiable',
    );
    await expectProblem(
      await fetch(`${base}/api/v1/files/${stored[0]}/content`, { headers: { range: 'bytes=900-' } }),
      416,
      'range_not_satisfiable',
    );
    // The SE's own content endpoint names the Range header too (a fuzzed `bytes=192423-9`).
    const backwards = await expectProblem(
      await fetch(`${base}/internal/v1/storage-elements/edit-1/files/${stored[0]}/content`, {
        headers: { authorization: `Bearer ${storageToken}`, range: 'bytes=5-1' },
      }),
      416,
      'range_not_satisfiable',
    );
    expect(backwards.field).toBe('range');
    const otherUnit = await fetch(`${base}/api/v1/files/${stored[0]}/content`, {
      headers: { range: 'items=0-1' },
    });
    expect(otherUnit.status).toBe(200);
    await otherUnit.arrayBuffer();
    await expectProblem(await fetch(`${base}/api/v1/search?sort=sideways`), 400, 'invalid_request');
    await expectProblem(await fetch(`${base}/api/v1/search?q=x&limit=1000`), 400, 'invalid_request');
    await expectProblem(await fetch(`${base}/api/v1/search?q=x&cursor=garbage`), 400, 'invalid_cursor');
  });

  it('answers bad admin requests with 4xx', async () => {
    const post = (id: string, body: string, type = 'application/json') =>
      fetch(`${base}/api/v1/storage-elements/${id}/mode`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    await expectProblem(await post('rw-1', '{"mode":'), 400, 'invalid_json');
    await expectProblem(await post('rw-1', '{"mode":"sideways"}'), 400, 'invalid_request');
    await expectProblem(await post('rw-1', 'mode=ro', 'text/plain'), 415, 'unsupported_media_type');
    await expectProblem(await post('no-such-se', '{"mode":"ro"}'), 404, 'storage_element_not_found');
  });

  // Found by the malformed-input campaign (test/chaos/fuzz.test.ts): a NUL reached PostgreSQL,
  // whose protocol error (08P01) was answered 503, and several 4xx did not name their field.
  it('refuses a NUL character anywhere with a 400 naming where it is, never a 503', async () => {
    const nul = async (response: Response, field: string): Promise<void> => {
      expect((await expectProblem(response, 400, 'invalid_request')).field).toBe(field);
    };
    await nul(await fetch(`${base}/api/v1/admin/service-accounts/%00`), 'path');
    await nul(
      await fetch(`${base}/api/v1/uploads/%00`, { method: 'PATCH', headers: { 'tus-resumable': '1.0.0' } }),
      'path',
    );
    await nul(await fetch(`${base}/api/v1/audit?actor=a%00`), 'actor');
    await nul(
      await fetch(`${base}/api/v1/admin/service-accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'a\u0000b', scopes: ['files:read'] }),
      }),
      'name',
    );
    await nul(
      await rawUpload(base, Buffer.from('x'), { name: 'n.txt', description: 'a\u0000' }),
      'description',
    );
    const token = await anonymousFetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=a%00&client_secret=x',
    });
    expect(token.status).toBe(401);
    expect(await json(token)).toMatchObject({ error: 'invalid_client' });
  });

  it('names the field, header or part at fault in every refusal', async () => {
    const field = async (response: Response, status: number, code: string): Promise<string | undefined> =>
      (await expectProblem(response, status, code)).field;
    expect(
      await field(
        await rawUpload(base, Buffer.from('x'), {}, { 'artstore-name': '%ZZ' }),
        400,
        'invalid_json',
      ),
    ).toBe('artstore-name');
    const multipart = (body: string, type: string) =>
      fetch(`${base}/api/v1/files`, { method: 'POST', headers: { 'content-type': type }, body });
    expect(await field(await multipart('whatever', 'multipart/form-data'), 400, 'malformed_multipart')).toBe(
      'content-type',
    );
    expect(
      await field(
        await multipart(
          '--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\nx.txt\r\n--XX--\r\n',
          'multipart/form-data; boundary=XX',
        ),
        400,
        'missing_file',
      ),
    ).toBe('file');
    expect(
      await field(
        await fetch(`${base}/api/v1/uploads`, { method: 'POST', headers: { 'upload-length': '1' } }),
        412,
        'tus_resumable_required',
      ),
    ).toBe('tus-resumable');
    expect(
      await field(
        await fetch(`${base}/api/v1/uploads`, {
          method: 'POST',
          headers: { 'tus-resumable': '1.0.0', 'upload-length': '1', 'upload-defer-length': '0' },
        }),
        400,
        'invalid_request',
      ),
    ).toBe('upload-defer-length');
    const json64 = await fetch(`${base}/api/v1/storage-elements/rw-1/mode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'x'.repeat(70_000) }),
    });
    expect(await field(json64, 413, 'request_too_large')).toBe('body');
    const user = (body: Record<string, string>) =>
      fetch(`${base}/api/v1/admin/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      await field(
        await user({ username: 'someone', password: 'short', role: 'readonly' }),
        400,
        'weak_password',
      ),
    ).toBe('password');
    expect(
      await field(
        await user({ username: 'someone', password: 'Long-Enough-Pass-99', role: 'god' }),
        400,
        'invalid_request',
      ),
    ).toBe('role');
    expect(
      await field(
        await user({ username: 'x', password: 'Long-Enough-Pass-99', role: 'readonly' }),
        400,
        'invalid_request',
      ),
    ).toBe('username');
    const parseError = await rawExchange(base, 'G@T / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(parseError).toContain('"field":"method"');
  });

  it('answers an expectation it cannot meet with a 417 problem, not a bare status', async () => {
    const answer = await rawExchange(
      base,
      `POST /api/v1/files?name=e.txt HTTP/1.1\r\n${rawAuthHeaders(base)}Expect: the-moon\r\nContent-Length: 1\r\n\r\nx`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 417 /u);
    expect(answer).toContain('application/problem+json');
    expect(answer).toContain('"field":"expect"');
  });

  it('has stored only the one good file: no partial blob, sidecar or temp file anywhere', async () => {
    const files = await filesUnder(join(dataDir, 'se'));
    const blobs = files.filter((f) => f.includes('/blobs/'));
    expect(blobs.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(blobs).toHaveLength(2);
    expect(blobs.some((f) => f.endsWith(`good_${stored[0]}.txt`))).toBe(true);
    expect(blobs.some((f) => f.endsWith(`good_${stored[0]}.txt.attr.json`))).toBe(true);
    const search = await json<{ items: unknown[] }>(await fetch(`${base}/api/v1/search`));
    expect(search.items).toHaveLength(1);
  });
});

describe('bad command lines and configuration', () => {
  it('refuses an unknown role and an invalid config, naming every problem', async () => {
    const role = await runCli(['serve', '--role', 'gardener']);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain("unknown role 'gardener'");
    const config = await runCli(['serve'], {
      ARTSTORE_PORT: 'eighty',
      ARTSTORE_DEFAULT_TTL_DAYS: '999',
      ARTSTORE_ROLE: 'admin',
      ARTSTORE_REDIS_URL: 'http://wrong',
    });
    expect(config.code).toBe(2);
    for (const key of [
      'port (ARTSTORE_PORT)',
      'default_ttl_days (ARTSTORE_DEFAULT_TTL_DAYS)',
      'redis_url (ARTSTORE_REDIS_URL)',
    ]) {
      expect(config.stderr).toContain(key);
    }
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('artstore serve [--role all|admin|storage|ingester|query');
    const unknown = await runCli(['explode']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'explode'");
  });
});
