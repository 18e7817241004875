/** Settings and shared resources of one benchmark run. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { authorizeOrigin, randomPool } from './client';
import { Databases, DEFAULT_ADMIN_URL, execute } from './db';
import { ServerProcess } from './processes';
import type { Row } from './report';

const MiB = 1 << 20;

export interface Settings {
  readonly quick: boolean;
  readonly rounds: number;
  /** The "1 GiB" file of the upload and download scenarios. */
  readonly bigBytes: number;
  /** The "100 MiB" Range from the middle of the big file. */
  readonly rangeBytes: number;
  readonly smallBytes: number;
  /** Uploads per round at c=16. */
  readonly smallCount: number;
  /** Uploads per round at c=1 (latency). */
  readonly latencyCount: number;
  readonly concurrency: number;
  /** Length of one measurement of the request-rate scenarios. */
  readonly rateMs: number;
  readonly only: ReadonlySet<string> | null;
  /** When set, ArtStore runs with --cpu-prof and writes its profiles here. */
  readonly cpuProfDir: string | null;
  readonly adminUrl: string;
}

export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const rounds = Number(env.BENCH_ROUNDS ?? (quick ? 2 : 5));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('BENCH_ROUNDS must be a positive integer');
  return {
    quick,
    rounds,
    bigBytes: quick ? 64 * MiB : 1024 * MiB,
    rangeBytes: quick ? 8 * MiB : 100 * MiB,
    smallBytes: 64 * 1024,
    smallCount: quick ? 200 : 1000,
    latencyCount: quick ? 50 : 200,
    concurrency: 16,
    rateMs: quick ? 500 : 3000,
    only: env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',').map((s) => s.trim())) : null,
    cpuProfDir: env.BENCH_CPU_PROF ? resolve(env.BENCH_CPU_PROF) : null,
    adminUrl: env.ARTSTORE_BENCH_DATABASE_URL || DEFAULT_ADMIN_URL,
  };
}

/** dist/bench/context.js → the repository root. */
const ROOT = resolve(__dirname, '..', '..');
const ARTSTORE_BIN = join(ROOT, 'bin', 'artstore.js');
const BASELINE_SERVER = join(__dirname, 'baseline-server.js');
const TUS_PEER_SERVER = join(__dirname, 'tus-peer-server.js');

export type BaselineKind = 'raw-upload' | 'full-path' | 'raw-download' | 'ping';

export class Bench {
  readonly rows: Row[] = [];
  /** Peak RSS (VmHWM) of processes, by label. */
  readonly peaks = new Map<string, number>();
  private readonly databases: Databases;
  private readonly prefix = `artstore_bench_${randomBytes(5).toString('hex')}`;
  private databaseCount = 0;
  /** The bench database (the full-path baseline's table); ArtStore instances get their own. */
  benchDatabaseUrl = '';
  tmp = '';
  /** Random bytes every upload body is cut from; also the content of the download files. */
  readonly pool: Buffer;

  constructor(readonly settings: Settings) {
    this.databases = new Databases(settings.adminUrl);
    this.pool = randomPool(Math.min(settings.bigBytes, 64 * MiB));
  }

  async setUp(): Promise<void> {
    this.tmp = await mkdtemp(join(tmpdir(), 'artstore-bench-'));
    this.benchDatabaseUrl = await this.databases.create(this.prefix);
    await execute(
      this.benchDatabaseUrl,
      `create table bench_files (
         id uuid primary key, name text not null, size bigint not null, sha256 text not null,
         uploaded_at timestamptz not null, attrs jsonb not null)`,
    );
  }

  serverInfo(): Promise<string> {
    return this.databases.serverInfo();
  }

  wants(id: string): boolean {
    return this.settings.only === null || this.settings.only.has(id);
  }

  async dir(name: string): Promise<string> {
    const path = join(this.tmp, name);
    await mkdir(path, { recursive: true });
    return path;
  }

  /** A fresh database for one ArtStore data directory (migrated by ArtStore on start). */
  newArtStoreDatabase(): Promise<string> {
    this.databaseCount += 1;
    return this.databases.create(`${this.prefix}_${this.databaseCount}`);
  }

  private childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env))
      if (!key.startsWith('ARTSTORE_') && !key.startsWith('BENCH_')) env[key] = value;
    // bin/artstore.js defaults the libuv pool to 16 threads; the baselines get the same.
    env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE ?? '16';
    return { ...env, ...extra };
  }

  /** Starts ArtStore and signs in with the service account its first start wrote to `dataDir`. */
  async startArtStore(
    label: string,
    dataDir: string,
    databaseUrl: string,
    env: Record<string, string> = {},
  ): Promise<ServerProcess> {
    const server = await this.spawnArtStore(label, dataDir, databaseUrl, env);
    const credentials = JSON.parse(await readFile(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as {
      service_account: { client_id: string; client_secret: string };
    };
    const { client_id: id, client_secret: secret } = credentials.service_account;
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token)
      throw new Error(`ArtStore ${label} refused the bench's token request: ${response.status}`);
    authorizeOrigin(server.url, body.access_token);
    return server;
  }

  private spawnArtStore(
    label: string,
    dataDir: string,
    databaseUrl: string,
    env: Record<string, string>,
  ): Promise<ServerProcess> {
    const profile = this.settings.cpuProfDir
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${this.settings.cpuProfDir}`,
          `--cpu-prof-name=artstore-${label}-${Date.now()}.cpuprofile`,
        ]
      : [];
    return ServerProcess.start({
      label: `ArtStore ${label}`,
      args: [...profile, ARTSTORE_BIN, 'serve', '--port', '0', '--data-dir', dataDir],
      env: this.childEnv({
        ARTSTORE_DATABASE_URL: databaseUrl,
        ARTSTORE_LOG_LEVEL: 'info',
        ARTSTORE_HOST: '127.0.0.1',
        ...env,
      }),
    });
  }

  startBaseline(kind: BaselineKind, dir: string): Promise<ServerProcess> {
    const args = [BASELINE_SERVER, '--kind', kind, '--dir', dir];
    if (kind === 'full-path') args.push('--database-url', this.benchDatabaseUrl);
    return ServerProcess.start({ label: kind, args, env: this.childEnv({}) });
  }

  /** `@tus/server` with its file store, the tus peer. */
  startTusPeer(dir: string): Promise<ServerProcess> {
    return ServerProcess.start({
      label: 'tus-file-store',
      args: [TUS_PEER_SERVER, '--dir', dir],
      env: this.childEnv({}),
    });
  }

  async tearDown(): Promise<void> {
    const problems: string[] = [];
    await this.databases
      .dropAll()
      .catch((error: unknown) => problems.push(`drop databases: ${String(error)}`));
    if (this.tmp) await rm(this.tmp, { recursive: true, force: true });
    if (problems.length) process.stderr.write(`cleanup: ${problems.join('; ')}\n`);
  }
}

export async function emptyDirectory(path: string): Promise<void> {
  for (const name of await readdir(path)) await rm(join(path, name), { recursive: true, force: true });
}

export { MiB };
