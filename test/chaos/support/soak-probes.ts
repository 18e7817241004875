/** What the soak campaign reads of an ArtStore child from outside: /proc and its /metrics. */
import { readdirSync, readlinkSync } from 'node:fs';
import { readStatusKb } from '../../../bench/processes';

/** Open file descriptors of `pid` (sockets, files, pipes, the inspector's connection). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** What each descriptor points at (`socket:[123]`, a path, `anon_inode:[eventpoll]`), by number. */
export function fdTargets(pid: number): Map<string, string> {
  const targets = new Map<string, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      targets.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return targets;
}

/** Descriptors open now that were not open (to the same target) at the baseline: what leaked. */
export function newFdTargets(baseline: Map<string, string>, now: Map<string, string>): string[] {
  return [...now]
    .filter(([fd, target]) => baseline.get(fd) !== target)
    .map(([fd, target]) => `${fd}→${target}`);
}

export function rssBytes(pid: number): number {
  return readStatusKb(pid, 'VmRSS') * 1024;
}

/** VmHWM: the peak resident set of the process's life so far. */
export function peakRssBytes(pid: number): number {
  return readStatusKb(pid, 'VmHWM') * 1024;
}

/**
 * Event-loop lag as prom-client's default metrics report it (perf_hooks' monitorEventLoopDelay,
 * reset at every scrape): the p99 and max since the previous scrape, in ms.
 */
export async function eventLoopLag(base: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (name: string): number => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'mu').exec(text);
    if (!match) throw new Error(`/metrics has no ${name}`);
    return Number(match[1]) * 1000;
  };
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}
