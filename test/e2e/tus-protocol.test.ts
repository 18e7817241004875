import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, clientToken, createAccount, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, expectProblem, json, sha256Hex } from '../support/http';
import { requireInfrastructure } from '../support/infrastructure';
import { eventually } from '../support/poll';
import { checksum, tus, tusMetadata, UPLOADS, uploadRows } from '../support/tus';

afterAll(killAll);

const MAX_UPLOAD = 4 * 1024 * 1024;

interface Deployment {
  proc: ArtStoreProcess;
  db: TestDatabase;
  dataDir: string;
  staging: string;
}

async function deploy(env: Record<string, string> = {}): Promise<Deployment> {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'artstore-tus-'));
  const staging = join(dataDir, 'shared-staging');
  const proc = await startServe(['--data-dir', dataDir], {
    ARTSTORE_DATABASE_URL: db.url,
    ARTSTORE_REDIS_URL: requireInfrastructure('redis'),
    ARTSTORE_REDIS_PREFIX: `artstore-tus-${randomBytes(4).toString('hex')}:`,
    ARTSTORE_STAGING_DIR: staging,
    ARTSTORE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    ...env,
  });
  await signInAsBootstrapAdmin(proc.url, dataDir);
  return { proc, db, dataDir, staging };
}

async function undeploy(d: Deployment): Promise<void> {
  expect(await d.proc.stop()).toBe(0);
  await d.db.drop();
  await rm(d.dataDir, { recursive: true, force: true });
}

/** A HEAD answer has no body: the status and the problem's media type are what is left. */
function expectHeadProblem(response: Response, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/u);
}

const staged = (d: Deployment): Promise<string[]> => readdir(d.staging).catch(() => []);

describe('tus 1.0.0 at /api/v1/uploads (--role all)', () => {
  let d: Deployment;
  let base: string;

  beforeAll(async () => {
    d = await deploy();
    base = d.proc.url;
  });
  afterAll(() => undeploy(d));

  async function create(
    metadata: Record<string, string>,
    length: number,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Response> {
    return tus(
      `${base}${UPLOADS}`,
      'POST',
      { 'upload-length': String(length), 'upload-metadata': tusMetadata(metadata), ...headers },
      body,
    );
  }

  async function created(metadata: Record<string, string>, length: number): Promise<string> {
    const response = await create(metadata, length);
    expect(response.status).toBe(201);
    return `${base}${response.headers.get('location')!}`;
  }

  const offsetOf = async (url: string): Promise<number> => {
    const head = await tus(url, 'HEAD');
    expect(head.status).toBe(200);
    return Number(head.headers.get('upload-offset'));
  };

  it('OPTIONS advertises the version, extensions, checksum algorithms and size limit, without a token', async () => {
    const response = await anonymousFetch(`${base}${UPLOADS}`, { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('tus-version')).toBe('1.0.0');
    expect(response.headers.get('tus-extension')!.split(',')).toEqual(
      expect.arrayContaining(['creation', 'creation-with-upload', 'expiration', 'termination', 'checksum']),
    );
    expect(response.headers.get('tus-checksum-algorithm')!.split(',')).toEqual(
      expect.arrayContaining(['sha1', 'sha256']),
    );
    expect(response.headers.get('tus-max-size')).toBe(String(MAX_UPLOAD));
    expect(response.headers.get('access-control-expose-headers')).toContain('ArtStore-File-Id');
  });

  it('answers a request without Tus-Resumable with 412 and the supported version', async () => {
    const response = await fetch(`${base}${UPLOADS}`, { method: 'POST', headers: { 'upload-length': '3' } });
    await expectProblem(response, 412, 'tus_resumable_required');
    expect(response.headers.get('tus-version')).toBe('1.0.0');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('ArtStore-File-Id');
  });

  it('needs a bearer token for everything else', async () => {
    const response = await anonymousFetch(`${base}${UPLOADS}`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '3' },
    });
    await expectProblem(response, 401, 'unauthenticated');
  });

  it('creates, reports offsets, refuses a wrong offset, verifies sha1 and sha256 chunk checksums and completes into a stored file', async () => {
    const content = randomBytes(300_000);
    const metadata = {
      filename: 'chunked report.pdf',
      filetype: 'application/pdf',
      collection: 'reports',
      description: 'sent in pieces',
      tags: 'q3,finance',
      metadata: JSON.stringify({ project: 'apollo' }),
      retention_policy: 'temporary',
      ttl_days: '7',
      sha256: sha256Hex(content),
    };
    const response = await create(metadata, content.length);
    expect(response.status).toBe(201);
    expect(response.headers.get('tus-resumable')).toBe('1.0.0');
    const location = response.headers.get('location')!;
    expect(location).toMatch(/^\/api\/v1\/uploads\/[0-9a-f]{32}$/u);
    expect(new Date(response.headers.get('upload-expires')!).getTime()).toBeGreaterThan(Date.now());
    const url = `${base}${location}`;

    const head = await tus(url, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe('0');
    expect(head.headers.get('upload-length')).toBe(String(content.length));
    expect(head.headers.get('cache-control')).toBe('no-store');
    expect(head.headers.get('upload-expires')).toBe(response.headers.get('upload-expires'));
    expect(head.headers.get('upload-metadata')).toContain(
      `filename ${Buffer.from('chunked report.pdf').toString('base64')}`,
    );

    const first = await tus(url, 'PATCH', { 'upload-offset': '0' }, content.subarray(0, 100_000));
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe('100000');
    expect(first.headers.get('upload-expires')).not.toBeNull();

    await expectProblem(
      await tus(url, 'PATCH', { 'upload-offset': '0' }, content.subarray(0, 10)),
      409,
      'offset_mismatch',
    );

    const chunk2 = content.subarray(100_000, 150_000);
    const sha1 = await tus(
      url,
      'PATCH',
      { 'upload-offset': '100000', 'upload-checksum': checksum('sha1', chunk2) },
      chunk2,
    );
    expect(sha1.status).toBe(204);
    expect(sha1.headers.get('upload-offset')).toBe('150000');

    const chunk3 = content.subarray(150_000, 200_000);
    const bad = await tus(
      url,
      'PATCH',
      { 'upload-offset': '150000', 'upload-checksum': checksum('sha256', Buffer.from('other bytes')) },
      chunk3,
    );
    const problem = await expectProblem(bad, 460, 'checksum_mismatch');
    expect(problem.field).toBe('upload-checksum');
    expect(await offsetOf(url)).toBe(150_000);

    await expectProblem(
      await tus(url, 'PATCH', { 'upload-offset': '150000', 'upload-checksum': 'crc32 AAAAAA==' }, chunk3),
      400,
      'invalid_request',
    );
    expect(await offsetOf(url)).toBe(150_000);

    const sha256 = await tus(
      url,
      'PATCH',
      { 'upload-offset': '150000', 'upload-checksum': checksum('sha256', chunk3) },
      chunk3,
    );
    expect(sha256.status).toBe(204);
    expect(sha256.headers.get('upload-offset')).toBe('200000');
    expect(await staged(d)).toEqual([location.split('/').pop()]);

    const last = await tus(url, 'PATCH', { 'upload-offset': '200000' }, content.subarray(200_000));
    expect(last.status).toBe(204);
    expect(last.headers.get('upload-offset')).toBe(String(content.length));
    const fileId = last.headers.get('artstore-file-id');
    expect(fileId).toMatch(/^[0-9a-f-]{36}$/u);

    const later = await tus(url, 'HEAD');
    expect(later.status).toBe(200);
    expect(later.headers.get('artstore-file-id')).toBe(fileId);
    expect(later.headers.get('upload-offset')).toBe(String(content.length));
    expect(later.headers.get('upload-length')).toBe(String(content.length));

    const { response: got, body } = await download(base, fileId!);
    expect(got.status).toBe(200);
    expect(body.equals(content)).toBe(true);
    const file = await json(await fetch(`${base}/api/v1/files/${fileId}`));
    expect(file).toMatchObject({
      name: 'chunked report.pdf',
      content_type: 'application/pdf',
      collection: 'reports',
      description: 'sent in pieces',
      tags: ['q3', 'finance'],
      metadata: { project: 'apollo' },
      retention_policy: 'temporary',
      sha256: sha256Hex(content),
    });
    expect(await staged(d)).toEqual([]);
    const rows = await uploadRows(d.db.url);
    expect(rows.find((r) => location.endsWith(r.id))).toMatchObject({
      status: 'completed',
      file_id: fileId,
      offset: String(content.length),
    });
  });

  it('creation-with-upload: bytes in the POST count, and a whole file in one POST completes at once', async () => {
    const content = randomBytes(5000);
    const partial = await create({ filename: 'a.bin' }, content.length, {}, content.subarray(0, 2000));
    expect(partial.status).toBe(201);
    expect(partial.headers.get('upload-offset')).toBe('2000');
    const url = `${base}${partial.headers.get('location')!}`;
    expect(await offsetOf(url)).toBe(2000);
    const rest = await tus(url, 'PATCH', { 'upload-offset': '2000' }, content.subarray(2000));
    expect(rest.status).toBe(204);
    const first = rest.headers.get('artstore-file-id')!;
    expect((await download(base, first)).body.equals(content)).toBe(true);

    const whole = await create({ filename: 'b.bin' }, content.length, {}, content);
    expect(whole.status).toBe(201);
    expect(whole.headers.get('upload-offset')).toBe(String(content.length));
    const second = whole.headers.get('artstore-file-id')!;
    expect(second).toMatch(/^[0-9a-f-]{36}$/u);
    expect(second).not.toBe(first);
    expect((await download(base, second)).body.equals(content)).toBe(true);
  });

  it('termination removes the upload and its staged bytes at once', async () => {
    const url = await created({ filename: 'gone.bin' }, 1000);
    expect((await tus(url, 'PATCH', { 'upload-offset': '0' }, randomBytes(400))).status).toBe(204);
    const id = url.split('/').pop()!;
    expect(await staged(d)).toContain(id);
    const deleted = await tus(url, 'DELETE');
    expect(deleted.status).toBe(204);
    expect(await staged(d)).not.toContain(id);
    expect((await uploadRows(d.db.url)).map((r) => r.id)).not.toContain(id);
    expectHeadProblem(await tus(url, 'HEAD'), 404);
    await expectProblem(
      await tus(url, 'PATCH', { 'upload-offset': '400' }, randomBytes(10)),
      404,
      'upload_not_found',
    );
  });

  it("another principal gets 404 for someone else's upload and cannot touch it", async () => {
    const url = await created({ filename: 'mine.bin' }, 100);
    const other = await clientToken(
      base,
      await createAccount(base, { name: 'other uploader', scopes: ['files:read', 'files:write'] }),
    );
    const as = { authorization: `Bearer ${other}` };
    expectHeadProblem(await tus(url, 'HEAD', as), 404);
    await expectProblem(
      await tus(url, 'PATCH', { ...as, 'upload-offset': '0' }, randomBytes(100)),
      404,
      'upload_not_found',
    );
    await expectProblem(await tus(url, 'DELETE', as), 404, 'upload_not_found');
    expect(await offsetOf(url)).toBe(0);
  });

  it('needs files:write and write access to the collection to create', async () => {
    const reader = await clientToken(
      base,
      await createAccount(base, { name: 'reader', scopes: ['files:read'] }),
    );
    await expectProblem(
      await create({ filename: 'x.bin' }, 10, { authorization: `Bearer ${reader}` }),
      403,
      'forbidden',
    );
    const narrow = await clientToken(
      base,
      await createAccount(base, {
        name: 'narrow',
        scopes: ['files:read', 'files:write'],
        collections: { 'files:write': ['team-*'] },
      }),
    );
    await expectProblem(
      await create({ filename: 'x.bin', collection: 'other' }, 10, { authorization: `Bearer ${narrow}` }),
      403,
      'forbidden',
    );
  });

  it.each<[string, Record<string, string>, number, string, string | undefined]>([
    ['no file name', { filetype: 'text/plain' }, 400, 'invalid_request', 'name'],
    ['an unknown key', { filename: 'a.txt', colour: 'red' }, 400, 'invalid_request', undefined],
    [
      'a bad retention policy',
      { filename: 'a.txt', retention_policy: 'forever-ish' },
      400,
      'invalid_retention',
      undefined,
    ],
    ['a bad TTL', { filename: 'a.txt', ttl_days: 'soon' }, 400, 'invalid_request', 'ttl_days'],
    [
      'a bad collection',
      { filename: 'a.txt', collection: 'Bad Name!' },
      400,
      'invalid_collection',
      'collection',
    ],
    [
      'metadata that is not a JSON object',
      { filename: 'a.txt', metadata: '[1]' },
      400,
      'invalid_request',
      'metadata',
    ],
    ['a malformed sha256', { filename: 'a.txt', sha256: 'abc' }, 400, 'invalid_request', 'sha256'],
    [
      'a file type that is not a media type',
      { filename: 'a.txt', filetype: 'not a type' },
      415,
      'unsupported_media_type',
      'content-type',
    ],
  ])(
    'refuses %s with problem details before storing a byte',
    async (_what, metadata, status, code, field) => {
      const before = (await uploadRows(d.db.url)).length;
      const stagedBefore = await staged(d);
      const problem = await expectProblem(await create(metadata, 5, {}, Buffer.from('bytes')), status, code);
      if (field) expect(problem.field).toBe(field);
      expect(await uploadRows(d.db.url)).toHaveLength(before);
      expect(await staged(d)).toEqual(stagedBefore);
    },
  );

  it('refuses an Upload-Length over the limit with 413 and a malformed Upload-Metadata with 400', async () => {
    await expectProblem(await create({ filename: 'big.bin' }, MAX_UPLOAD + 1), 413, 'content_too_large');
    const response = await tus(`${base}${UPLOADS}`, 'POST', {
      'upload-length': '10',
      'upload-metadata': 'filename not-base64!!,,',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/u);
  });

  it('a completion that fails on its content marks the upload failed for good', async () => {
    const content = randomBytes(1000);
    const url = await created(
      { filename: 'lies.bin', sha256: sha256Hex(Buffer.from('else')) },
      content.length,
    );
    await expectProblem(await tus(url, 'PATCH', { 'upload-offset': '0' }, content), 400, 'digest_mismatch');
    expectHeadProblem(await tus(url, 'HEAD'), 409);
    const row = (await uploadRows(d.db.url)).find((r) => url.endsWith(r.id))!;
    expect(row.status).toBe('failed');
    expect(row.error?.code).toBe('digest_mismatch');
    expect(await staged(d)).not.toContain(row.id);
  });
});

describe('tus completion that fails for a passing reason', () => {
  let d: Deployment;

  // The first write of a file to an SE fails with an I/O error, once.
  beforeAll(async () => {
    d = await deploy({
      ARTSTORE_FAILPOINTS: 'saga.upload.before_write=error@1',
      // No sweep between the creation and the HEAD: the HEAD is what stores it here.
      ARTSTORE_UPLOAD_SWEEP_INTERVAL_S: '3600',
    });
  });
  afterAll(() => undeploy(d));

  it('a creation that brought every byte still answers 201 with its Location, and the HEAD stores the file', async () => {
    const response = await tus(`${d.proc.url}${UPLOADS}`, 'POST', {
      'upload-length': '0',
      'upload-metadata': tusMetadata({ filename: 'empty.bin' }),
    });
    // Not an error: the client could never find the upload, yet it would be stored later.
    expect(response.status).toBe(201);
    expect(response.headers.get('artstore-file-id')).toBeNull();
    const url = `${d.proc.url}${response.headers.get('location')!}`;
    const row = (await uploadRows(d.db.url)).find((r) => url.endsWith(r.id))!;
    expect(row.status).toBe('completing');

    const head = await tus(url, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe('0');
    const fileId = head.headers.get('artstore-file-id')!;
    expect(fileId).toMatch(/^[0-9a-f-]{36}$/u);
    expect((await download(d.proc.url, fileId)).body.length).toBe(0);
    expect((await uploadRows(d.db.url)).find((r) => url.endsWith(r.id))!.status).toBe('completed');
  });
});

describe('tus expiration', () => {
  let d: Deployment;

  beforeAll(async () => {
    d = await deploy({ ARTSTORE_UPLOAD_EXPIRY_S: '1', ARTSTORE_UPLOAD_SWEEP_INTERVAL_S: '1' });
  });
  afterAll(() => undeploy(d));

  it('an abandoned upload expires: the sweep removes its row and staged bytes', async () => {
    const response = await tus(`${d.proc.url}${UPLOADS}`, 'POST', {
      'upload-length': '100',
      'upload-metadata': tusMetadata({ filename: 'abandoned.bin' }),
    });
    expect(response.status).toBe(201);
    const url = `${d.proc.url}${response.headers.get('location')!}`;
    const id = url.split('/').pop()!;
    const expires = new Date(response.headers.get('upload-expires')!).getTime();
    expect(expires).toBeLessThanOrEqual(Date.now() + 2000);
    expect(await staged(d)).toContain(id);
    const rows = await eventually(
      () => uploadRows(d.db.url),
      (r) => r.length === 0,
      15_000,
    );
    expect(rows).toEqual([]);
    expect(await staged(d)).not.toContain(id);
    expectHeadProblem(await tus(url, 'HEAD'), 404);
  });
});
