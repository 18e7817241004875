import { parseArgs } from 'node:util';
import { migrate, openDatabase } from '../adapters/persistence/database';
import { startEmbeddedPostgres } from '../adapters/persistence/embedded-postgres';
import { createLogger } from '../adapters/telemetry/logger';
import { ConfigError, loadConfig } from './config';
import { startArtStore } from './lifecycle';
import { VERSION } from './version';

const HELP = `artstore ${VERSION} — document storage with retention

Usage:
  artstore serve [--role all|admin|storage|ingester|query[,...]] [--port N] [--data-dir DIR] [--config FILE]
  artstore migrate [--config FILE]
  artstore --help | --version

serve     start the given roles in this process (default: all, port 8000, data dir ./data);
          --port 0 binds any free port; the bound address is logged ("listening").
migrate   apply pending database migrations and exit.

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

async function migrateOnly(flags: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig({ env: process.env, flags });
  const log = createLogger(config.log_level);
  const embedded = config.database_url ? null : await startEmbeddedPostgres(config.data_dir, log);
  const orm = await openDatabase({ url: config.database_url ?? embedded!.url });
  try {
    const applied = await migrate(orm);
    log.info({ migrations: applied }, applied.length ? 'migrations applied' : 'database is up to date');
  } finally {
    await orm.close();
    await embedded?.stop();
  }
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
  try {
    if (command === 'serve') return await serve(flags);
    if (command === 'migrate') return await migrateOnly(flags);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`artstore: ${error.message}\n`);
      return 2;
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
