import { once } from 'node:events';
import { readFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, deflateSync, gzipSync } from 'node:zlib';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { internalToken, rawAuthHeaders, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, expectProblem, json, multipartUpload, rawUpload, sha256Hex } from '../support/http';
import { eventually } from '../support/poll';
import { startSplit, type SplitDeployment } from '../support/split';

afterAll(killAll);

const MiB = 1024 * 1024;
const MAX_UPLOAD = 8 * MiB;
const SMALL_LIMIT = 64 * 1024;

/** A real 1×1 PNG (signature, IHDR, IDAT, IEND). */
function onePixelPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])),
    chunk('IDAT', deflateSync(Buffer.from([0, 0]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
const PNG = onePixelPng();
const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n');

/** `total` bytes of `byte`, produced as they are pulled: never held in memory whole. */
function generated(total: number, byte = 0): Readable {
  let left = total;
  const block = Buffer.alloc(MiB, byte);
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(block.subarray(0, n));
    },
  });
}

interface Answer {
  status: number;
  headers: string;
  body: Record<string, unknown>;
  /** Body bytes written before the server answered or closed. */
  sent: number;
}

/**
 * Sends a request head, then `body` with chunked framing (unless the head has a Content-Length),
 * until the server answers or closes the connection. The body is generated as it is sent.
 */
async function exchange(url: string, head: string, body: Readable | null): Promise<Answer> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const chunked = !/content-length/iu.test(head);
  let received = Buffer.alloc(0);
  let sent = 0;
  const answered = new Promise<void>((resolve) => {
    const check = (): void => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/iu.exec(text.slice(0, end))?.[1] ?? 0);
      if (received.length >= end + 4 + length) resolve();
    };
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      check();
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  let done = false;
  void answered.then(() => (done = true));
  await once(socket, 'connect');
  socket.write(head);
  if (body) {
    for await (const chunk of body) {
      if (done) break;
      const data = chunk as Buffer;
      const frame = chunked
        ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')])
        : data;
      sent += data.length;
      if (!socket.write(frame)) await Promise.race([once(socket, 'drain'), answered]);
    }
    body.destroy();
    if (!done && chunked) socket.write('0\r\n\r\n');
  }
  await answered;
  socket.destroy();
  const text = received.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no answer from the server (${received.length} bytes received)`);
  return {
    status: Number(text.slice(9, 12)),
    headers: text.slice(0, end),
    body: JSON.parse(text.slice(end + 4)) as Record<string, unknown>,
    sent,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.filter((f) => f.includes('/blobs/')).sort();
}

/** Peak resident set size of a process, in bytes (Linux /proc). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB$/mu.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** Upload validation over HTTP (issue: hostile input, size limits, names, sniffing, metadata limits). */
describe('upload validation (--role all)', () => {
  let proc: ArtStoreProcess;
  let db: TestDatabase;
  let dataDir: string;
  let base: string;
  let storageToken: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-validate-'));
    const configFile = join(dataDir, 'artstore.json');
    await writeFile(
      configFile,
      JSON.stringify({
        collections: {
          small: { max_upload_bytes: SMALL_LIMIT },
          texts: { allowed_content_types: ['text/*', 'application/pdf'] },
        },
      }),
    );
    proc = await startServe(['--data-dir', dataDir, '--config', configFile], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    });
    base = proc.url;
    await signInAsBootstrapAdmin(base, dataDir);
    storageToken = await internalToken(base);
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Waits for aborted writes to finish rolling back, then lists the stored blobs and sidecars. */
  async function storedFiles(): Promise<string[]> {
    for (const se of ['edit-1', 'rw-1']) {
      const info = await eventually(
        () =>
          fetch(`${base}/internal/v1/storage-elements/${se}/info`, {
            headers: { authorization: `Bearer ${storageToken}` },
          }).then((r) => json<{ wal_pending: number }>(r)),
        (i) => i.wal_pending === 0,
      );
      expect(info.wal_pending).toBe(0);
    }
    return filesUnder(join(dataDir, 'se'));
  }

  async function catalogued(): Promise<number> {
    return (await json<{ items: unknown[] }>(await fetch(`${base}/api/v1/search?limit=100`))).items.length;
  }

  describe('size limits', () => {
    it('refuses a Content-Length over the limit from the headers alone, before reading the body', async () => {
      for (const [query, limit] of [
        ['name=big.bin', MAX_UPLOAD],
        ['name=big.bin&collection=small', SMALL_LIMIT],
      ] as const) {
        // Only the head is sent: the answer cannot have waited for a byte of the body.
        const answer = await exchange(
          base,
          `POST /api/v1/files?${query} HTTP/1.1\r\n${rawAuthHeaders(base)}Content-Type: application/octet-stream\r\nContent-Length: ${10 * 2 ** 30}\r\n\r\n`,
          null,
        );
        expect(answer.status).toBe(413);
        expect(answer.body).toMatchObject({ code: 'file_too_large', limit });
        expect(answer.headers).toMatch(/^connection: close$/imu);
      }
    });

    it('cuts off a chunked body once it passes the limit, storing nothing', async () => {
      const before = {
        files: await storedFiles(),
        catalogued: await catalogued(),
        rss: await peakRss(proc.pid),
      };
      const answer = await exchange(
        base,
        `POST /api/v1/files?name=endless.bin HTTP/1.1\r\n${rawAuthHeaders(base)}Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`,
        generated(20 * MAX_UPLOAD, 7),
      );
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({ code: 'file_too_large', limit: MAX_UPLOAD });
      expect(answer.sent).toBeLessThan(20 * MAX_UPLOAD);
      expect((await peakRss(proc.pid)) - before.rss).toBeLessThan(200 * MiB);
      expect(await storedFiles()).toEqual(before.files);
      expect(await catalogued()).toBe(before.catalogued);
    });

    it("applies a collection's lower limit to multipart and raw uploads", async () => {
      const content = Buffer.alloc(SMALL_LIMIT + 1, 1);
      const multipart = await multipartUpload(base, content, 'm.bin', { collection: 'small' });
      await expectProblem(multipart, 413, 'file_too_large');
      const raw = await rawUpload(base, content, { name: 'r.bin', collection: 'small' });
      expect((await expectProblem(raw, 413, 'file_too_large')).detail).toContain(String(SMALL_LIMIT));
      const fits = await rawUpload(base, content.subarray(1), { name: 'fits.bin', collection: 'small' });
      expect(fits.status).toBe(201);
    });

    it('refuses a gzip bomb (10 GiB of zeros, compressed on the fly) with the server memory bounded', async () => {
      const before = { files: await storedFiles(), rss: await peakRss(proc.pid) };
      const bomb = generated(10 * 2 ** 30).pipe(createGzip({ level: 9 }));
      const answer = await exchange(
        base,
        `POST /api/v1/files?name=zeros.bin HTTP/1.1\r\n${rawAuthHeaders(base)}Content-Type: application/octet-stream\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`,
        bomb,
      );
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({ code: 'decompression_bomb' });
      // Far less than the 10 MiB the whole bomb compresses to was ever sent.
      expect(answer.sent).toBeLessThan(10 * MiB);
      const growth = (await peakRss(proc.pid)) - before.rss;
      expect(growth).toBeLessThan(200 * MiB);
      expect(await storedFiles()).toEqual(before.files);
    });

    it('refuses a gzip body whose decoded size passes the limit even though its Content-Length does not', async () => {
      // A log compresses far below the bomb ratio but still decodes past the limit.
      const lines = Array.from(
        { length: 400_000 },
        (_, i) => `${i} the quick brown fox jumps over ${i % 977}\n`,
      );
      const encoded = gzipSync(Buffer.from(lines.join('')));
      expect(encoded.length).toBeLessThan(MAX_UPLOAD);
      const response = await rawUpload(base, encoded, { name: 'log.txt' }, { 'content-encoding': 'gzip' });
      await expectProblem(response, 413, 'file_too_large');
    });
  });

  describe('content encoding', () => {
    it('stores the decoded content of a gzip body', async () => {
      const text = Buffer.from('line of a log file\n'.repeat(5000));
      const response = await rawUpload(
        base,
        gzipSync(text),
        { name: 'app.log' },
        { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      );
      expect(response.status).toBe(201);
      const file = await json<{ file_id: string; size: number; sha256: string }>(response);
      expect(file).toMatchObject({ size: text.length, sha256: sha256Hex(text) });
      expect((await download(base, file.file_id)).body).toEqual(text);
    });

    it('checks Content-Digest against the encoded bytes', async () => {
      const text = Buffer.from('digest me\n'.repeat(100));
      const digest = (b: Buffer) => `sha-256=:${Buffer.from(sha256Hex(b), 'hex').toString('base64')}:`;
      const encoded = gzipSync(text);
      const wrong = await rawUpload(
        base,
        encoded,
        { name: 'd.txt' },
        { 'content-encoding': 'gzip', 'content-digest': digest(text) },
      );
      await expectProblem(wrong, 400, 'digest_mismatch');
      const right = await rawUpload(
        base,
        encoded,
        { name: 'd.txt' },
        { 'content-encoding': 'gzip', 'content-digest': digest(encoded) },
      );
      expect(right.status).toBe(201);
    });

    it('verifies the sha256 field of a raw upload, alone or with a digest header', async () => {
      const content = Buffer.from('check me');
      const other = sha256Hex(Buffer.from('something else'));
      await expectProblem(
        await rawUpload(base, content, { name: 'c.txt', sha256: other }),
        400,
        'digest_mismatch',
      );
      await expectProblem(
        await rawUpload(
          base,
          content,
          { name: 'c.txt', sha256: sha256Hex(content) },
          { 'content-digest': `sha-256=:${Buffer.from(other, 'hex').toString('base64')}:` },
        ),
        400,
        'invalid_digest',
      );
      const ok = await rawUpload(base, content, { name: 'c.txt', sha256: sha256Hex(content) });
      expect(ok.status).toBe(201);
    });

    it.each(['deflate', 'zstd', 'gzip, br'])('refuses Content-Encoding %j with 415', async (coding) => {
      const response = await rawUpload(
        base,
        Buffer.from('x'),
        { name: 'x.bin' },
        { 'content-encoding': coding },
      );
      expect((await expectProblem(response, 415, 'unsupported_content_encoding')).field).toBe(
        'content-encoding',
      );
    });
  });

  describe('names', () => {
    it.each<[string, string]>([
      ['../../etc/passwd', 'passwd'],
      ['C:\\x\\y.pdf', 'y.pdf'],
      ['CON.txt', '_CON.txt'],
      ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
      [`${'x'.repeat(300)}.pdf`, `${'x'.repeat(251)}.pdf`],
    ])('stores %j as %j and keeps the original name, raw and multipart', async (raw, safe) => {
      for (const response of [
        await rawUpload(base, Buffer.from('x'), { name: raw }),
        await multipartUpload(base, Buffer.from('x'), raw, {}, 'text/plain'),
      ]) {
        expect(response.status).toBe(201);
        const file = await json<{ file_id: string }>(response);
        expect(file).toMatchObject({ name: safe, original_name: raw });
        const read = await json(await fetch(`${base}/api/v1/files/${file.file_id}`));
        expect(read).toMatchObject({ name: safe, original_name: raw });
      }
    });

    it.each(['Отчёт за 2024.docx', '報告書.pdf', '📄 notes.md'])('keeps %j as it is', async (name) => {
      const file = await json(await rawUpload(base, Buffer.from('x'), { name }));
      expect(file).toMatchObject({ name, original_name: null });
    });

    it.each<[string, number, string]>([
      ['..', 400, 'invalid_file_name'],
      ['dir/', 400, 'invalid_file_name'],
      ['\u202E', 400, 'invalid_file_name'],
      ['n'.repeat(1025), 400, 'file_name_too_long'],
    ])('refuses the name %j with %d %s', async (name, status, code) => {
      const problem = await expectProblem(await rawUpload(base, Buffer.from('x'), { name }), status, code);
      expect(problem.field).toBe('name');
    });
  });

  describe('content types', () => {
    it('records the sniffed type of a PNG and a PDF beside the declared type', async () => {
      for (const [content, declared, sniffed] of [
        [PNG, 'application/octet-stream', 'image/png'],
        [PDF, 'text/plain', 'application/pdf'],
        [Buffer.from('plain words'), 'text/plain', null],
      ] as const) {
        const response = await rawUpload(base, content, { name: 'f' }, { 'content-type': declared });
        expect(response.status).toBe(201);
        const file = await json<{ file_id: string }>(response);
        expect(file).toMatchObject({ content_type: declared, sniffed_content_type: sniffed });
        const read = await json(await fetch(`${base}/api/v1/files/${file.file_id}`));
        expect(read).toMatchObject({ content_type: declared, sniffed_content_type: sniffed });
      }
    });

    it('refuses a PNG declared as text/plain in a collection allowing only text/* and PDF', async () => {
      const before = await catalogued();
      const raw = await rawUpload(
        base,
        PNG,
        { name: 'innocent.txt', collection: 'texts' },
        { 'content-type': 'text/plain' },
      );
      const problem = await expectProblem(raw, 415, 'content_type_not_allowed');
      expect(problem).toMatchObject({ content_type: 'image/png', allowed: ['text/*', 'application/pdf'] });
      expect(problem.detail).toContain('image/png');
      const multipart = await multipartUpload(
        base,
        PNG,
        'innocent.txt',
        { collection: 'texts' },
        'text/plain',
      );
      await expectProblem(multipart, 415, 'content_type_not_allowed');
      const declared = await rawUpload(
        base,
        Buffer.from('{}'),
        { name: 'a.json', collection: 'texts' },
        { 'content-type': 'application/json' },
      );
      await expectProblem(declared, 415, 'content_type_not_allowed');
      expect(await catalogued()).toBe(before);
      for (const [content, type] of [
        [Buffer.from('words'), 'text/plain'],
        [PDF, 'application/pdf'],
      ] as const) {
        const ok = await rawUpload(
          base,
          content,
          { name: 'ok', collection: 'texts' },
          { 'content-type': type },
        );
        expect(ok.status).toBe(201);
      }
    });
  });

  describe('metadata limits', () => {
    const many = (n: number, f: (i: number) => [string, string]) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => f(i)));

    it.each<[string, Record<string, string>, number, string, string]>([
      [
        'a 4097-character description',
        { description: 'd'.repeat(4097) },
        400,
        'description_too_long',
        'description',
      ],
      [
        '65 tags',
        { tags: Array.from({ length: 65 }, (_, i) => `t${i}`).join(',') },
        400,
        'too_many_tags',
        'tags',
      ],
      ['a 129-character tag', { tags: 't'.repeat(129) }, 400, 'tag_too_long', 'tags'],
      ['a tag with a control character', { tags: 'a\u0007b' }, 400, 'invalid_tag', 'tags'],
      [
        '65 metadata entries',
        many(65, (i) => [`metadata[k${i}]`, 'v']),
        400,
        'too_many_metadata_entries',
        'metadata',
      ],
      [
        'the metadata key __proto__',
        { 'metadata[__proto__]': 'v' },
        400,
        'metadata_key_invalid',
        'metadata[__proto__]',
      ],
      [
        'a 129-character metadata key',
        { [`metadata[${'k'.repeat(129)}]`]: 'v' },
        400,
        'metadata_key_invalid',
        'metadata[',
      ],
      [
        'a metadata key with a control character',
        { metadata: JSON.stringify({ 'a\u0001': 'v' }) },
        400,
        'metadata_key_invalid',
        'metadata[',
      ],
      [
        'a 4097-character metadata value',
        { 'metadata[k]': 'v'.repeat(4097) },
        400,
        'metadata_value_too_long',
        'metadata[k]',
      ],
    ])('refuses %s, raw and multipart', async (_label, fields, status, code, field) => {
      for (const response of [
        await rawUpload(base, Buffer.from('x'), { name: 'm.txt', ...fields }),
        await multipartUpload(base, Buffer.from('x'), 'm.txt', fields),
      ]) {
        const problem = await expectProblem(response, status, code);
        expect(String(problem.field).startsWith(field)).toBe(true);
      }
    });

    it('refuses description, tags and metadata over 64 KiB in all with 413 metadata_too_large', async () => {
      const fields = many(20, (i) => [`metadata[k${i}]`, 'v'.repeat(4000)]);
      const problem = await expectProblem(
        await multipartUpload(base, Buffer.from('x'), 'm.txt', fields),
        413,
        'metadata_too_large',
      );
      expect(problem.field).toBe('metadata');
    });
  });
});

describe('upload validation (split roles: the ingester streams to a remote SE)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let split: SplitDeployment;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-validate-split-'));
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [{ id: 'edit-1', mode: 'edit' }],
      ingesterEnv: { ARTSTORE_MAX_UPLOAD_BYTES: String(4 * MiB) },
    });
  });

  afterAll(async () => {
    const codes = await Promise.all(split.processes.map((p) => p.stop()));
    expect(codes).toEqual(split.processes.map(() => 0));
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 413 file_too_large when the limit is passed while the SE is writing, and the SE keeps nothing', async () => {
    const ingester = split.ingester.url;
    const answer = await exchange(
      ingester,
      `POST /api/v1/files?name=endless.bin HTTP/1.1\r\n${rawAuthHeaders(ingester)}Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`,
      generated(40 * MiB, 3),
    );
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ code: 'file_too_large', limit: 4 * MiB });
    const se = join(dataDir, 'edit-1');
    const left = await eventually(
      async () => (await readdir(se, { recursive: true })).filter((f) => String(f).includes('blobs/')),
      (files) => files.every((f) => !/\.bin|\.tmp/u.test(String(f))),
    );
    expect(left.filter((f) => /\.bin|\.tmp/u.test(String(f)))).toEqual([]);
  });

  it('carries the original name and the sniffed type across the hop to the SE and back', async () => {
    const response = await rawUpload(
      split.ingester.url,
      PNG,
      { name: 'a/../b\\pic.png' },
      { 'content-type': 'text/plain' },
    );
    expect(response.status).toBe(201);
    const file = await json<{ file_id: string }>(response);
    const expected = { name: 'pic.png', original_name: 'a/../b\\pic.png', sniffed_content_type: 'image/png' };
    expect(file).toMatchObject(expected);
    expect(await json(await fetch(`${split.query.url}/api/v1/files/${file.file_id}`))).toMatchObject(
      expected,
    );
  });
});
