/**
 * Named failpoints for crash and fault tests (etcd's gofail, SQLite's crash tests). Configured
 * once at start from ARTSTORE_FAILPOINTS, e.g. `fs.after_rename=kill@2,wal.after_fsync=error`:
 * `kill` ends the process with SIGKILL, `error` throws an EIO-like error; `@N` fires on the Nth
 * hit only. With nothing configured a failpoint is one null check.
 */
type Action = 'kill' | 'error';
interface Rule {
  readonly action: Action;
  readonly onHit: number | null;
  hits: number;
}

let rules: Map<string, Rule> | null = null;

export function configureFailpoints(spec: string | undefined): void {
  rules = null;
  if (!spec) return;
  rules = new Map();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([a-z0-9_.]+)=(kill|error)(?:@(\d+))?$/u.exec(part);
    if (!match) throw new Error(`invalid failpoint '${part}': expected name=kill|error[@N]`);
    rules.set(match[1]!, { action: match[2] as Action, onHit: match[3] ? Number(match[3]) : null, hits: 0 });
  }
}

export function failpoint(name: string): void {
  if (rules === null) return;
  const rule = rules.get(name);
  if (!rule) return;
  rule.hits += 1;
  if (rule.onHit !== null && rule.hits !== rule.onHit) return;
  if (rule.action === 'kill') process.kill(process.pid, 'SIGKILL');
  const error = new Error(`failpoint ${name} injected an I/O error`) as NodeJS.ErrnoException;
  error.code = 'EIO';
  throw error;
}
