/**
 * ArtStore benchmarks (ARCHITECTURE.md §8): `npm run bench`, or `BENCH_QUICK=1 npm run bench`.
 * Prints figures and ratios against baselines measured in the same run; never fails on a ratio.
 *
 * Environment:
 *   BENCH_QUICK=1                  small sizes and 2 rounds (a smoke run, under a minute)
 *   BENCH_ROUNDS=N                 paired rounds per scenario (default 5, quick 2)
 *   BENCH_ONLY=1,…,11              run only these scenarios (3 and 4 share their setup; 6 comes with 1 and 3; 7: tus; 8: compression; 9: cached metadata reads; 10: search; 11: compressed downloads)
 *   BENCH_CPU_PROF=DIR             run ArtStore with --cpu-prof, profiles written to DIR
 *   ARTSTORE_BENCH_DATABASE_URL    PostgreSQL server for throwaway databases
 *                                  (default postgresql://postgres@127.0.0.1:5432/postgres)
 */
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { Bench, loadSettings, MiB } from './context';
import { stopAll } from './processes';
import { HEADER } from './report';
import { compressedUpload } from './compressed-upload';
import { bigUpload, downloads, smallUploads, tusUploads } from './scenarios';
import { cachedReads } from './cache';
import { searchBench } from './search';
import { compressedDownloads } from './compressed-downloads';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const PEAK_RSS_GOAL_MIB = 150;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function summary(bench: Bench): void {
  say(
    '\n== Summary (figures: median of the rounds; ratio: median ArtStore ÷ baseline per round [min–max]) ==',
  );
  say(HEADER);
  for (const row of bench.rows) say(row.line());
  const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;
  const transfers = [...bench.peaks].filter(([label]) => label.startsWith('ArtStore, big'));
  if (transfers.length > 0) {
    const worst = Math.max(...transfers.map(([, bytes]) => bytes));
    say(
      `6  peak RSS (VmHWM) of ArtStore: ${transfers.map(([label, bytes]) => `${label.slice(10)} ${mib(bytes)}`).join(', ')}` +
        ` → max ${mib(worst)}, goal ≤ ${PEAK_RSS_GOAL_MIB} MiB → ${worst <= PEAK_RSS_GOAL_MIB * MiB ? 'meets' : 'MISSES'}`,
    );
    const context = [...bench.peaks].filter(([label]) => !label.startsWith('ArtStore, big'));
    say(`   for context: ${context.map(([label, bytes]) => `${label} ${mib(bytes)}`).join(', ')}`);
  }
  const missed = bench.rows.filter((row) => row.meets() === false).map((row) => row.id);
  say(
    missed.length
      ? `\nmedian ratio misses its goal in: ${missed.join(', ')}`
      : '\nevery median ratio meets its goal',
  );
  say('(benchmarks never gate: shared machines drift ±25 %, read the min–max next to each median)');
}

async function main(): Promise<void> {
  const settings = loadSettings(process.env);
  const bench = new Bench(settings);
  let cleaning: Promise<void> | null = null;
  const cleanUp = (): Promise<void> => {
    cleaning ??= stopAll().then(() => bench.tearDown());
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping servers, dropping databases, removing temp files\n`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  const started = Date.now();
  try {
    await bench.setUp();
    say(
      `ArtStore benchmarks — ${settings.quick ? 'QUICK (smoke) mode' : 'full mode'}, ${settings.rounds} paired rounds`,
    );
    say(
      `node ${process.version} on ${platform()} ${release()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ` +
        `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM; UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '16'} for every server`,
    );
    say(`PostgreSQL: ${await bench.serverInfo()}; temp dir ${bench.tmp}`);
    say(`load average before the run: ${load()} (other work on the machine skews single rounds)`);
    say(
      'client: node:http keep-alive Agent in the runner process, maxSockets = concurrency, bodies from memory',
    );
    if (settings.cpuProfDir) say(`ArtStore CPU profiles → ${settings.cpuProfDir}`);
    if (bench.wants('1') || bench.wants('6')) await bigUpload(bench);
    if (bench.wants('2')) await smallUploads(bench);
    if (['3', '4', '5', '6'].some((id) => bench.wants(id))) await downloads(bench);
    if (bench.wants('7')) await tusUploads(bench);
    if (bench.wants('8')) await compressedUpload(bench);
    if (bench.wants('9')) await cachedReads(bench);
    if (bench.wants('10')) await searchBench(bench);
    if (bench.wants('11')) await compressedDownloads(bench);
    summary(bench);
    say(`load average after the run: ${load()}`);
  } finally {
    await cleanUp();
    say(
      `\n(total ${((Date.now() - started) / 1000).toFixed(0)} s; servers stopped, databases dropped, temp files removed)`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
