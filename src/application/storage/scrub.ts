import { setTimeout as delay } from 'node:timers/promises';
import type { DocumentAttributes } from '../../domain/document/document';
import { ApplicationError } from '../errors';
import type { Clock } from '../ports/clock';
import type { Page } from '../ports/file-index';
import type { FixityTrigger } from '../ports/fixity-log';
import type { ScrubStatus } from '../ports/storage-element-client';

/** What a scrub needs from its storage element. */
export interface ScrubTarget {
  list(cursor: string | null, limit: number): Promise<Page<DocumentAttributes>>;
  stats(): Promise<{ files: number }>;
  /** Re-hashes the stored bytes; the problem or null. `paced` runs after every chunk. */
  verify(file: DocumentAttributes, paced: (bytes: number) => Promise<void>): Promise<string | null>;
  /** Whether the file is still stored here (a delete may have raced the check). */
  stillStored(fileId: string): Promise<boolean>;
  /**
   * Records the result in the fixity history and quarantines the file when damaged; false when
   * the file turned out to be deleted or changing meanwhile (nothing recorded).
   */
  checked(file: DocumentAttributes, problem: string | null, trigger: FixityTrigger): Promise<boolean>;
}

const MAX_LISTED_FAILURES = 100;

export const IDLE_SCRUB: ScrubStatus = {
  state: 'idle',
  startedAt: null,
  finishedAt: null,
  rateBytesPerSecond: null,
  filesTotal: 0,
  filesChecked: 0,
  bytesChecked: 0,
  failureCount: 0,
  failures: [],
  error: null,
};

/** Share of the files checked, 0 to 1 (1 for a finished scrub of an empty SE). */
export function scrubProgress(status: ScrubStatus): number {
  if (status.filesTotal > 0) return Math.min(1, status.filesChecked / status.filesTotal);
  return status.state === 'finished' ? 1 : 0;
}

/**
 * Called after every chunk read: keeps reading at or under `rate` bytes a second on average
 * (monotonic time, no burst), and ends the read at once when the scrub is stopped.
 */
export function pacer(
  rate: number | null,
  signal: AbortSignal,
  now: () => number = () => performance.now(),
  sleep: (ms: number, signal: AbortSignal) => Promise<unknown> = (ms, s) =>
    delay(ms, undefined, { signal: s }),
): (bytes: number) => Promise<void> {
  const start = now();
  let consumed = 0;
  return async (bytes) => {
    signal.throwIfAborted();
    if (rate === null) return;
    consumed += bytes;
    const ahead = start + (consumed / rate) * 1000 - now();
    if (ahead > 1) await sleep(ahead, signal);
  };
}

/**
 * One storage element's scrub (§3.3, §7): re-hashes every stored file against its sidecar at a
 * configured rate, one job at a time, with progress readable while it runs.
 */
export class Scrubber {
  private status: ScrubStatus = IDLE_SCRUB;
  private job: Promise<ScrubStatus> | null = null;
  private stopping = new AbortController();

  constructor(
    private readonly seId: string,
    private readonly target: ScrubTarget,
    private readonly clock: Clock,
  ) {}

  current(): ScrubStatus {
    return this.status;
  }

  get running(): boolean {
    return this.job !== null;
  }

  /** Starts a scrub in the background; a conflict when one is running. */
  start(rateBytesPerSecond: number | null, trigger: FixityTrigger = 'scrub'): ScrubStatus {
    this.launch(rateBytesPerSecond, trigger).catch(() => undefined);
    return this.status;
  }

  /** Runs a scrub to its end (the `ro → ar` gate). */
  run(rateBytesPerSecond: number | null, trigger: FixityTrigger): Promise<ScrubStatus> {
    return this.launch(rateBytesPerSecond, trigger);
  }

  /** Ends a running scrub early (shutdown); resolves once it has stopped. */
  async stop(): Promise<void> {
    if (!this.job) return;
    this.stopping.abort(new Error('stopped'));
    await this.job.catch(() => undefined);
    this.stopping = new AbortController();
  }

  private launch(rate: number | null, trigger: FixityTrigger): Promise<ScrubStatus> {
    if (this.job)
      throw new ApplicationError('conflict', `a scrub of storage element '${this.seId}' is already running`);
    this.status = { ...IDLE_SCRUB, state: 'running', startedAt: this.clock.now(), rateBytesPerSecond: rate };
    const job = this.scan(rate, trigger).finally(() => {
      this.job = null;
    });
    this.job = job;
    return job;
  }

  private update(change: Partial<ScrubStatus>): void {
    this.status = { ...this.status, ...change };
  }

  private async scan(rate: number | null, trigger: FixityTrigger): Promise<ScrubStatus> {
    const signal = this.stopping.signal;
    try {
      this.update({ filesTotal: (await this.target.stats()).files });
      const paced = pacer(rate, signal);
      let cursor: string | null = null;
      do {
        const page: Page<DocumentAttributes> = await this.target.list(cursor, 200);
        for (const file of page.items) {
          signal.throwIfAborted();
          let problem: string | null;
          try {
            problem = await this.target.verify(file, paced);
            if (problem !== null && !(await this.target.stillStored(file.fileId))) continue;
            if (!(await this.target.checked(file, problem, trigger))) continue;
          } catch (error) {
            if (signal.aborted) throw error;
            // One unreadable file (I/O error, a failed quarantine) must not stop the rest being checked.
            problem = `could not be checked: ${(error as Error).message}`;
          }
          const s = this.status;
          this.update({
            filesChecked: s.filesChecked + 1,
            bytesChecked: s.bytesChecked + file.stored.size,
            ...(problem === null
              ? {}
              : {
                  failureCount: s.failureCount + 1,
                  failures:
                    s.failures.length < MAX_LISTED_FAILURES
                      ? [...s.failures, { fileId: file.fileId, problem }]
                      : s.failures,
                }),
          });
        }
        cursor = page.nextCursor;
      } while (cursor);
      this.update({
        state: 'finished',
        finishedAt: this.clock.now(),
        filesTotal: Math.max(this.status.filesTotal, this.status.filesChecked),
      });
    } catch (error) {
      const reason = signal.aborted ? 'stopped before the end' : (error as Error).message;
      this.update({ state: 'failed', finishedAt: this.clock.now(), error: reason });
    }
    return this.status;
  }
}
