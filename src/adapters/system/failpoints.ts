/**
 * Named failpoints for crash and fault tests (etcd's gofail, SQLite's crash tests). Configured
 * once at start from ARTSTORE_FAILPOINTS, e.g. `fs.after_rename=kill@2,wal.after_fsync=error`:
 * `kill` ends the process with SIGKILL, `error` throws an EIO-like error, `enospc` an ENOSPC one
 * (a full disk); `@N` fires on the Nth hit only, `@N+` on every hit from the Nth on, no `@` on
 * every hit. With nothing configured a failpoint is one null check.
 */

/**
 * Every fixed failpoint name, in write-path order (docs/chaos.md says where each fires). Saga
 * points are named by kind and step: `saga.<kind>.before_<step>` / `saga.<kind>.after_<step>`.
 */
export const FAILPOINT_NAMES = [
  'wal.before_append',
  'wal.after_append',
  'wal.before_fsync',
  'wal.after_fsync',
  'fs.write',
  'fs.before_data_fsync',
  'fs.after_data_fsync',
  'fs.before_rename',
  'fs.after_rename',
  'blob.before_rename',
  'blob.after_rename',
  'sidecar.before_rename',
  'sidecar.after_rename',
  'fs.before_dir_fsync',
  'fs.after_dir_fsync',
  'fs.dir_fsync',
  'db.saga.before_commit',
  'db.saga.after_commit',
  'db.catalog.before_commit',
  'db.catalog.after_commit',
  'http.before_response',
] as const;

export type FailpointName =
  (typeof FAILPOINT_NAMES)[number] | `saga.${string}.before_${string}` | `saga.${string}.after_${string}`;

const FIXED: ReadonlySet<string> = new Set(FAILPOINT_NAMES);
const SAGA_POINT = /^saga\.[a-z_]+\.(?:before|after)_[a-z_]+$/u;

export function isFailpointName(name: string): name is FailpointName {
  return FIXED.has(name) || SAGA_POINT.test(name);
}

type Action = 'kill' | 'error' | 'enospc';
interface Rule {
  readonly action: Action;
  readonly fromHit: number;
  /** Fires on hit `fromHit` alone, or on every hit from it on. */
  readonly repeats: boolean;
  hits: number;
}

const ERRORS: Readonly<Record<Exclude<Action, 'kill'>, { code: string; message: string }>> = {
  error: { code: 'EIO', message: 'an I/O error' },
  enospc: { code: 'ENOSPC', message: 'no space left on device' },
};

let rules: Map<string, Rule> | null = null;

export function configureFailpoints(spec: string | undefined): void {
  rules = null;
  if (!spec) return;
  const parsed = new Map<string, Rule>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([a-z0-9_.]+)=(kill|error|enospc)(?:@([1-9]\d*)(\+)?)?$/u.exec(part);
    if (!match) throw new Error(`invalid failpoint '${part}': expected name=kill|error|enospc[@N[+]]`);
    if (!isFailpointName(match[1]!)) throw new Error(`unknown failpoint '${match[1]!}'`);
    parsed.set(match[1]!, {
      action: match[2] as Action,
      fromHit: match[3] ? Number(match[3]) : 1,
      repeats: match[3] === undefined || match[4] === '+',
      hits: 0,
    });
  }
  rules = parsed;
}

/** Whether any failpoint is configured (lets a caller skip setting one up at all). */
export function failpointsConfigured(): boolean {
  return rules !== null;
}

export function failpoint(name: FailpointName): void {
  if (rules === null) return;
  const rule = rules.get(name);
  if (!rule) return;
  rule.hits += 1;
  if (rule.hits < rule.fromHit || (!rule.repeats && rule.hits !== rule.fromHit)) return;
  if (rule.action === 'kill') {
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  const { code, message } = ERRORS[rule.action];
  const error = new Error(`failpoint ${name} injected ${message}`) as NodeJS.ErrnoException;
  error.code = code;
  throw error;
}
