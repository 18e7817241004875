/** Child server processes (ArtStore and the baselines): start on port 0, find the URL, stop, peak RSS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const live = new Set<ChildProcess>();

/** Last resort if the runner dies without its cleanup: no server outlives it. */
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ServerSpec {
  readonly label: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
}

export class ServerProcess {
  readonly url: string;
  /** Log lines at level error (50) or above, from a bunyan JSON stdout. */
  errorLines = 0;
  readonly errorSamples: string[] = [];
  private readonly tail: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
    url: string,
    exited: Promise<number | null>,
  ) {
    this.url = url;
    this.exited = exited;
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(spec: ServerSpec): Promise<ServerProcess> {
    const child = spawn(process.execPath, [...spec.args], {
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve(code ?? (signal ? -1 : null));
      });
    });
    const tail: string[] = [];
    const remember = (line: string): void => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
    };
    let server: ServerProcess | null = null;
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${spec.label} did not log "listening" in time:\n${tail.join('\n')}`)),
        spec.startTimeoutMs ?? 60_000,
      );
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${spec.label} exited with ${code} before listening:\n${tail.join('\n')}`));
      });
      createInterface({ input: child.stderr! }).on('line', (line) => remember(`[stderr] ${line}`));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        remember(line);
        let record: {
          msg?: unknown;
          url?: unknown;
          bound?: unknown;
          level?: unknown;
          err?: { message?: unknown; code?: unknown };
        };
        try {
          record = JSON.parse(line) as typeof record;
        } catch {
          return;
        }
        if (typeof record.level === 'number' && record.level >= 50 && server) {
          server.errorLines += 1;
          if (server.errorSamples.length < 3) {
            const err = record.err ? ` (${String(record.err.code ?? '')} ${String(record.err.message)})` : '';
            server.errorSamples.push(`${String(record.msg)}${err}`);
          }
        }
        if (record.msg === 'listening' && typeof (record.bound ?? record.url) === 'string') {
          clearTimeout(timer);
          resolve(String(record.bound ?? record.url));
        }
      });
    }).catch(async (error: unknown) => {
      child.kill('SIGKILL');
      await exited;
      throw error;
    });
    server = new ServerProcess(spec.label, child, url, exited);
    server.tail.push(...tail);
    return server;
  }

  /** VmHWM (peak resident set) of the process, in bytes. */
  peakRss(): number {
    return readStatusKb(this.pid, 'VmHWM') * 1024;
  }

  /** Resident set size now, in bytes. */
  rss(): number {
    return readStatusKb(this.pid, 'VmRSS') * 1024;
  }

  /** CPU time used so far by all threads of the process, in ms (from /proc/<pid>/task/<tid>/schedstat). */
  cpuMs(): number {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${this.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    return ns / 1e6;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}

export function readStatusKb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'mu').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

export function stopAll(): Promise<unknown> {
  return Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}
