/**
 * Summarises a V8 .cpuprofile (from BENCH_CPU_PROF=DIR npm run bench) as text:
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [TOP]
 *
 * Prints self time by area (ArtStore source, each node_modules package, Node internals, GC, idle)
 * and the top functions by self and by inclusive time.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)')
      return functionName;
    return '(native)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/u.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const src = /\/dist\/(src|migrations)\/([^/]+(?:\/[^/]+)?)/u.exec(url);
  if (src) return `artstore ${src[1]}/${src[2]}`;
  return url;
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/(node_modules|dist)\//u, '$1/').replace(/^file:\/\//u, '');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node from samples and time deltas (µs), falling back to hit counts.
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas![i + 1] ?? 0;
      self.set(id, (self.get(id) ?? 0) + delta);
    });
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) self.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  const inclusive = new Map<number, number>();
  const visit = (id: number): number => {
    const node = byId.get(id)!;
    let sum = self.get(id) ?? 0;
    for (const child of node.children ?? []) sum += visit(child);
    inclusive.set(id, sum);
    return sum;
  };
  visit(profile.nodes[0]!.id);
  const wall = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = profile.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((s, n) => s + (self.get(n.id) ?? 0), 0);
  const busy = wall - idle;
  const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const pct = (us: number): string => `${((100 * us) / (busy || 1)).toFixed(1).padStart(5)} %`;
  process.stdout.write(
    `${file}\nwall ${ms(wall)}, busy (not idle) ${ms(busy)}; percentages are of busy time\n`,
  );

  const areas = new Map<string, number>();
  for (const n of profile.nodes) {
    const key = area(n.callFrame);
    areas.set(key, (areas.get(key) ?? 0) + (self.get(n.id) ?? 0));
  }
  process.stdout.write('\nself time by area:\n');
  for (const [key, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top))
    if (key !== '(idle)') process.stdout.write(`  ${ms(us)} ${pct(us)}  ${key}\n`);

  const functions = new Map<string, { self: number; inclusive: number }>();
  const seen = new Map<string, Set<number>>();
  for (const n of profile.nodes) {
    const key = label(n.callFrame);
    const entry = functions.get(key) ?? { self: 0, inclusive: 0 };
    entry.self += self.get(n.id) ?? 0;
    functions.set(key, entry);
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key)!.add(n.id);
  }
  // Inclusive time counts a recursive function once: only nodes with no ancestor of the same key.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const n of profile.nodes) {
    const key = label(n.callFrame);
    let up = parent.get(n.id);
    let nested = false;
    while (up !== undefined) {
      if (label(byId.get(up)!.callFrame) === key) {
        nested = true;
        break;
      }
      up = parent.get(up);
    }
    if (!nested) functions.get(key)!.inclusive += inclusive.get(n.id) ?? 0;
  }
  const skip = (key: string): boolean => /^\((idle|root|program)\)/u.test(key);
  process.stdout.write('\ntop functions by self time:\n');
  for (const [key, t] of [...functions]
    .filter(([k]) => !skip(k))
    .sort((a, b) => b[1].self - a[1].self)
    .slice(0, top))
    process.stdout.write(`  ${ms(t.self)} ${pct(t.self)}  ${key}\n`);
  process.stdout.write('\ntop functions by inclusive time:\n');
  for (const [key, t] of [...functions]
    .filter(([k]) => !skip(k))
    .sort((a, b) => b[1].inclusive - a[1].inclusive)
    .slice(0, top))
    process.stdout.write(`  ${ms(t.inclusive)} ${pct(t.inclusive)}  ${key}\n`);
}

main();
