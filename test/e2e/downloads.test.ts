import { spawn, type ChildProcess } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FRAME_SIZE } from '../../src/domain/document/compression';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { documentText } from '../support/documents';
import { expectProblem, json, rawGet, rawUpload, sha256Hex } from '../support/http';
import { until } from '../support/poll';
import {
  coalesce,
  parseByteranges,
  rangeHeader,
  resolveSpec,
  type RangeSpec,
  type Span,
} from '../support/ranges';

/**
 * Issue 6 downloads in one process: thousands of random Range headers (single, suffix, open,
 * several, unsatisfiable) against identity and compressed files, byte-exact against the
 * original; conditional requests; HEAD; and curl resuming a download it was killed in.
 */
interface Stored {
  readonly id: string;
  readonly content: Buffer;
  readonly type: string;
}

let db: TestDatabase;
let dataDir: string;
let proc: ArtStoreProcess;
let token: string;
const files = new Map<string, Stored>();
const curls = new Set<ChildProcess>();

const SIZE = 2 * FRAME_SIZE + 54_321;
const BIG = 24 * 1024 * 1024;
/** name, content, compression, type, random Range requests to check (compressed ones decode frames). */
const CONTENTS: [string, Buffer, string, string, number][] = [
  ['identity', randomBytes(SIZE), 'none', 'application/octet-stream', 800],
  ['small identity', randomBytes(150_000), 'none', 'application/octet-stream', 800],
  ['gzip', documentText(SIZE, 3), 'gzip', 'text/plain; charset=utf-8', 250],
  ['br', documentText(SIZE, 4), 'br', 'text/plain; charset=utf-8', 250],
  ['big identity', randomBytes(BIG), 'none', 'application/octet-stream', 0],
  ['big gzip', documentText(BIG, 5), 'gzip', 'text/plain; charset=utf-8', 0],
];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-downloads-'));
  proc = await startServe(['--role', 'all', '--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
  token = await signInAsBootstrapAdmin(proc.url, dataDir);
  for (const [name, content, compression, type] of CONTENTS) {
    const response = await rawUpload(
      proc.url,
      content,
      { name: `${name}.bin`, compression, retention_policy: 'permanent' },
      { 'content-type': type },
    );
    if (response.status !== 201)
      throw new Error(`upload answered ${response.status}: ${await response.text()}`);
    const view = await json<{ file_id: string; stored_encoding: string }>(response);
    expect(view.stored_encoding).toBe(compression === 'none' ? 'identity' : compression);
    files.set(name, { id: view.file_id, content, type });
  }
});

afterAll(async () => {
  for (const curl of curls) curl.kill('SIGKILL');
  expect(await proc.stop()).toBe(0);
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});
// After the orderly stop above: the safety net for a test that failed half-way.
afterAll(killAll);

const contentUrl = (file: Stored): string => `${proc.url}/api/v1/files/${file.id}/content`;

/** fetch asks for gzip by default; these checks are of the original bytes' representation. */
async function get(file: Stored, headers: Record<string, string>, method = 'GET') {
  const response = await fetch(contentUrl(file), {
    method,
    headers: { 'accept-encoding': 'identity', ...headers },
  });
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

/** Positions that matter: anywhere, frame edges, the file's end and just past it, the start. */
function position(size: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: size - 1 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: Math.floor(size / FRAME_SIZE) }), fc.integer({ min: -2, max: 2 }))
        .map(([frame, delta]) => Math.max(0, frame * FRAME_SIZE + delta)),
    },
    { weight: 1, arbitrary: fc.integer({ min: size - 2, max: size + 2 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
  );
}

function spec(size: number): fc.Arbitrary<RangeSpec> {
  const length = fc.oneof(fc.nat(100), fc.nat(70_000), fc.nat(size + 10));
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(position(size), length)
        .map(([first, n]): RangeSpec => ({ kind: 'closed', first, last: first + n })),
    },
    { weight: 1, arbitrary: position(size).map((first): RangeSpec => ({ kind: 'open', first })) },
    { weight: 2, arbitrary: length.map((n): RangeSpec => ({ kind: 'suffix', length: n })) },
  );
}

/** One request checked against the model: 416, a single 206, or multipart/byteranges. */
async function expectServed(file: Stored, specs: readonly RangeSpec[]): Promise<void> {
  const { content } = file;
  const header = rangeHeader(specs);
  const spans = coalesce(
    specs.map((s) => resolveSpec(s, content.length)).filter((s): s is Span => s !== null),
  );
  const response = await fetch(contentUrl(file), { headers: { range: header } });
  if (spans.length === 0) {
    expect(response.headers.get('content-range')).toBe(`bytes */${content.length}`);
    await expectProblem(response, 416, 'range_not_satisfiable');
    return;
  }
  const body = Buffer.from(await response.arrayBuffer());
  expect({ header, status: response.status }).toEqual({ header, status: 206 });
  expect(response.headers.get('content-length')).toBe(String(body.length));
  if (spans.length === 1) {
    const [{ start, end }] = spans as [Span];
    expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${content.length}`);
    expect(response.headers.get('content-type')).toBe(file.type);
    expect(body.equals(content.subarray(start, end + 1))).toBe(true);
    return;
  }
  expect(response.headers.get('content-range')).toBeNull();
  const parts = parseByteranges(body, response.headers.get('content-type') ?? '');
  expect(parts.map((p) => p.span)).toEqual(spans);
  for (const part of parts) {
    expect(part).toMatchObject({ contentType: file.type, size: content.length });
    expect(part.body.equals(content.subarray(part.span.start, part.span.end + 1))).toBe(true);
  }
}

describe('Range property: random headers, byte-exact against the original', () => {
  it.each(CONTENTS.filter(([, , , , runs]) => runs > 0).map(([name, , , , runs]) => [name, runs]))(
    '%s (%d requests)',
    async (name, runs) => {
      const file = files.get(name)!;
      await fc.assert(
        fc.asyncProperty(fc.array(spec(file.content.length), { minLength: 1, maxLength: 6 }), (specs) =>
          expectServed(file, specs),
        ),
        { numRuns: runs },
      );
    },
  );
});

describe('downloads', () => {
  it('serves the whole file with a strong ETag, Repr-Digest and Content-Length; HEAD states the same', async () => {
    for (const name of ['identity', 'small identity', 'gzip', 'br']) {
      const file = files.get(name)!;
      const whole = await get(file, {});
      expect(whole.response.status).toBe(200);
      expect(whole.body.equals(file.content)).toBe(true);
      const sha = sha256Hex(file.content);
      expect(whole.response.headers.get('etag')).toBe(`"${sha}"`);
      expect(whole.response.headers.get('repr-digest')).toBe(
        `sha-256=:${Buffer.from(sha, 'hex').toString('base64')}:`,
      );
      const head = await get(file, {}, 'HEAD');
      expect(head.response.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.response.headers.get('content-length')).toBe(String(file.content.length));
      expect(head.response.headers.get('etag')).toBe(`"${sha}"`);
    }
  });

  it('answers HEAD with a range like the GET, multipart included, without a body', async () => {
    const file = files.get('gzip')!;
    for (const range of ['bytes=10-99', `bytes=0-9,${FRAME_SIZE}-${FRAME_SIZE + 9},-5`]) {
      const got = await get(file, { range });
      const head = await get(file, { range }, 'HEAD');
      expect(head.response.status).toBe(206);
      expect(head.body.length).toBe(0);
      expect(head.response.headers.get('content-length')).toBe(got.response.headers.get('content-length'));
      expect(head.response.headers.get('content-range')).toBe(got.response.headers.get('content-range'));
      expect(head.response.headers.get('content-type')?.split(';')[0]).toBe(
        got.response.headers.get('content-type')?.split(';')[0],
      );
    }
  });

  it('applies a Range only while If-Range still matches (strong ETag or the exact date)', async () => {
    const file = files.get('br')!;
    const etag = `"${sha256Hex(file.content)}"`;
    const lastModified = (await get(file, {}, 'HEAD')).response.headers.get('last-modified')!;
    for (const [ifRange, status] of [
      [etag, 206],
      [lastModified, 206],
      ['"0000"', 200],
      [`W/${etag}`, 200],
      [new Date(Date.parse(lastModified) - 1000).toUTCString(), 200],
    ] as const) {
      const { response, body } = await get(file, { range: 'bytes=100-199', 'if-range': ifRange });
      expect({ ifRange, status: response.status }).toEqual({ ifRange, status });
      expect(body.equals(status === 206 ? file.content.subarray(100, 200) : file.content)).toBe(true);
    }
  });

  it('answers 304 to If-None-Match (any listed tag, weak or strong) and If-Modified-Since', async () => {
    const file = files.get('identity')!;
    const etag = `"${sha256Hex(file.content)}"`;
    const lastModified = (await get(file, {}, 'HEAD')).response.headers.get('last-modified')!;
    for (const headers of [
      { 'if-none-match': etag } as Record<string, string>,
      { 'if-none-match': `"other", W/${etag}` },
      { 'if-none-match': '*' },
      { 'if-modified-since': lastModified },
    ]) {
      const { response, body } = await get(file, headers);
      expect(response.status).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
      expect(body.length).toBe(0);
    }
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    const changed = await get(file, { 'if-none-match': '"other"', 'if-modified-since': lastModified });
    expect(changed.response.status).toBe(200);
  });

  it('serves the whole file when a header asks for more ranges than it will assemble', async () => {
    const file = files.get('small identity')!;
    const many = Array.from({ length: 65 }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(',');
    const { response, body } = await get(file, { range: `bytes=${many}` });
    expect(response.status).toBe(200);
    expect(body.equals(file.content)).toBe(true);
    // Overlapping and adjacent ranges are merged into one part first.
    const merged = await get(file, { range: 'bytes=0-9,10-19,5-14' });
    expect(merged.response.status).toBe(206);
    expect(merged.response.headers.get('content-range')).toBe(`bytes 0-19/${file.content.length}`);
  });

  it('refuses a malformed Range with 416 and a problem body naming the field', async () => {
    const file = files.get('identity')!;
    for (const range of ['bytes=abc', 'bytes=9-5', `bytes=${SIZE}-`, 'bytes=-0']) {
      const response = await fetch(contentUrl(file), { headers: { range } });
      expect((await expectProblem(response, 416, 'range_not_satisfiable')).field).toBe('range');
    }
  });
});

const raw = (file: Stored, headers: Record<string, string>, method = 'GET') =>
  rawGet(contentUrl(file), headers, method);

describe('a file stored gzip goes out as stored to a client that accepts gzip', () => {
  it('whole reads pass the stored frames through with Content-Encoding; ranges and other clients get the original bytes', async () => {
    const file = files.get('gzip')!;
    const coded = await raw(file, { 'accept-encoding': 'br;q=0.5, gzip' });
    expect(coded.status).toBe(200);
    expect(coded.headers['content-encoding']).toBe('gzip');
    expect(coded.headers.vary).toMatch(/accept-encoding/iu);
    expect(coded.headers['content-length']).toBe(String(coded.body.length));
    expect(coded.body.length).toBeLessThan(file.content.length);
    // Concatenated gzip members (one per frame) are one gzip stream to a client.
    expect(gunzipSync(coded.body).equals(file.content)).toBe(true);
    const codedSha = sha256Hex(coded.body);
    expect(coded.headers['repr-digest']).toBe(`sha-256=:${Buffer.from(codedSha, 'hex').toString('base64')}:`);
    expect(coded.headers.etag).toBe(`"gzip-${codedSha}"`);

    const head = await raw(file, { 'accept-encoding': 'gzip' }, 'HEAD');
    expect(head.headers).toMatchObject({
      'content-encoding': 'gzip',
      'content-length': String(coded.body.length),
      etag: coded.headers.etag,
    });
    const again = await raw(file, { 'accept-encoding': 'gzip', 'if-none-match': coded.headers.etag! });
    expect(again.status).toBe(304);

    const identityEtag = `"${sha256Hex(file.content)}"`;
    const asked: Record<string, string>[] = [
      {},
      { 'accept-encoding': 'identity' },
      { 'accept-encoding': 'gzip;q=0, br' },
    ];
    for (const headers of asked) {
      const plain = await raw(file, headers);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.etag).toBe(identityEtag);
      expect(plain.body.equals(file.content)).toBe(true);
    }
    const ranged = await raw(file, { 'accept-encoding': 'gzip', range: 'bytes=1000-1999' });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-encoding']).toBeUndefined();
    expect(ranged.body.equals(file.content.subarray(1000, 2000))).toBe(true);
    // A br-stored file: concatenated brotli frames are no single br stream, so it is decoded.
    const br = files.get('br')!;
    const decoded = await raw(br, { 'accept-encoding': 'br, gzip' });
    expect(decoded.headers['content-encoding']).toBeUndefined();
    expect(decoded.body.equals(br.content)).toBe(true);
  });
});

describe('curl -C - resumes a download it was killed in', () => {
  async function runCurl(args: string[]): Promise<{ code: number | null; stderr: string }> {
    const curl = spawn('curl', ['-sS', '-H', `authorization: Bearer ${token}`, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    curls.add(curl);
    let stderr = '';
    curl.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => curl.once('exit', resolve));
    curls.delete(curl);
    return { code, stderr };
  }

  it.each([['big identity'], ['big gzip']])('%s', async (name) => {
    const file = files.get(name)!;
    const target = join(dataDir, `curl-${name}.out`);
    const first = spawn(
      'curl',
      ['-sS', '--limit-rate', '2M', '-H', `authorization: Bearer ${token}`, '-o', target, contentUrl(file)],
      { stdio: 'ignore' },
    );
    curls.add(first);
    const exited = new Promise((resolve) => first.once('exit', resolve));
    await until('curl to have written 1 MiB', async () => {
      const size = await stat(target).then(
        (s) => s.size,
        () => 0,
      );
      return size >= 1024 * 1024 ? size : null;
    });
    first.kill('SIGKILL');
    await exited;
    curls.delete(first);
    const partial = (await stat(target)).size;
    expect(partial).toBeLessThan(file.content.length);
    const resumed = await runCurl(['-f', '-C', '-', '-o', target, contentUrl(file)]);
    expect(resumed).toEqual({ code: 0, stderr: '' });
    expect((await readFile(target)).equals(file.content)).toBe(true);
  });
});
