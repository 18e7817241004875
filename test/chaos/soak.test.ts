/**
 * Issue 7, load and soak: measure the peak throughput of a mixed workload on one all-in-one
 * ArtStore, then run the same mix open loop at 70 % of that peak (tier 1: 2 minutes, tier 2: 60)
 * and watch the process: heap after a forced GC (through the inspector), RSS, event-loop lag,
 * open file descriptors, error log lines. docs/chaos.md (## Load and soak) has the targets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LoadClient } from '../../bench/client';
import { percentile } from '../../bench/stats';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { bootstrapCredentials, clientToken } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/poll';
import { recordFigures } from './support/figures';
import { Inspector, inspectedNodeOptions, inspectorUrl, type MemorySample } from './support/soak-inspector';
import { closedLoop, openLoop, slope, Tally } from './support/soak-load';
import { eventLoopLag, fdTargets, newFdTargets, openFds, peakRssBytes } from './support/soak-probes';
import { Workload } from './support/soak-workload';
import { byTier } from './support/tier';

afterAll(killAll);

const PEAK_WORKERS = 16;
const PEAK_MS = byTier(20_000, 60_000);
/** CHAOS_SOAK_MINUTES overrides the tier's length (a longer soak before a release, a short one to try a change). */
const SOAK_MS = Number(process.env.CHAOS_SOAK_MINUTES ?? byTier(2, 60)) * 60_000;
/** The steady state starts after this much of the soak: caches and the live set are full by then. */
const WARMUP_MS = Math.min(byTier(20_000, 300_000), SOAK_MS / 4);
const SAMPLE_EVERY_MS = Math.min(byTier(10_000, 60_000), SOAK_MS / 8);
const LOAD_SHARE = 0.7;
const MAX_IN_FLIGHT = 64;
const MAX_LIVE_FILES = byTier(150, 1_000);
const SEED_FILES = 60;
/** Heap after GC at the end may exceed the start by this much (allocator and JIT noise)… */
const HEAP_SLACK_BYTES = 8 << 20;
/** …and the least-squares trend over the steady state may add at most this much over its length. */
const HEAP_TREND_BYTES = 8 << 20;
/** Descriptors the process may hold past its baseline once the load has drained. */
const FD_SLACK = 4;
const TOKEN_REFRESH_MS = 5 * 60_000;

const MiB = 1 << 20;
const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

interface Sample {
  readonly atS: number;
  readonly memory: MemorySample;
  readonly fds: number;
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
  readonly liveFiles: number;
  /** Answers per second since the previous sample: shows whether the server kept the pace. */
  readonly rate: number;
}

/** Error-level (≥ 50) bunyan lines of the child; the line buffer is emptied as it is read. */
function takeErrorLines(proc: ArtStoreProcess, into: string[]): void {
  for (const line of proc.lines.splice(0)) {
    try {
      if ((JSON.parse(line) as { level?: number }).level! >= 50) into.push(line.slice(0, 400));
    } catch {
      // not JSON (the inspector's own notices on stderr)
    }
  }
}

describe('load and soak', () => {
  let db: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-soak-'));
  });

  afterAll(async () => {
    await killAll();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(`holds ${LOAD_SHARE * 100} % of its peak for ${SOAK_MS / 60_000} min: heap flat, fds back to baseline, no errors`, async () => {
    const phases: [string, number][] = [];
    let phaseAt = performance.now();
    const phase = (name: string): void => {
      const now = performance.now();
      phases.push([name, (now - phaseAt) / 1000]);
      phaseAt = now;
    };
    const proc = await startServe(['--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      NODE_OPTIONS: inspectedNodeOptions(),
    });
    const inspector = await Inspector.connect(inspectorUrl(proc.lines));
    const credentials = await bootstrapCredentials(dataDir);
    let token = { value: await clientToken(proc.url, credentials), at: Date.now() };
    const refreshToken = async (): Promise<void> => {
      if (Date.now() - token.at > TOKEN_REFRESH_MS)
        token = { value: await clientToken(proc.url, credentials), at: Date.now() };
    };
    const errorLines: string[] = [];
    const client = new LoadClient(MAX_IN_FLIGHT);
    const workload = new Workload(proc.url, client, () => `Bearer ${token.value}`, MAX_LIVE_FILES);

    try {
      // Seed files to read, then the quiet baseline (the load client's sockets closed).
      const seed = new Tally();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < SEED_FILES / 4; i += 1) seed.add(await workload.runOne('upload_small'), 0);
        }),
      );
      expect(seed.describeErrors()).toBe('none');
      const baselineFds = openFds(proc.pid);
      const baselineFdTargets = fdTargets(proc.pid);
      phase('start and seed');
      const baselineHeap = await inspector.memoryAfterGc();

      // Peak: closed loop, as fast as PEAK_WORKERS clients go.
      const peakTally = new Tally();
      const peak = await closedLoop(workload, PEAK_WORKERS, PEAK_MS, peakTally);
      const peakRate = peak.completed / peak.seconds;
      const targetRate = peakRate * LOAD_SHARE;
      phase('peak');

      // Soak: open loop at the target rate, sampled from outside.
      const tally = new Tally();
      const samples: Sample[] = [];
      const startedAt = performance.now();
      const sampleTimes: number[] = [];
      for (let t = WARMUP_MS; t < SOAK_MS - 2_000; t += SAMPLE_EVERY_MS) sampleTimes.push(t);
      sampleTimes.push(SOAK_MS - 2_000);
      const sampling = (async () => {
        let last = { at: performance.now(), requests: 0 };
        for (const t of sampleTimes) {
          // Pacing the samples on the soak's clock.
          await delay(Math.max(0, t - (performance.now() - startedAt)));
          const lag = await eventLoopLag(proc.url);
          samples.push({
            atS: (performance.now() - startedAt) / 1000,
            memory: await inspector.memoryAfterGc(),
            fds: openFds(proc.pid),
            lagP99Ms: lag.p99,
            lagMaxMs: lag.max,
            liveFiles: workload.liveFiles,
            rate: ((tally.requests - last.requests) * 1000) / (performance.now() - last.at),
          });
          last = { at: performance.now(), requests: tally.requests };
          takeErrorLines(proc, errorLines);
          await refreshToken();
        }
      })();
      const soak = await openLoop(workload, targetRate, SOAK_MS, MAX_IN_FLIGHT, tally);
      await sampling;
      client.close();
      phase('soak and drain');

      // After the drain: descriptors back to the baseline, and the heap once more.
      const afterFds = await eventually(
        async () => openFds(proc.pid),
        (n) => n <= baselineFds + FD_SLACK,
        30_000,
      );
      phase('fds back');
      const extraFds =
        afterFds > baselineFds + FD_SLACK ? newFdTargets(baselineFdTargets, fdTargets(proc.pid)) : [];
      const afterHeap = await inspector.memoryAfterGc();
      takeErrorLines(proc, errorLines);

      const heapStart = samples[0]!.memory.heapUsed;
      const heapEnd = samples.at(-1)!.memory.heapUsed;
      const heapSlope = slope(samples.map((s) => ({ x: s.atS / 60, y: s.memory.heapUsed })));
      const steadyMinutes = (samples.at(-1)!.atS - samples[0]!.atS) / 60;
      const heapTrend = heapSlope * steadyMinutes;
      const errors = peakTally.errorCount + tally.errorCount;
      const latencies = tally.latencies;
      const achievedRate = soak.completed / soak.seconds;

      const report = [
        '[soak] samples (s, heap MiB, rss MiB, fds, lag p99 ms, live files, answers/s):',
        ...samples.map(
          (x) =>
            `  ${x.atS.toFixed(0)} ${(x.memory.heapUsed / MiB).toFixed(1)} ${(x.memory.rss / MiB).toFixed(0)} ${x.fds} ${x.lagP99Ms.toFixed(1)} ${x.liveFiles} ${x.rate.toFixed(1)}`,
        ),
        `[soak] phases (s): ${phases.map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`).join(', ')}`,
        `[soak] statuses: ${[...tally.statuses]
          .sort()
          .map(([k, n]) => `${k}×${n}`)
          .join(', ')}`,
        `[soak] errors: ${tally.describeErrors()}; peak phase: ${peakTally.describeErrors()}`,
        ...(extraFds.length ? [`[soak] fds not closed: ${extraFds.join(', ')}`] : []),
        ...errorLines.slice(0, 5).map((line) => `[soak] error line: ${line}`),
      ];
      process.stdout.write(`\n${report.join('\n')}\n`);
      const heapOk = heapEnd <= heapStart + HEAP_SLACK_BYTES;
      const trendOk = heapTrend <= HEAP_TREND_BYTES;
      const fdsOk = afterFds <= baselineFds + FD_SLACK;
      const rateOk = achievedRate >= targetRate * 0.95;
      recordFigures('load and soak', [
        { name: 'soak minutes', value: SOAK_MS / 60_000 },
        { name: 'peak req/s (closed loop, 16 clients)', value: round(peakRate) },
        { name: 'target req/s (70 % of peak)', value: round(targetRate) },
        {
          name: 'achieved req/s',
          value: round(achievedRate),
          target: '≥ 95 % of target',
          ok: rateOk,
        },
        { name: 'starts skipped (64 in flight)', value: soak.skipped },
        { name: 'requests (peak + soak)', value: peakTally.requests + tally.requests },
        { name: 'resent on a stale keep-alive socket', value: client.staleSocketRetries },
        { name: 'errors', value: errors, target: '0', ok: errors === 0 },
        { name: 'error log lines', value: errorLines.length, target: '0', ok: errorLines.length === 0 },
        { name: 'soak latency p50 ms', value: round(percentile(latencies, 50)) },
        { name: 'soak latency p99 ms', value: round(percentile(latencies, 99)) },
        { name: 'heap after GC baseline MiB', value: round(baselineHeap.heapUsed / MiB) },
        { name: 'heap after GC start MiB', value: round(heapStart / MiB) },
        {
          name: 'heap after GC end MiB',
          value: round(heapEnd / MiB),
          target: `≤ start + ${HEAP_SLACK_BYTES / MiB}`,
          ok: heapOk,
        },
        {
          name: 'heap trend over steady state MiB',
          value: round(heapTrend / MiB),
          target: `≤ ${HEAP_TREND_BYTES / MiB}`,
          ok: trendOk,
        },
        { name: 'heap slope MiB/min', value: round(heapSlope / MiB, 2) },
        { name: 'heap after GC after drain MiB', value: round(afterHeap.heapUsed / MiB) },
        { name: 'RSS max MiB', value: round(peakRssBytes(proc.pid) / MiB) },
        { name: 'event-loop lag p99 max ms', value: round(Math.max(...samples.map((s) => s.lagP99Ms))) },
        { name: 'fds baseline', value: baselineFds },
        { name: 'fds max during soak', value: Math.max(...samples.map((s) => s.fds)) },
        { name: 'fds after drain', value: afterFds, target: `≤ baseline + ${FD_SLACK}`, ok: fdsOk },
      ]);

      expect(tally.describeErrors()).toBe('none');
      expect(peakTally.describeErrors()).toBe('none');
      expect(errorLines).toEqual([]);
      expect(achievedRate).toBeGreaterThanOrEqual(targetRate * 0.95);
      expect(heapEnd).toBeLessThanOrEqual(heapStart + HEAP_SLACK_BYTES);
      expect(heapTrend).toBeLessThanOrEqual(HEAP_TREND_BYTES);
      expect(afterFds).toBeLessThanOrEqual(baselineFds + FD_SLACK);
      expect(samples).toHaveLength(sampleTimes.length);
    } finally {
      client.close();
      inspector.close();
      expect(await proc.stop()).toBe(0);
    }
  });
});
