import { ApplicationError } from '../errors';
import type { Clock, IdGenerator } from '../ports/clock';
import type { SagaKind, SagaRecord, SagaStore } from '../ports/saga-store';

export type SagaPayload = Readonly<Record<string, unknown>>;

export interface SagaStep<P extends SagaPayload> {
  readonly name: string;
  /** Must be safe to run again after a crash; returns the payload the later steps see. */
  run(payload: P): Promise<P>;
  /** Undoes the step, also when it ran only in part or not at all; must be safe to repeat. */
  compensate?(payload: P): Promise<void>;
  /**
   * False when the progress after this step need not be saved (one database write less): recovery
   * reaches the same decision without it. That holds for a step before the pivot whose payload
   * compensation does not need (compensations are safe for steps that never ran), and for the
   * pivot itself when the definition has `pivotDone`. The saga's last step is always saved.
   */
  readonly checkpoint?: boolean;
}

/**
 * A saga (§3.5): steps up to and including `pivot` can be undone; once the pivot step has
 * completed, the saga only goes forward. A saga cut short before its pivot finished is
 * compensated, unless `pivotDone` shows the pivot took effect after all (the crash came between
 * the pivot's commit and the save of its progress).
 */
export interface SagaDefinition<P extends SagaPayload> {
  readonly kind: SagaKind;
  readonly steps: readonly SagaStep<P>[];
  readonly pivot: number;
  pivotDone?(payload: P): Promise<boolean>;
}

/** Builds the definition of a kind for a saga taken over after a crash (no live request behind it). */
export type SagaResumer = (kind: SagaKind) => SagaDefinition<SagaPayload> | null;

export interface SagaRunnerSettings {
  /** How long a saga stays with its process without a renewal; after that another may take it over. */
  readonly leaseMs: number;
  /** How often a forward step that failed after the pivot is retried (by the recovery sweep). */
  readonly retryAfterMs: number;
  /** A saga that failed this many take-overs is left `failed` for a person to look at. */
  readonly maxAttempts: number;
  /**
   * `commit` answers once the pivot is done and the rest has ended, or this long after the pivot,
   * whichever comes first (default 250 ms): when all is well the saga has ended, and its file
   * taken no longer, by the time the caller hears of it; when an SE or the database is slow, the
   * answer does not wait for steps that cannot change it.
   */
  readonly answerWithinMs?: number;
}

export interface SagaRunnerDeps {
  readonly store: SagaStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Crash tests: `saga.<kind>.before_<step>` and `saga.<kind>.after_<step>`. */
  readonly failpoint: (name: `saga.${string}.before_${string}` | `saga.${string}.after_${string}`) => void;
  readonly log?: { warn(fields: object, message: string): void } | undefined;
}

/** A saga past its pivot (`SagaRunner.commit`): `rest` settles when its last step has run. */
export interface SagaCommitted<P extends SagaPayload> {
  readonly id: string;
  readonly payload: P;
  readonly rest: Promise<SagaOutcome<P>>;
}

export interface SagaOutcome<P extends SagaPayload> {
  readonly id: string;
  readonly payload: P;
  /** False when a step after the pivot failed: the saga is committed and recovery finishes it. */
  readonly finished: boolean;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs sagas step by step, saving progress after each one, and takes over the sagas of dead
 * processes (expired leases): forward when past the pivot, compensated otherwise.
 */
export class SagaRunner {
  /** A per-process owner token: a restarted process is a new owner. */
  readonly owner: string;
  private readonly active = new Set<string>();
  /** The steps after a pivot still running behind an answer (`commit`); `stop` waits for them. */
  private readonly trailing = new Set<Promise<unknown>>();
  private renewTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly settings: SagaRunnerSettings,
    private readonly deps: SagaRunnerDeps,
  ) {
    this.owner = `${process.pid}-${deps.ids.token()}`.slice(0, 64);
  }

  /** A saga left for the recovery sweep is taken up again after the retry delay. */
  private retryAt(): Date {
    return new Date(this.deps.clock.now().getTime() + this.settings.retryAfterMs);
  }

  private lease(): Date {
    return new Date(this.deps.clock.now().getTime() + this.settings.leaseMs);
  }

  /** Runs a new saga to its end. Rejects with the failing step's error once compensation is done. */
  async run<P extends SagaPayload>(
    definition: SagaDefinition<P>,
    payload: P,
    fileId: string | null = null,
  ): Promise<SagaOutcome<P>> {
    return (await this.start(definition, payload, fileId)).outcome;
  }

  /**
   * Runs a new saga until its pivot has taken effect and resolves then, with the payload as the
   * pivot left it; the steps after the pivot go on in the background (`rest`), and what they
   * cannot finish the recovery sweep does, as after `run`. For a request whose answer the pivot
   * settles: a file is deleted for every client once its tombstone is written, whatever the
   * removal of its copies still takes. Rejects like `run` when the saga fails before its pivot.
   */
  async commit<P extends SagaPayload>(
    definition: SagaDefinition<P>,
    payload: P,
    fileId: string | null = null,
  ): Promise<SagaCommitted<P>> {
    let reached = false;
    let committed: (payload: P) => void = () => undefined;
    const pivot = new Promise<P>((resolve) => {
      committed = (after) => {
        reached = true;
        resolve(after);
      };
    });
    const { id, outcome: rest } = await this.start(definition, payload, fileId, committed);
    this.trailing.add(rest);
    const settled = rest.then(
      () => undefined,
      (error: unknown) => {
        if (reached) this.deps.log?.warn({ saga_id: id, err: error }, 'saga stopped after its pivot');
      },
    );
    void settled.finally(() => this.trailing.delete(rest));
    // Failing before the pivot rejects `rest`, and so this, with the step's error.
    const first = await Promise.race([pivot, rest.then((ended) => ended.payload)]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      settled,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.settings.answerWithinMs ?? 250);
      }),
    ]);
    clearTimeout(timer);
    return { id, payload: first, rest };
  }

  /**
   * Saves a new saga and starts driving it; resolves once it is saved, with its id and the
   * promise of its end (for jobs a client follows by id, e.g. a restore).
   */
  async start<P extends SagaPayload>(
    definition: SagaDefinition<P>,
    payload: P,
    fileId: string | null = null,
    committed?: (payload: P) => void,
  ): Promise<{ readonly id: string; readonly outcome: Promise<SagaOutcome<P>> }> {
    const now = this.deps.clock.now();
    const saga: SagaRecord = {
      id: this.deps.ids.fileId(),
      kind: definition.kind,
      status: 'running',
      step: 0,
      payload,
      fileId,
      error: null,
      owner: this.owner,
      leaseUntil: this.lease(),
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.deps.store.create(saga))) {
      throw new ApplicationError(
        'conflict',
        `another change to file ${fileId} is in progress (upload, finalize, delete or update); try again when it has finished`,
        { file_id: fileId },
      );
    }
    return { id: saga.id, outcome: this.drive(definition, saga, committed) };
  }

  private async drive<P extends SagaPayload>(
    definition: SagaDefinition<P>,
    saga: SagaRecord,
    committed?: (payload: P) => void,
  ): Promise<SagaOutcome<P>> {
    this.active.add(saga.id);
    this.ensureRenewing();
    try {
      return await this.forward(definition, saga.id, saga.step, saga.payload as P, committed);
    } finally {
      this.active.delete(saga.id);
    }
  }

  private async save(
    id: string,
    update: Omit<Parameters<SagaStore['save']>[2], 'updatedAt' | 'leaseUntil'> & { leaseUntil?: Date },
  ): Promise<void> {
    const saved = await this.deps.store.save(id, this.owner, {
      leaseUntil: this.lease(),
      ...update,
      updatedAt: this.deps.clock.now(),
    });
    if (!saved) throw new Error(`saga ${id} was taken over by another process`);
  }

  private async forward<P extends SagaPayload>(
    definition: SagaDefinition<P>,
    id: string,
    from: number,
    start: P,
    committed?: (payload: P) => void,
  ): Promise<SagaOutcome<P>> {
    const { failpoint } = this.deps;
    let payload = start;
    for (let index = from; index < definition.steps.length; index += 1) {
      if (index === definition.pivot + 1) committed?.(payload);
      const step = definition.steps[index]!;
      try {
        failpoint(`saga.${definition.kind}.before_${step.name}`);
        payload = await step.run(payload);
      } catch (error) {
        if (index > definition.pivot) {
          // Committed: the step is retried by the recovery sweep; the caller has its outcome.
          await this.save(id, {
            status: 'running',
            step: index,
            payload,
            error: `${step.name}: ${message(error)}`,
            leaseUntil: this.retryAt(),
          }).catch(() => undefined);
          this.deps.log?.warn(
            { saga_id: id, step: step.name, err: error },
            'saga step failed after its pivot',
          );
          return { id, payload, finished: false };
        }
        // The pivot may have taken effect although its call failed (a reply lost after the commit):
        // then the saga goes on; when that cannot be told now, recovery decides later.
        if (index === definition.pivot && definition.pivotDone) {
          let done: boolean;
          try {
            done = await definition.pivotDone(payload);
          } catch {
            await this.save(id, {
              status: 'running',
              step: index,
              payload,
              error: `${step.name}: ${message(error)}`,
              leaseUntil: this.retryAt(),
            }).catch(() => undefined);
            throw error;
          }
          if (done) {
            await this.save(id, { status: 'running', step: index + 1, payload, error: null });
            return this.forward(definition, id, index + 1, payload, committed);
          }
        }
        await this.compensate(definition, id, index, payload, `${step.name}: ${message(error)}`);
        throw error;
      }
      const done = index === definition.steps.length - 1;
      if (done || step.checkpoint !== false)
        await this.save(id, { status: done ? 'done' : 'running', step: index + 1, payload, error: null });
      failpoint(`saga.${definition.kind}.after_${step.name}`);
    }
    return { id, payload, finished: true };
  }

  /** Undoes steps `through` … 0. A failing compensation leaves the saga to the recovery sweep. */
  private async compensate<P extends SagaPayload>(
    definition: SagaDefinition<P>,
    id: string,
    through: number,
    payload: P,
    reason: string,
  ): Promise<boolean> {
    await this.save(id, { status: 'compensating', step: through, payload, error: reason });
    for (let index = Math.min(through, definition.steps.length - 1); index >= 0; index -= 1) {
      const step = definition.steps[index]!;
      try {
        await step.compensate?.(payload);
      } catch (error) {
        await this.save(id, {
          status: 'compensating',
          step: index,
          payload,
          error: `${reason}; compensating ${step.name}: ${message(error)}`,
          leaseUntil: this.retryAt(),
        }).catch(() => undefined);
        this.deps.log?.warn({ saga_id: id, step: step.name, err: error }, 'saga compensation failed');
        return false;
      }
    }
    await this.save(id, { status: 'compensated', step: 0, payload, error: reason });
    return true;
  }

  /** Takes over sagas whose process died and drives each to an end; resolves with how many it took. */
  recover(resume: SagaResumer): Promise<number> {
    // One sweep at a time per process; a second caller shares the running one.
    this.sweeping ??= this.sweep(resume).finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweep(resume: SagaResumer): Promise<number> {
    const { store, clock } = this.deps;
    let total = 0;
    for (;;) {
      const claimed = await store.claimExpired(this.owner, clock.now(), this.lease(), 20);
      if (claimed.length === 0) return total;
      total += claimed.length;
      for (const saga of claimed) await this.resumeOne(resume, saga);
    }
  }

  private async resumeOne(resume: SagaResumer, saga: SagaRecord): Promise<void> {
    const definition = resume(saga.kind);
    if (!definition || saga.attempts > this.settings.maxAttempts) {
      await this.save(saga.id, {
        status: 'failed',
        step: saga.step,
        payload: saga.payload,
        error: definition
          ? `${saga.error ?? ''} (gave up after ${saga.attempts} attempts)`
          : 'unknown saga kind',
      }).catch(() => undefined);
      return;
    }
    this.active.add(saga.id);
    this.ensureRenewing();
    try {
      if (saga.status === 'compensating') {
        await this.compensate(definition, saga.id, saga.step, saga.payload, saga.error ?? 'interrupted');
      } else if (saga.step > definition.pivot || (await definition.pivotDone?.(saga.payload))) {
        await this.forward(definition, saga.id, Math.max(saga.step, definition.pivot + 1), saga.payload);
      } else {
        await this.compensate(
          definition,
          saga.id,
          saga.step,
          saga.payload,
          saga.error ?? 'interrupted by a crash before it committed',
        );
      }
    } catch (error) {
      // Left with its lease; the next sweep tries again.
      this.deps.log?.warn({ saga_id: saga.id, err: error }, 'saga recovery failed');
    } finally {
      this.active.delete(saga.id);
    }
  }

  /** Runs `recover` now and every half lease until stopped. */
  startRecovery(resume: SagaResumer): void {
    if (this.sweepTimer) return;
    const tick = (): void => {
      this.recover(resume).catch((error: unknown) =>
        this.deps.log?.warn({ err: error }, 'saga recovery sweep failed'),
      );
    };
    tick();
    this.sweepTimer = setInterval(tick, Math.max(100, Math.floor(this.settings.leaseMs / 2)));
    this.sweepTimer.unref();
  }

  private ensureRenewing(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(
      () => {
        if (this.active.size === 0) return;
        this.deps.store.renew([...this.active], this.owner, this.lease()).catch(() => undefined);
      },
      Math.max(50, Math.floor(this.settings.leaseMs / 3)),
    );
    this.renewTimer.unref();
  }

  /**
   * Waits (up to `waitMs`) for the steps still running behind an answer, then stops the timers;
   * sagas in flight after that keep their lease until it runs out, and a sweep finishes them.
   */
  async stop(waitMs = 5_000): Promise<void> {
    if (this.trailing.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.trailing]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, waitMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.renewTimer = null;
    this.sweepTimer = null;
    await this.sweeping?.catch(() => undefined);
  }
}
