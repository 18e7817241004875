/**
 * Two ways to drive the soak workload: closed loop (a fixed number of workers, each starting its
 * next operation when the last ends: the peak throughput) and open loop (operations start on a
 * fixed schedule whatever the answers' pace, as real clients arrive; latency counts from the
 * scheduled start, so a server that falls behind shows it instead of slowing the load down).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Outcome, Workload } from './soak-workload';

/** Every answer of a phase: counts, error kinds, latencies. */
export class Tally {
  requests = 0;
  readonly latencies: number[] = [];
  readonly errors = new Map<string, number>();
  readonly statuses = new Map<string, number>();

  add(outcome: Outcome, ms: number): void {
    this.requests += 1;
    this.latencies.push(ms);
    const key = `${outcome.operation} ${outcome.status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (!outcome.ok) this.errors.set(outcome.kind!, (this.errors.get(outcome.kind!) ?? 0) + 1);
  }

  get errorCount(): number {
    let n = 0;
    for (const count of this.errors.values()) n += count;
    return n;
  }

  describeErrors(): string {
    return [...this.errors].map(([kind, n]) => `${n}× ${kind}`).join('; ') || 'none';
  }
}

export interface PhaseResult {
  readonly seconds: number;
  readonly completed: number;
}

/** `workers` workers, each running one operation after another, for `durationMs`. */
export async function closedLoop(
  workload: Workload,
  workers: number,
  durationMs: number,
  tally: Tally,
): Promise<PhaseResult> {
  const started = performance.now();
  const deadline = started + durationMs;
  let completed = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const at = performance.now();
      const outcome = await workload.runOne();
      tally.add(outcome, performance.now() - at);
      completed += 1;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { seconds: (performance.now() - started) / 1000, completed };
}

export interface OpenLoopResult extends PhaseResult {
  /** Operations the schedule called for. */
  readonly scheduled: number;
  /** Of those, not started because `maxInFlight` operations were still running (the server fell behind). */
  readonly skipped: number;
}

/**
 * Starts `rate` operations a second for `durationMs` on a fixed schedule, at most `maxInFlight`
 * at once, then waits for the last to end. `seconds` runs to the end of the schedule (the drain
 * is not counted in the achieved rate).
 */
export async function openLoop(
  workload: Workload,
  rate: number,
  durationMs: number,
  maxInFlight: number,
  tally: Tally,
): Promise<OpenLoopResult> {
  const started = performance.now();
  const running = new Set<Promise<void>>();
  let scheduled = 0;
  let skipped = 0;
  let completed = 0;
  const launch = (scheduledAt: number): void => {
    const run = workload.runOne().then((outcome) => {
      tally.add(outcome, performance.now() - scheduledAt);
      completed += 1;
      running.delete(run);
    });
    running.add(run);
  };
  for (;;) {
    const now = performance.now() - started;
    if (now >= durationMs) break;
    const due = Math.min(Math.floor((now * rate) / 1000) + 1, Math.ceil((durationMs * rate) / 1000));
    for (; scheduled < due; scheduled += 1) {
      if (running.size >= maxInFlight) skipped += 1;
      else launch(started + (scheduled * 1000) / rate);
    }
    // Pacing the schedule, not waiting for an effect: the next start is due at this instant.
    await delay(Math.max(1, (scheduled * 1000) / rate - (performance.now() - started)));
  }
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(running);
  return { seconds, completed, scheduled, skipped };
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
