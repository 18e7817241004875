import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FRAME_SIZE } from '../../src/domain/document/compression';
import { killAll, startServe } from '../support/artstore-process';
import { signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { documentText } from '../support/documents';
import {
  download,
  expectProblem,
  json,
  multipartUpload,
  rawGet,
  rawUpload,
  sha256Hex,
} from '../support/http';
import { startSplit, type SplitDeployment } from '../support/split';

afterAll(killAll);

interface View {
  file_id: string;
  size: number;
  sha256: string;
  stored_encoding: string;
  stored_size: number;
}

const TEXT = documentText(2 * FRAME_SIZE + 54_321, 9);
/** A JPEG's signature followed by bytes that do not compress (as a photo's do not). */
const JPEG = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]),
  randomBytes(300_000),
]);
/** Random bytes without a type: a zip or an encrypted file as far as auto can tell. */
const OPAQUE = randomBytes(200_000);

interface Deployment {
  readonly ingester: string;
  readonly query: string;
  /** The blob directory of the SE that takes temporary files. */
  readonly blobs: string;
}

/** The same story in both topologies (in split mode the compression options cross HTTP to the SE). */
function compressionStory(start: () => Promise<Deployment & { stop(): Promise<void> }>): void {
  let deployment: Deployment & { stop(): Promise<void> };
  beforeAll(async () => {
    deployment = await start();
  });
  afterAll(() => deployment.stop());

  async function uploaded(response: Response): Promise<View> {
    if (response.status !== 201)
      throw new Error(`upload answered ${response.status}: ${await response.text()}`);
    return json<View>(response);
  }

  async function expectContent(fileId: string, content: Buffer): Promise<void> {
    const whole = await download(deployment.query, fileId);
    expect(whole.response.status).toBe(200);
    expect(whole.response.headers.get('content-length')).toBe(String(content.length));
    expect(whole.response.headers.get('etag')).toBe(`"${sha256Hex(content)}"`);
    expect(whole.body.equals(content)).toBe(true);
    const ranges: [string, number, number][] = [
      [`bytes=${FRAME_SIZE - 10}-${FRAME_SIZE + 9}`, FRAME_SIZE - 10, FRAME_SIZE + 9],
      ['bytes=-1', content.length - 1, content.length - 1],
      ['bytes=0-0', 0, 0],
      [`bytes=${content.length - 70_000}-`, content.length - 70_000, content.length - 1],
    ];
    for (const [header, start, end] of ranges) {
      const { response, body } = await download(deployment.query, fileId, { range: header });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${content.length}`);
      expect(response.headers.get('content-length')).toBe(String(end - start + 1));
      expect(body.equals(content.subarray(start, end + 1))).toBe(true);
    }
  }

  it.each([
    ['auto (the default)', {}, {}, 'br'],
    ['br by header', {}, { 'artstore-compression': 'br' }, 'br'],
    ['gzip by query', { compression: 'gzip' }, {}, 'gzip'],
    ['none', { compression: 'none' }, {}, 'identity'],
  ])(
    'stores compressible text under %s and serves the original bytes',
    async (_name, query, headers, encoding) => {
      const view = await uploaded(
        await rawUpload(
          deployment.ingester,
          TEXT,
          { name: 'notes.txt', ...query },
          { 'content-type': 'text/plain', ...headers },
        ),
      );
      expect(view).toMatchObject({ size: TEXT.length, sha256: sha256Hex(TEXT), stored_encoding: encoding });
      if (encoding === 'identity') expect(view.stored_size).toBe(TEXT.length);
      else expect(view.stored_size).toBeLessThan(TEXT.length / 2);
      await expectContent(view.file_id, TEXT);
      // A whole read by a client that accepts gzip gets a gzip-stored file's frames as they are.
      const coded = await rawGet(`${deployment.query}/api/v1/files/${view.file_id}/content`, {
        'accept-encoding': 'gzip',
      });
      expect(coded.status).toBe(200);
      expect(coded.headers['content-encoding']).toBe(encoding === 'gzip' ? 'gzip' : undefined);
      expect(coded.body.length).toBe(encoding === 'gzip' ? view.stored_size : TEXT.length);
      expect((encoding === 'gzip' ? gunzipSync(coded.body) : coded.body).equals(TEXT)).toBe(true);
    },
  );

  it('takes compression as a multipart field', async () => {
    const view = await uploaded(
      await multipartUpload(deployment.ingester, TEXT, 'notes.csv', { compression: 'br' }, 'text/csv'),
    );
    expect(view).toMatchObject({ stored_encoding: 'br', size: TEXT.length });
    await expectContent(view.file_id, TEXT);
  });

  it.each([
    ['a JPEG', JPEG, 'photo.jpg', 'image/jpeg'],
    ['opaque bytes that do not compress', OPAQUE, 'archive.bin', 'application/octet-stream'],
  ])('keeps %s as it is under auto', async (_name, content, name, type) => {
    const view = await uploaded(
      await rawUpload(deployment.ingester, content, { name }, { 'content-type': type }),
    );
    expect(view).toMatchObject({ stored_encoding: 'identity', stored_size: content.length });
    expect((await download(deployment.query, view.file_id)).body.equals(content)).toBe(true);
  });

  it('refuses an unknown compression with a 400 naming the field', async () => {
    const response = await rawUpload(deployment.ingester, TEXT, { name: 'a.txt', compression: 'zstd' });
    expect((await expectProblem(response, 400, 'invalid_request')).field).toBe('compression');
  });

  it('never serves a damaged compressed copy with a 2xx', async () => {
    const small = documentText(200_000, 4);
    const view = await uploaded(
      await rawUpload(deployment.ingester, small, { name: 'small.txt', compression: 'gzip' }),
    );
    const names = await readdir(deployment.blobs, { recursive: true });
    const name = names.find((n) => n.includes(view.file_id) && !n.endsWith('.attr.json'));
    const handle = await open(join(deployment.blobs, name!), 'r+');
    await handle.write(Buffer.alloc(64, 0x5a), 0, 64, Math.floor(view.stored_size / 2));
    await handle.close();
    const ranged = await fetch(`${deployment.query}/api/v1/files/${view.file_id}/content`, {
      headers: { range: 'bytes=10-20' },
    });
    await expectProblem(ranged, 503, 'file_corrupt');
    const whole = await download(deployment.query, view.file_id);
    expect(whole.response.status).toBeGreaterThanOrEqual(400);
  });
}

describe('compression, --role all', () => {
  let db: TestDatabase;
  let dataDir: string;
  compressionStory(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-compress-'));
    const proc = await startServe(['--role', 'all', '--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
    });
    await signInAsBootstrapAdmin(proc.url, dataDir);
    return {
      ingester: proc.url,
      query: proc.url,
      blobs: join(dataDir, 'se', 'edit-1', 'blobs'),
      stop: async () => {
        expect(await proc.stop()).toBe(0);
        await db.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });
});

describe('compression, split roles (options over the SE client)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let split: SplitDeployment;
  compressionStory(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-compress-split-'));
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [{ id: 'edit-1', mode: 'edit' }],
    });
    return {
      ingester: split.ingester.url,
      query: split.query.url,
      blobs: join(dataDir, 'edit-1', 'se', 'edit-1', 'blobs'),
      stop: async () => {
        const codes = await Promise.all(split.processes.map((p) => p.stop()));
        expect(codes).toEqual(split.processes.map(() => 0));
        await db.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  });
});
