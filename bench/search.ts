/**
 * Scenario 10: search on a generated catalog of 1 000 000 files (100 000 in quick mode).
 * `BENCH_ONLY=10 npm run bench`, or standalone: `node dist/bench/search.js` (same environment).
 *
 * There is no natural baseline for ranked full-text search, so the report prints p50/p95 of each
 * query kind through the API, the same search run in-process on the catalog adapter (what §8
 * calls "direct SQL": the API's overhead is the ratio of the two), and the ratio of the API's p50
 * to a trivial lookup by primary key on the same database (`select … where file_id = $1`).
 */
import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { migrate, openDatabase } from '../src/adapters/persistence/database';
import { MikroOrmFileCatalog } from '../src/adapters/persistence/mikro-orm-file-catalog';
import { JsonSidecarCodec } from '../src/adapters/sidecar/json-sidecar-codec';
import type { CatalogSearch } from '../src/application/ports/file-catalog';
import { LoadClient } from './client';
import { Bench, loadSettings } from './context';
import { stopAll } from './processes';
import { Row } from './report';
import { counterparties, fillCatalog } from './search-data';
import { fmt, latencySummary } from './stats';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

interface QueryKind {
  readonly id: string;
  readonly label: string;
  /** Query-string parameters of the i-th request (varied so no two requests in a row are equal). */
  params(i: number): Record<string, string>;
}

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;
const RARE = counterparties().filter((_, i) => i % 97 === 0);

const KINDS: readonly QueryKind[] = [
  { id: 'a', label: 'rare word (≈0.02 %, metadata)', params: (i) => ({ q: pick(RARE, i) }) },
  {
    id: 'b',
    label: 'medium word, any form (≈1.5 %)',
    params: (i) => ({ q: pick(['договоры', 'invoices', 'протоколы', 'reports', 'сметы', 'budgets'], i) }),
  },
  {
    id: 'c',
    label: 'two words',
    params: (i) => ({ q: pick(['договор поставки', 'annual report', 'акт работ', 'payroll audit'], i) }),
  },
  {
    id: 'd',
    label: 'phrase',
    params: (i) => ({ q: pick(['"договор аренды"', '"quarterly statement"', '"счет услуг"'], i) }),
  },
  {
    id: 'e',
    label: 'prefix (type-ahead)',
    params: (i) => ({ q: pick(['дове', 'invo', 'специф', 'presen'], i) }),
  },
  { id: 'f', label: 'common word (10 %, tag)', params: () => ({ q: 'archive' }) },
  {
    id: 'g',
    label: 'word + filters (type, date range)',
    params: (i) => ({
      q: pick(['отчеты', 'contracts', 'приказы'], i),
      content_type: 'application/pdf',
      uploaded_from: '2025-01-15T00:00:00Z',
      uploaded_to: '2025-03-01T00:00:00Z',
    }),
  },
  {
    id: 'h',
    label: 'medium word sorted by date',
    params: (i) => ({ q: pick(['договоры', 'invoices', 'протоколы', 'reports'], i), sort: 'date' }),
  },
];

/** The catalog query the API runs for the same parameters (what the route would build). */
function catalogQuery(params: Record<string, string>): CatalogSearch {
  return {
    text: params.q ?? '',
    limit: 20,
    cursor: null,
    sort: params.sort === 'date' ? 'date' : undefined,
    filters: {
      contentTypes: params.content_type ? [params.content_type] : undefined,
      uploadedFrom: params.uploaded_from ? new Date(params.uploaded_from) : undefined,
      uploadedTo: params.uploaded_to ? new Date(params.uploaded_to) : undefined,
    },
  };
}

async function timed(n: number, run: (i: number) => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const started = process.hrtime.bigint();
    await run(i);
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return ms;
}

export async function searchBench(bench: Bench): Promise<void> {
  const rows = Number(process.env.BENCH_SEARCH_ROWS ?? (bench.settings.quick ? 100_000 : 1_000_000));
  const perKind = Number(process.env.BENCH_SEARCH_REPEATS ?? (bench.settings.quick ? 20 : 40));
  // BENCH_SEARCH_KINDS=a,f: only these query kinds (ids of KINDS).
  const only = process.env.BENCH_SEARCH_KINDS?.split(',').map((s) => s.trim());
  say(`\n== 9: search on a catalog of ${rows.toLocaleString('en')} generated files ==`);
  // BENCH_SEARCH_DATABASE_URL: a database kept between runs (generating 1 M rows takes minutes);
  // it is migrated, filled only when empty, and never dropped by the bench.
  const kept = process.env.BENCH_SEARCH_DATABASE_URL;
  const url = kept || (await bench.newArtStoreDatabase());
  const orm = await openDatabase({ url, poolMax: 4 });
  try {
    const started = Date.now();
    const applied = await migrate(orm);
    if (applied.length > 0)
      say(`  migrated (${applied.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const pg = new Client({ connectionString: url });
    await pg.connect();
    const present = Number(
      (await pg.query<{ n: string }>('select count(*) as n from files')).rows[0]?.n ?? 0,
    );
    if (present === 0) {
      const seconds = await fillCatalog(url, rows, say);
      say(
        `  catalog filled in ${seconds.toFixed(0)} s (${fmt(rows / seconds)} rows/s, trigger-built tsvectors, GIN index live)`,
      );
    } else {
      say(`  reusing a catalog of ${present.toLocaleString('en')} files`);
      // Its accounts and keys were made by an earlier run whose data directory is gone: let ArtStore's
      // first-start bootstrap run again.
      await pg.query(
        'delete from user_sessions; delete from users; delete from service_accounts; delete from signing_keys',
      );
    }
    const ids = (
      await pg.query<{ file_id: string }>('select file_id from files tablesample system (1) limit 1000')
    ).rows.map((r) => r.file_id);
    // The search cache off: every request repeats one query, which would otherwise be answered
    // from the cache after the first (scenario 9 measures the cache).
    const server = await bench.startArtStore('search', await bench.dir('search'), url, {
      ARTSTORE_CACHE_SEARCH_ENTRIES: '0',
    });
    const client = new LoadClient(1);
    const catalog = new MikroOrmFileCatalog(orm, new JsonSidecarCodec());
    try {
      const pk = async (i: number) => {
        await pg.query('select attributes from files where file_id = $1', [
          pick(ids, i * 7 + randomInt(1000)),
        ]);
      };
      await timed(50, pk);
      const pkMs = latencySummary(await timed(perKind * 4, pk));
      say(`  primary-key lookup (pg driver): p50 ${fmt(pkMs.p50)} ms, p95 ${fmt(pkMs.p95)} ms`);
      for (const kind of KINDS.filter((k) => !only || only.includes(k.id))) {
        const api = async (i: number) => {
          const response = await client.send({
            method: 'GET',
            url: `${server.url}/api/v1/search?${new URLSearchParams(kind.params(i)).toString()}`,
            collect: true,
          });
          if (response.status !== 200)
            throw new Error(`search ${kind.id} answered ${response.status}: ${response.body.toString()}`);
        };
        const direct = async (i: number) => {
          await catalog.search(catalogQuery(kind.params(i)));
        };
        await timed(5, api);
        await timed(5, direct);
        const apiMs = latencySummary(await timed(perKind, api));
        const directMs = latencySummary(await timed(perKind, direct));
        const hits = JSON.parse(
          (
            await client.send({
              method: 'GET',
              url: `${server.url}/api/v1/search?${new URLSearchParams(kind.params(0)).toString()}`,
              collect: true,
            })
          ).body.toString(),
        ) as { items: unknown[] };
        say(
          `  [10${kind.id}] ${kind.label.padEnd(36)} API p50 ${fmt(apiMs.p50).padStart(6)} ms p95 ${fmt(apiMs.p95).padStart(6)} ms; ` +
            `in-process catalog p50 ${fmt(directMs.p50).padStart(6)} ms p95 ${fmt(directMs.p95).padStart(6)} ms; ` +
            `API ÷ catalog ${fmt(apiMs.p50 / directMs.p50)}; API ÷ pk lookup ${fmt(apiMs.p50 / pkMs.p50)} (${hits.items.length} hits on page 1)`,
        );
        const row = new Row(`10${kind.id}`, `search: ${kind.label}`, 'ms p50', 'in-process', {
          kind: 'max',
          value: 1.3,
        });
        row.add(directMs.p50, apiMs.p50, `p95 API ${fmt(apiMs.p95)} ms, pk lookup p50 ${fmt(pkMs.p50)} ms`);
        bench.rows.push(row);
      }
    } finally {
      client.close();
      await pg.end();
      await server.stop();
    }
  } finally {
    await orm.close();
  }
}

async function main(): Promise<void> {
  const bench = new Bench(loadSettings(process.env));
  let cleaning: Promise<void> | null = null;
  const cleanUp = (): Promise<void> => {
    cleaning ??= stopAll().then(() => bench.tearDown());
    return cleaning;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  try {
    await bench.setUp();
    say(`PostgreSQL: ${await bench.serverInfo()}`);
    await searchBench(bench);
    for (const row of bench.rows) say(row.line());
  } finally {
    await cleanUp();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
