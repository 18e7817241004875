import { MemorySagaStore } from '../../../src/adapters/memory/memory-saga-store';
import {
  SagaRunner,
  type SagaDefinition,
  type SagaPayload,
  type SagaRunnerSettings,
} from '../../../src/application/sagas/saga-runner';
import { uploadSaga } from '../../../src/application/ingester/upload-document';
import { FixedClock, SequenceIds } from '../../support/builders';

type Payload = SagaPayload & { readonly done: readonly string[] };

/** A three-step saga (pivot: the second step) whose steps and compensations log what they did. */
function recorder(options: { failAt?: string; failCompensation?: string; pivotDone?: boolean } = {}) {
  const log: string[] = [];
  const step = (name: string) => ({
    name,
    run: async (payload: Payload): Promise<Payload> => {
      log.push(`run ${name}`);
      if (options.failAt === name) throw new Error(`${name} broke`);
      return { ...payload, done: [...payload.done, name] };
    },
    compensate: async (): Promise<void> => {
      log.push(`undo ${name}`);
      if (options.failCompensation === name) throw new Error(`undo ${name} broke`);
    },
  });
  const definition: SagaDefinition<Payload> = {
    kind: 'upload',
    pivot: 1,
    steps: [step('a'), step('b'), step('c')],
    pivotDone: async () => options.pivotDone ?? false,
  };
  return { log, definition };
}

function runner(
  store: MemorySagaStore,
  clock: FixedClock,
  failpoint: (name: string) => void = () => undefined,
  settings: Partial<SagaRunnerSettings> = {},
) {
  return new SagaRunner(
    { leaseMs: 10_000, retryAfterMs: 1_000, maxAttempts: 2, ...settings },
    { store, clock, ids: new SequenceIds(), failpoint },
  );
}

/** The definition with its last step held until `release()`: steps still running behind an answer. */
function withLastStepHeld(definition: SagaDefinition<Payload>) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const last = definition.steps[2]!;
  const steps = [
    ...definition.steps.slice(0, 2),
    { ...last, run: async (p: Payload) => (await held, last.run(p)) },
  ];
  return { definition: { ...definition, steps }, release };
}

/** Simulates a crash: a failpoint that throws stops the saga where a SIGKILL would. */
class Crash extends Error {}

describe('SagaRunner', () => {
  let store: MemorySagaStore;
  let clock: FixedClock;
  beforeEach(() => {
    store = new MemorySagaStore();
    clock = new FixedClock();
  });

  it('runs every step in order and saves the saga as done', async () => {
    const { log, definition } = recorder();
    const outcome = await runner(store, clock).run(definition, { done: [] }, null);
    expect(log).toEqual(['run a', 'run b', 'run c']);
    expect(outcome).toMatchObject({ finished: true, payload: { done: ['a', 'b', 'c'] } });
    expect(await store.get(outcome.id)).toMatchObject({
      status: 'done',
      step: 3,
      payload: { done: ['a', 'b', 'c'] },
    });
  });

  it('compensates the failed step and those before it, newest first, when a step before the pivot fails', async () => {
    const { log, definition } = recorder({ failAt: 'b' });
    await expect(runner(store, clock).run(definition, { done: [] })).rejects.toThrow('b broke');
    expect(log).toEqual(['run a', 'run b', 'undo b', 'undo a']);
    const [saga] = (await store.list({ limit: 1, cursor: null })).items;
    expect(saga).toMatchObject({ status: 'compensated', error: 'b: b broke' });
  });

  it('answers once the pivot is done and leaves a failing later step to recovery', async () => {
    const { log, definition } = recorder({ failAt: 'c' });
    const outcome = await runner(store, clock).run(definition, { done: [] });
    expect(outcome.finished).toBe(false);
    expect(log).toEqual(['run a', 'run b', 'run c']);
    expect(await store.get(outcome.id)).toMatchObject({ status: 'running', step: 2, error: 'c: c broke' });

    // Recovery retries only the failed step, after the retry delay.
    const later = recorder();
    const recovering = runner(store, clock);
    expect(await recovering.recover(() => later.definition as unknown as SagaDefinition<SagaPayload>)).toBe(
      0,
    );
    clock.advance(1_001);
    expect(await recovering.recover(() => later.definition as unknown as SagaDefinition<SagaPayload>)).toBe(
      1,
    );
    expect(later.log).toEqual(['run c']);
    expect(await store.get(outcome.id)).toMatchObject({ status: 'done', step: 3, error: null, attempts: 1 });
  });

  it.each([
    [
      'before the pivot (the next step may have begun: it is undone too)',
      'saga.upload.after_a',
      ['undo b', 'undo a'],
      'compensated',
    ],
    [
      'inside the pivot, before its progress was saved',
      'saga.upload.before_b',
      ['undo b', 'undo a'],
      'compensated',
    ],
    ['after the pivot', 'saga.upload.after_b', ['run c'], 'done'],
  ])('takes over a saga whose process died %s', async (_when, point, expected, status) => {
    const crashed = recorder();
    const dying = runner(store, clock, (name) => {
      if (name === point) throw new Crash(name);
    });
    await expect(dying.run(crashed.definition, { done: [] })).rejects.toBeDefined();
    // A thrown failpoint is not a crash to the runner (it compensates), so model the crash by
    // restoring what the store held at that moment: the step counter of the last save.
    const [saga] = (await store.list({ limit: 1, cursor: null })).items;
    const savedStep = point === 'saga.upload.after_a' ? 1 : point === 'saga.upload.before_b' ? 1 : 2;
    await store.save(saga!.id, dying.owner, {
      status: 'running',
      step: savedStep,
      payload: { done: ['a', 'b'].slice(0, savedStep) },
      error: null,
      leaseUntil: clock.now(),
      updatedAt: clock.now(),
    });
    await dying.stop();

    const after = recorder();
    const successor = runner(store, clock);
    // Not before the lease has run out.
    await store.renew([saga!.id], dying.owner, new Date(clock.now().getTime() + 5_000));
    expect(await successor.recover(() => after.definition as unknown as SagaDefinition<SagaPayload>)).toBe(0);
    clock.advance(5_001);
    expect(await successor.recover(() => after.definition as unknown as SagaDefinition<SagaPayload>)).toBe(1);
    expect(after.log).toEqual(expected);
    expect(await store.get(saga!.id)).toMatchObject({ status, owner: successor.owner });
  });

  describe('commit: the answer once the pivot is done', () => {
    it('resolves after the pivot while the later steps still run, and they finish behind it', async () => {
      const { log, definition } = recorder();
      const { definition: slowLast, release } = withLastStepHeld(definition);
      const committed = await runner(store, clock).commit(slowLast, { done: [] }, 'f1');
      expect(committed.payload).toEqual({ done: ['a', 'b'] });
      expect(log).toEqual(['run a', 'run b']);
      expect(await store.get(committed.id)).toMatchObject({ status: 'running', step: 2 });
      release();
      await expect(committed.rest).resolves.toMatchObject({ finished: true });
      expect(log).toEqual(['run a', 'run b', 'run c']);
      expect(await store.get(committed.id)).toMatchObject({ status: 'done', step: 3 });
    });

    it('answers after the steps behind the pivot when they end quickly: the saga is done by then', async () => {
      const { log, definition } = recorder();
      const committed = await runner(store, clock).commit(definition, { done: [] }, 'f1');
      expect(log).toEqual(['run a', 'run b', 'run c']);
      expect(await store.get(committed.id)).toMatchObject({ status: 'done', step: 3 });
    });

    it('stop waits for the steps still running behind an answer', async () => {
      const { log, definition } = recorder();
      const { definition: slowLast, release } = withLastStepHeld(definition);
      const sagas = runner(store, clock, undefined, { answerWithinMs: 0 });
      const committed = await sagas.commit(slowLast, { done: [] }, 'f1');
      let stoppedYet = false;
      const stopped = sagas.stop().then(() => (stoppedYet = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(stoppedYet).toBe(false);
      release();
      await stopped;
      expect(log).toEqual(['run a', 'run b', 'run c']);
      expect(await store.get(committed.id)).toMatchObject({ status: 'done' });
    });

    it('rejects, compensated, when a step before the pivot fails', async () => {
      const { log, definition } = recorder({ failAt: 'a' });
      await expect(runner(store, clock).commit(definition, { done: [] })).rejects.toThrow('a broke');
      expect(log).toEqual(['run a', 'undo a']);
      expect((await store.list({ limit: 1, cursor: null })).items[0]).toMatchObject({
        status: 'compensated',
      });
    });

    it('resolves when the pivot failed but took effect, and leaves a failing later step to recovery', async () => {
      const { definition } = recorder({ failAt: 'c', pivotDone: true });
      const b = definition.steps[1]!;
      const lostReply = {
        ...definition,
        steps: [
          definition.steps[0]!,
          { ...b, run: async (p: Payload) => (await b.run(p), Promise.reject(new Error('reply lost'))) },
          definition.steps[2]!,
        ],
      };
      const committed = await runner(store, clock).commit(lostReply, { done: [] });
      expect(committed.payload).toEqual({ done: ['a'] });
      await expect(committed.rest).resolves.toMatchObject({ finished: false });
      expect(await store.get(committed.id)).toMatchObject({
        status: 'running',
        step: 2,
        error: 'c: c broke',
      });
    });

    it('resolves at the end of a saga whose pivot is its last step', async () => {
      const { definition } = recorder();
      const committed = await runner(store, clock).commit({ ...definition, pivot: 2 }, { done: [] });
      expect(committed.payload).toEqual({ done: ['a', 'b', 'c'] });
      expect(await store.get(committed.id)).toMatchObject({ status: 'done' });
    });
  });

  it('goes forward instead of compensating when the pivot took effect before the crash', async () => {
    const crashed = recorder();
    const dying = runner(store, clock, (name) => {
      if (name === 'saga.upload.before_b') throw new Crash(name);
    });
    await expect(dying.run(crashed.definition, { done: [] })).rejects.toBeDefined();
    const [saga] = (await store.list({ limit: 1, cursor: null })).items;
    await store.save(saga!.id, dying.owner, {
      status: 'running',
      step: 1,
      payload: { done: ['a'] },
      error: null,
      leaseUntil: clock.now(),
      updatedAt: clock.now(),
    });
    const after = recorder({ pivotDone: true });
    await runner(store, clock).recover(() => after.definition as unknown as SagaDefinition<SagaPayload>);
    expect(after.log).toEqual(['run c']);
    expect(await store.get(saga!.id)).toMatchObject({ status: 'done' });
  });

  it('retries a compensation that failed, and gives up as failed after too many attempts', async () => {
    const { definition } = recorder({ failAt: 'b', failCompensation: 'a' });
    await expect(runner(store, clock).run(definition, { done: [] })).rejects.toThrow('b broke');
    const [saga] = (await store.list({ limit: 1, cursor: null })).items;
    expect(saga).toMatchObject({ status: 'compensating', step: 0 });

    const retry = recorder();
    clock.advance(1_001);
    await runner(store, clock).recover(() => retry.definition as unknown as SagaDefinition<SagaPayload>);
    expect(retry.log).toEqual(['undo a']);
    expect(await store.get(saga!.id)).toMatchObject({ status: 'compensated' });

    const stubborn = recorder({ failAt: 'b', failCompensation: 'a' });
    await expect(runner(store, clock).run(stubborn.definition, { done: [] })).rejects.toThrow();
    const [second] = (await store.list({ limit: 1, cursor: null })).items;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(1_001);
      await runner(store, clock).recover(() => stubborn.definition as unknown as SagaDefinition<SagaPayload>);
    }
    expect(await store.get(second!.id)).toMatchObject({ status: 'failed', attempts: 3 });
  });

  it('goes forward when the pivot step failed but took effect (its reply was lost)', async () => {
    const { log, definition } = recorder({ failAt: 'b', pivotDone: true });
    const outcome = await runner(store, clock).run(definition, { done: [] });
    expect(log).toEqual(['run a', 'run b', 'run c']);
    expect(outcome.finished).toBe(true);
    expect(await store.get(outcome.id)).toMatchObject({ status: 'done' });
  });

  it('refuses a second saga for a file while one is unfinished', async () => {
    const fileId = '0190f5a0-0000-7000-8000-000000000001';
    const { definition } = recorder({ failAt: 'c' });
    await runner(store, clock).run(definition, { done: [] }, fileId);
    await expect(runner(store, clock).run(recorder().definition, { done: [] }, fileId)).rejects.toMatchObject(
      {
        code: 'conflict',
      },
    );
  });

  it('an upload whose write outlived its lease and was taken over stops before its pivot', async () => {
    const catalogued: string[] = [];
    const live = runner(store, clock);
    const upload = uploadSaga(
      {
        directory: { client: () => ({ discard: async () => undefined }) } as never,
        sagas: live,
        catalog: {
          add: async (entry: { file: { fileId: string } }) => void catalogued.push(entry.file.fileId),
        } as never,
        events: { publish: async () => undefined } as never,
      },
      {
        // A long write during which the process stalls: its lease runs out and the admin takes over.
        write: async (payload) => {
          clock.advance(60_000);
          await runner(store, clock).recover(() => null);
          return payload;
        },
        file: () => ({ fileId: 'f-1' }) as never,
      },
    );
    await expect(
      live.run(
        upload,
        { fileId: 'f-1', candidates: ['se-1'], copies: [] },
        '00000000-0000-4000-8000-000000000001',
      ),
    ).rejects.toThrow('taken over');
    expect(catalogued).toEqual([]);
  });
});
