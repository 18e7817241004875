import bunyan from 'bunyan';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApplicationError } from '../application/errors';
import { migrate, openDatabase, type Orm } from '../adapters/persistence/database';
import { startEmbeddedPostgres } from '../adapters/persistence/embedded-postgres';
import { createLogger, type Logger } from '../adapters/telemetry/logger';
import {
  AuditChainBroken,
  IDENTITY_OPTIONS,
  isIdentityCommand,
  parseIdentityCommand,
  runIdentityCommand,
  UsageError,
} from './cli-identity';
import { ConfigError, loadConfig, type Config } from './config';
import { startArtStore } from './lifecycle';
import { VERSION } from './version';

const HELP = `artstore ${VERSION} — document storage with retention

Usage:
  artstore serve [--role all|admin|storage|ingester|query[,...]] [--port N] [--data-dir DIR] [--config FILE]
  artstore migrate [--config FILE]
  artstore accounts create --name NAME --scopes S1,S2 [--collections SCOPE=GLOB1|GLOB2,...]
                           [--internal] [--secret-ttl-days N]
  artstore accounts list [--limit N]
  artstore accounts rotate-secret CLIENT_ID [--secret-ttl-days N]
  artstore keys rotate
  artstore audit verify
  artstore --help | --version

serve     start the given roles in this process (default: all, port 8000, data dir ./data);
          --port 0 binds any free port; the bound address is logged ("listening").
migrate   apply pending database migrations and exit.
accounts  manage service accounts offline, directly in the database (no server needed).
          create and rotate-secret print the account as JSON with its client_secret, shown
          this once; list prints one JSON line per account, never a secret. --internal is
          required for the storage:* scopes (the roles' own accounts). Secrets expire after
          --secret-ttl-days (default 90).
audit     verify: walk the hash-chained audit log; prints {ok, count, head} or the first
          entry that does not belong ({ok: false, seq, reason}) and exits 1.
keys      rotate: publish the next token signing key now; it signs after key_publish_lead_s.
          Needs the server's master key (ARTSTORE_AUTH_MASTER_KEY or <data-dir>/master.key).
          Prints its kid and activates_at as JSON.

accounts and keys take --config FILE and --data-dir DIR like serve. Exit codes: 0 done,
1 refused or failed, 2 usage or configuration error.

Configuration comes from ARTSTORE_* environment variables and an optional JSON config file
(ARTSTORE_CONFIG_FILE or --config); see README.md for the table. With no ARTSTORE_DATABASE_URL,
an embedded PostgreSQL is started under the data directory.
`;

const OPTIONS = {
  role: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...IDENTITY_OPTIONS,
} as const;

async function serve(flags: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig({ env: process.env, flags });
  const log = createLogger(config.log_level, { roles: config.role.join(',') });
  // Listen for signals before starting, so a stop during start-up still shuts down cleanly.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const running = await startArtStore(config, log);
  log.info({ signal: await stopRequested }, 'stopping');
  await running.stop();
  log.info('stopped');
  return 0;
}

/**
 * The configured database, or the embedded one under the data directory. `exclusive` refuses an
 * embedded PostgreSQL that a running process holds: starting ours would stop theirs.
 */
async function withDatabase<T>(
  config: Config,
  log: Logger,
  options: { exclusive: boolean },
  use: (orm: Orm) => Promise<T>,
): Promise<T> {
  if (!config.database_url && options.exclusive) refuseRunningEmbedded(config.data_dir);
  const embedded = config.database_url ? null : await startEmbeddedPostgres(config.data_dir, log);
  try {
    const orm = await openDatabase({ url: config.database_url ?? embedded!.url, poolMax: 2 });
    try {
      return await use(orm);
    } finally {
      await orm.close();
    }
  } finally {
    await embedded?.stop();
  }
}

function refuseRunningEmbedded(dataDir: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 0);
  } catch {
    return; // no pid file, or its process is gone
  }
  throw new ApplicationError(
    'storage_unavailable',
    `the embedded PostgreSQL under ${dataDir} is in use (pid ${pid}): stop the server first, or set ARTSTORE_DATABASE_URL`,
  );
}

async function migrateOnly(flags: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig({ env: process.env, flags });
  const log = createLogger(config.log_level);
  await withDatabase(config, log, { exclusive: false }, async (orm) => {
    const applied = await migrate(orm);
    log.info({ migrations: applied }, applied.length ? 'migrations applied' : 'database is up to date');
  });
  return 0;
}

async function identity(
  positionals: readonly string[],
  values: Parameters<typeof parseIdentityCommand>[1],
  flags: Record<string, string | undefined>,
): Promise<number> {
  const command = parseIdentityCommand(positionals, values);
  const config = loadConfig({ env: process.env, flags });
  // stdout carries only the result, so it can be piped into jq or a secret store.
  const log = bunyan.createLogger({
    name: 'artstore',
    level: config.log_level,
    stream: process.stderr,
    serializers: { err: bunyan.stdSerializers.err },
  });
  await withDatabase(config, log, { exclusive: true }, async (orm) => {
    const pending = await orm.migrator.getPending();
    if (pending.length > 0) {
      throw new ApplicationError(
        'storage_unavailable',
        `the database has ${pending.length} pending migration(s): run 'artstore migrate' first`,
      );
    }
    const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
    await runIdentityCommand(command, config, orm, log, print);
  });
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`artstore: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  const flags = {
    role: values.role,
    port: values.port,
    'data-dir': values['data-dir'],
    config: values.config,
  };
  const identityFlags = (Object.keys(IDENTITY_OPTIONS) as (keyof typeof IDENTITY_OPTIONS)[]).filter(
    (flag) => values[flag] !== undefined,
  );
  try {
    if (isIdentityCommand(command)) {
      if (flags.role !== undefined || flags.port !== undefined) {
        throw new UsageError(`${command} does not take --role or --port`);
      }
      return await identity(positionals, values, flags);
    }
    if (identityFlags.length > 0 && (command === 'serve' || command === 'migrate')) {
      throw new UsageError(`${command} does not take --${identityFlags.join(', --')}`);
    }
    if (command === 'serve') return await serve(flags);
    if (command === 'migrate') return await migrateOnly(flags);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`artstore: ${error.message} (see artstore --help)\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`artstore: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ApplicationError) {
      process.stderr.write(`artstore: ${error.code}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof AuditChainBroken) {
      process.stderr.write(`artstore: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`artstore: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
  process.stderr.write(`artstore: unknown command '${command}'\n\n${HELP}`);
  return 2;
}

/** Entry point used by bin/artstore.js. */
export function run(argv: readonly string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`artstore: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
