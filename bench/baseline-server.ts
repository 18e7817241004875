/**
 * Baseline servers for the benchmarks (ARCHITECTURE.md §8): bare node:http, no framework.
 *
 *   node dist/bench/baseline-server.js --kind raw-upload|full-path|raw-download|ping --dir DIR
 *                                      [--database-url URL]
 *
 * Listens on 127.0.0.1 port 0 and prints {"msg":"listening","url":"http://127.0.0.1:<port>"}.
 *
 * - raw-upload    POST /upload: the body streamed to a file with SHA-256, fsync, 201.
 * - full-path     POST /upload: the same, plus a sidecar JSON (temp + fsync + rename + dir fsync),
 *                 a log record appended with fdatasync and one PostgreSQL row (table bench_files),
 *                 all durable before the 201 — the minimum a crash-safe store must do per file.
 * - raw-download  GET /files/<name>: fs.createReadStream piped to the response, single Range.
 * - ping          GET anything: 200 with a tiny JSON body, no work.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'pg';

const KINDS = ['raw-upload', 'full-path', 'raw-download', 'ping'] as const;
type Kind = (typeof KINDS)[number];

const { values } = parseArgs({
  options: {
    kind: { type: 'string' },
    dir: { type: 'string' },
    'database-url': { type: 'string' },
  },
});
const kind = values.kind as Kind;
if (!KINDS.includes(kind)) throw new Error(`--kind must be one of ${KINDS.join(', ')}`);
const dir = values.dir ?? '.';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Streams the body into `path` while hashing it; resolves once the file is fsynced and closed. */
async function receive(req: IncomingMessage, path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  // flush: true fsyncs before close; pipeline settles only after the stream has closed.
  await pipeline(req, tap, createWriteStream(path, { flags: 'wx', flush: true }));
  return { size, sha256: hash.digest('hex') };
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(path: string, data: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await fsyncDirectory(join(path, '..'));
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; null means the whole file. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'invalid' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/u.exec(header.trim());
  if (!match) return null;
  const [, a = '', b = ''] = match;
  let start: number;
  let end: number;
  if (a === '') {
    if (b === '') return 'invalid';
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  return start > end || start >= size ? 'invalid' : { start, end };
}

async function rawUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = randomUUID();
  const result = await receive(req, join(dir, `${id}.bin`));
  send(res, 201, { file_id: id, ...result });
}

let log: FileHandle | null = null;
let pool: Pool | null = null;

async function fullPathUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const id = randomUUID();
  const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? 'file.bin';
  const blob = join(dir, `${id}.bin`);
  const { size, sha256 } = await receive(req, blob);
  const now = new Date().toISOString();
  const attrs = {
    file_id: id,
    name,
    content_type: req.headers['content-type'] ?? 'application/octet-stream',
    size,
    sha256,
    uploaded_at: now,
    retention_policy: 'temporary',
  };
  await writeDurably(`${blob}.attr.json`, JSON.stringify(attrs));
  await log!.write(`${JSON.stringify({ t: 'put', file_id: id, size, sha256 })}\n`);
  await log!.datasync();
  await pool!.query(
    'insert into bench_files (id, name, size, sha256, uploaded_at, attrs) values ($1, $2, $3, $4, $5, $6)',
    [id, name, size, sha256, now, attrs],
  );
  send(res, 201, attrs);
}

async function rawDownload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const name = decodeURIComponent((req.url ?? '').replace(/^\/files\//u, '').split('?')[0]!);
  if (name === '' || name.includes('/') || name.startsWith('.'))
    return send(res, 404, { error: 'not found' });
  const path = join(dir, name);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return send(res, 404, { error: 'not found' });
  }
  const range = parseRange(req.headers.range, size);
  if (range === 'invalid') {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    res.end();
    return;
  }
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'content-length': range ? range.end - range.start + 1 : size,
  };
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
  res.writeHead(range ? 206 : 200, headers);
  await pipeline(createReadStream(path, range ?? {}), res);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (kind === 'ping') return send(res, 200, { status: 'ok' });
  if (kind === 'raw-download' && req.method === 'GET' && req.url?.startsWith('/files/'))
    return rawDownload(req, res);
  if (req.method === 'POST' && req.url?.startsWith('/upload')) {
    if (kind === 'raw-upload') return rawUpload(req, res);
    if (kind === 'full-path') return fullPathUpload(req, res);
  }
  req.resume();
  send(res, 404, { error: 'not found' });
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (kind === 'full-path') {
    if (!values['database-url']) throw new Error('full-path needs --database-url');
    // Same pool size as ArtStore's default (database.ts: max 10).
    pool = new Pool({ connectionString: values['database-url'], max: 10 });
    await pool.query('select 1');
    log = await open(join(dir, 'bench.log'), 'a');
    await fsyncDirectory(dir);
  }
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A client that closes right after the last byte ends the pipeline this way: not a failure.
      if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      process.stderr.write(`${kind}: ${(error as Error).stack ?? String(error)}\n`);
      if (!res.headersSent) send(res, 500, { error: (error as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', kind, url: `http://127.0.0.1:${port}` })}\n`);
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void Promise.all([pool?.end(), log?.close()]).finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`baseline-server: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
