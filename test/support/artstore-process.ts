import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');
const BIN = join(REPO, 'bin', 'artstore.js');

export interface ArtStoreProcess {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every stdout/stderr line so far (bunyan JSON and anything else). */
  readonly lines: string[];
  /** SIGTERM, then wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash), then wait for exit. */
  kill(): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Runs `artstore <args>` to completion; for CLI tests. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const { code } = await exitOf(child);
  running.delete(child);
  return { code, stdout, stderr };
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('ARTSTORE_')) env[key] = value;
  }
  // Most suites deploy one rw SE; the replication suites ask for two copies themselves.
  return { ...env, ARTSTORE_LOG_LEVEL: 'info', ARTSTORE_REPLICATION_PERMANENT: '1' };
}

/**
 * Starts `artstore serve` as a child process and resolves once it logs "listening" with its URL.
 * Rejects with the process output when it exits first.
 */
export async function startServe(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ArtStoreProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = exitOf(child).then((result) => {
    running.delete(child);
    return result;
  });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`artstore did not start within ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    let buffered = '';
    const onData = (data: Buffer): void => {
      buffered += data.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(`artstore exited (code ${code}, signal ${signal}) before listening:\n${lines.join('\n')}`),
      );
    });
  });
  return {
    url,
    pid: child.pid!,
    child,
    lines,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return (await exited).code;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Kills every process these helpers started that is still running (afterAll safety net). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map((child) => {
      child.kill('SIGKILL');
      return exitOf(child);
    }),
  );
}
