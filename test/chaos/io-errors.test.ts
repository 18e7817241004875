import { v7 } from 'uuid';
import { MemoryFileIndex } from '../../src/adapters/memory/memory-file-index';
import { toProblem } from '../../src/adapters/http/problem';
import { FileWriteAheadLog } from '../../src/adapters/wal/file-write-ahead-log';
import { ApplicationError } from '../../src/application/errors';
import type { FileIndex } from '../../src/application/ports/file-index';
import { classify, diskWorkload, runStep, type Outcome, type Step } from './support/disk-workload';
import { recordFigures } from './support/figures';
import { checkSeStructure } from './support/se-structure';
import {
  freshDisk,
  openSimulatedElement,
  readWhole,
  SE_ID,
  type SimulatedElement,
} from './support/simulated-element';
import { SimulatedFs } from './support/simulated-fs';
import { byTier } from './support/tier';

/**
 * Issue 7, the I/O-error sweep: for each write operation of the storage element (puts of every
 * size and encoding, a metadata update, a delete, a WAL compaction, a restart with a transaction
 * to replay), the nth file-system call of that operation fails with EIO — once, or from then on —
 * for every n up to the operation's call count (test/chaos/support/simulated-fs.ts). Targets: no
 * crash (every outcome a success or a definite error), no unhandled rejection, no hang (each
 * operation bounded), the SE still working once the fault clears (or refusing writes with a
 * definite error), the structure sound after a restart, a success durable across a power loss
 * right after it, every error named by a problem code (none a 500), and a definite failure leaving
 * no trace, after a restart and after a power loss alike. Only an answer of write_outcome_unknown
 * (the undo itself could not be made durable) leaves the outcome open.
 */
const HANG_MS = 5_000;

interface Machine {
  readonly disk: SimulatedFs;
  readonly rows: MemoryFileIndex;
  readonly history: { step: Step; outcome: Outcome }[];
}

async function copyIndex(from: MemoryFileIndex): Promise<MemoryFileIndex> {
  const to = new MemoryFileIndex();
  for (const row of (await from.list(SE_ID, { cursor: null, limit: 10_000 })).items)
    await to.upsert(SE_ID, row);
  return to;
}

/** A running SE's disk and index after the workload's first steps (the operations under test act on them). */
async function prepare(steps: readonly Step[]): Promise<Machine> {
  const disk = await freshDisk();
  const rows = new MemoryFileIndex();
  const element = await openSimulatedElement(disk, rows);
  const history: { step: Step; outcome: Outcome }[] = [];
  for (const step of steps) {
    await runStep(element.service, step);
    history.push({ step, outcome: 'ok' });
  }
  await element.service.stop();
  return { disk, rows, history };
}

interface Operation {
  readonly name: string;
  /** The workload step it runs, if it is one (puts, update, delete). */
  readonly step?: Step;
  run(element: SimulatedElement, disk: SimulatedFs, index: FileIndex): Promise<SimulatedElement>;
}

function operations(machine: Machine, extra: readonly Step[]): Operation[] {
  const stored = machine.history.map((h) => h.step).filter((s) => s.kind === 'put');
  const stepOp = (step: Step): Operation => ({
    name: step.kind === 'put' ? `put ${step.content.length} B ${step.encoding}` : step.kind,
    step,
    run: async (element) => {
      await runStep(element.service, step);
      return element;
    },
  });
  return [
    ...extra.map(stepOp),
    stepOp({ kind: 'update', id: stored[1]!.id, description: 'changed under I/O errors' }),
    stepOp({ kind: 'delete', id: stored[2]!.id }),
    {
      name: 'WAL compaction',
      run: async (element) => {
        await element.parts.wal!.compact();
        return element;
      },
    },
    {
      name: 'restart with a transaction to replay',
      run: async (element, disk, index) => {
        await element.parts.wal!.begin({
          txn: 'txn-open',
          op: 'create',
          fileId: v7(),
          key: '2026/03/01/x_y.txt',
        });
        await element.service.stop();
        return openSimulatedElement(disk, index);
      },
    },
  ];
}

type Result =
  { readonly kind: 'ok' } | { readonly kind: 'fail'; readonly error: unknown } | { readonly kind: 'hang' };

async function bounded(task: Promise<unknown>): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Result>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'hang' }), HANG_MS);
  });
  try {
    return await Promise.race([
      task.then(
        (): Result => ({ kind: 'ok' }),
        (error: unknown): Result => ({ kind: 'fail', error }),
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Tally {
  injections: number;
  succeeded: number;
  failedDefinitely: number;
  unmapped: number;
  outcomeUnknown: number;
  crashes: number;
  hangs: number;
  stoppedCleanly: number;
  brokenAfterHeal: number;
  structure: number;
  lost: number;
  unexpected: number;
  partial: number;
  rolledForward: number;
}

/** One injection: the nth call of `op` fails; then the checks of the sweep. */
async function inject(
  machine: Machine,
  op: Operation,
  n: number,
  persistent: boolean,
  code: string,
  tally: Tally,
  problems: string[],
): Promise<void> {
  const where = `${op.name}, call ${n}${persistent ? '+' : ''} ${code}`;
  const disk = machine.disk.clone();
  const index = await copyIndex(machine.rows);
  let element = await openSimulatedElement(disk, index);
  disk.failAt(n, persistent, code);
  const injectedBefore = disk.injected;
  let after: SimulatedElement | null = null;
  const result = await bounded(
    op.run(element, disk, index).then((next) => {
      after = next;
    }),
  );
  if (disk.injected === injectedBefore) {
    // The operation made fewer calls this time: nothing was injected.
    disk.healFaults();
    await element.service.stop().catch(() => undefined);
    return;
  }
  tally.injections += 1;
  if (result.kind === 'hang') {
    tally.hangs += 1;
    problems.push(`${where}: no answer within ${HANG_MS} ms`);
    disk.healFaults();
    return;
  }
  const unknown = result.kind === 'fail' && isOutcomeUnknown(result.error);
  if (result.kind === 'ok') tally.succeeded += 1;
  else if (unknown) tally.outcomeUnknown += 1;
  else if (result.error instanceof Error) {
    tally.failedDefinitely += 1;
    if (toProblem(result.error).code === 'internal_error') {
      tally.unmapped += 1;
      problems.push(`${where}: answered 500: ${result.error.message}`);
    }
  } else {
    tally.crashes += 1;
    problems.push(`${where}: rejected with a non-error ${String(result.error)}`);
  }
  if (after) element = after;
  // What a power loss right after the answer would leave: a success must survive it.
  const powerLoss = disk.afterPowerLoss('drop', n);
  // And a restart right after it, before the next write could settle anything.
  const atAnswer = disk.clone();
  const rowsAtAnswer = await copyIndex(index);
  disk.healFaults();
  const history = [...machine.history];
  // Only write_outcome_unknown leaves the outcome open: every other failure must leave no trace.
  const definiteFailure = result.kind === 'fail' && !unknown;
  if (op.step)
    history.push({ step: op.step, outcome: result.kind === 'ok' ? 'ok' : unknown ? 'info' : 'fail' });

  // Still working once the fault clears, or refusing writes with a definite error.
  const probe: Step = {
    kind: 'put',
    id: v7(),
    name: 'after-the-fault.txt',
    content: Buffer.from(where),
    encoding: 'identity',
  };
  const probed = await bounded(
    runStep(element.service, probe).then(async () => {
      if (!(await readWhole(element.service, probe.id)).equals(probe.content))
        throw new Error('probe read back differs');
    }),
  );
  if (probed.kind === 'hang') {
    tally.hangs += 1;
    problems.push(`${where}: the next write hung`);
  } else if (probed.kind === 'fail') {
    if (probed.error instanceof ApplicationError && persistent) tally.stoppedCleanly += 1;
    else {
      tally.brokenAfterHeal += 1;
      problems.push(`${where}: the next write failed: ${(probed.error as Error).message}`);
    }
  }
  const probeHistory = [
    ...history,
    { step: probe, outcome: probed.kind === 'ok' ? ('ok' as const) : ('fail' as const) },
  ];
  await element.service.stop().catch(() => undefined);

  // Restarted on the disk as it is: sound, every success there, every failure without a trace.
  const check = async (
    label: string,
    onDisk: SimulatedFs,
    rows: FileIndex,
    expected: typeof history,
  ): Promise<void> => {
    const restarted = await openSimulatedElement(onDisk, rows);
    const structure = await checkSeStructure(restarted.parts);
    const verdict = await classify(restarted.service, structure, expected);
    if (definiteFailure && op.step?.kind === 'put' && structure.files.has(op.step.id))
      tally.rolledForward += 1;
    await restarted.service.stop();
    tally.structure += structure.problems.length;
    tally.lost += verdict.lost.length;
    tally.unexpected += verdict.unexpected.length;
    tally.partial += verdict.partial.length;
    for (const [kind, list] of Object.entries({ structure: structure.problems, ...verdict }))
      problems.push(...list.map((p) => `${where}, ${label}: ${kind}: ${p}`));
  };
  // A definite failure was undone durably (or its undo logged durably) before the answer.
  await check('restart right after the answer', atAnswer, await copyIndex(rowsAtAnswer), history);
  await check('power loss after the answer', powerLoss, rowsAtAnswer, history);
  await check('restart after the next write', disk, index, probeHistory);
}

const isOutcomeUnknown = (error: unknown): boolean =>
  error instanceof ApplicationError && error.code === 'write_outcome_unknown';

describe('I/O errors at every file-system call of each storage-element write', () => {
  it('never crashes, hangs or rejects unhandled; the SE stays sound and every success durable', async () => {
    const started = Date.now();
    const workload = diskWorkload(11, v7);
    const puts = workload.filter((s) => s.kind === 'put');
    const machine = await prepare(puts.slice(0, 3));
    // Fresh puts of every size and encoding, run against the prepared SE.
    const fresh = diskWorkload(12, v7).filter((s) => s.kind === 'put');
    // Tier 1: 0 B, a few KiB and > 1 MiB gzip; tier 2 also br and > 1 MiB identity.
    const extra = byTier(fresh.slice(0, 3), fresh);
    const ops = operations(machine, extra);
    const codes = byTier(['EIO'], ['EIO', 'ENOSPC']);
    const tally: Tally = {
      injections: 0,
      succeeded: 0,
      failedDefinitely: 0,
      unmapped: 0,
      outcomeUnknown: 0,
      crashes: 0,
      hangs: 0,
      stoppedCleanly: 0,
      brokenAfterHeal: 0,
      structure: 0,
      lost: 0,
      unexpected: 0,
      partial: 0,
      rolledForward: 0,
    };
    const problems: string[] = [];
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    const onException = (): void => void (tally.crashes += 1);
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    try {
      for (const op of ops) {
        // A clean run numbers the operation's calls.
        const dry = machine.disk.clone();
        const element = await openSimulatedElement(dry, await copyIndex(machine.rows));
        const before = dry.calls;
        await op.run(element, dry, await copyIndex(machine.rows));
        const calls = dry.calls - before;
        for (const code of codes)
          for (const persistent of [false, true])
            for (let n = 1; n <= calls; n += 1)
              await inject(machine, op, n, persistent, code, tally, problems);
      }
    } finally {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    }
    const target = byTier(250, 600);
    recordFigures('I/O-error sweep (simulated disk)', [
      { name: 'injections', value: tally.injections, target: `≥ ${target}`, ok: tally.injections >= target },
      { name: 'operations that succeeded anyway', value: tally.succeeded },
      { name: 'definite errors', value: tally.failedDefinitely },
      {
        name: 'errors not mapped to a problem code (500)',
        value: tally.unmapped,
        target: '0',
        ok: tally.unmapped === 0,
      },
      { name: 'answered write_outcome_unknown (undo not durable)', value: tally.outcomeUnknown },
      { name: 'crashes', value: tally.crashes, target: '0', ok: tally.crashes === 0 },
      { name: 'unhandled rejections', value: rejections.length, target: '0', ok: rejections.length === 0 },
      { name: 'hangs', value: tally.hangs, target: '0', ok: tally.hangs === 0 },
      { name: 'SE refusing writes cleanly after a persistent fault', value: tally.stoppedCleanly },
      {
        name: 'SE broken after the fault cleared',
        value: tally.brokenAfterHeal,
        target: '0',
        ok: tally.brokenAfterHeal === 0,
      },
      {
        name: 'structure problems after restart',
        value: tally.structure,
        target: '0',
        ok: tally.structure === 0,
      },
      { name: 'lost (success not durable)', value: tally.lost, target: '0', ok: tally.lost === 0 },
      {
        name: 'unexpected (failure left a trace)',
        value: tally.unexpected,
        target: '0',
        ok: tally.unexpected === 0,
      },
      { name: 'partial', value: tally.partial, target: '0', ok: tally.partial === 0 },
      {
        name: 'puts answered with a definite failure, found after a restart or power loss',
        value: tally.rolledForward,
        target: '0',
        ok: tally.rolledForward === 0,
      },
      { name: 'seconds', value: Math.round((Date.now() - started) / 1000) },
    ]);
    const grouped = new Map<string, { count: number; example: string }>();
    for (const p of problems) {
      const group = p
        .replace(/, call \d+\+?/u, '')
        .replace(/: [^:]*$/u, '')
        .replace(/[0-9a-f-]{36}/gu, 'ID');
      const entry = grouped.get(group) ?? { count: 0, example: p };
      entry.count += 1;
      grouped.set(group, entry);
    }
    expect([...grouped.values()].map((g) => `${g.count} × ${g.example}`)).toEqual([]);
    expect(rejections).toEqual([]);
    expect({ unmapped: tally.unmapped, rolledForward: tally.rolledForward }).toEqual({
      unmapped: 0,
      rolledForward: 0,
    });
    expect(tally.injections).toBeGreaterThanOrEqual(target);
  });
});

describe('storage element under one transient I/O error (regressions found by the sweep)', () => {
  async function sweep(step: (id: string) => Step) {
    const machine = await prepare(
      diskWorkload(21, v7)
        .filter((s) => s.kind === 'put')
        .slice(0, 2),
    );
    const target = machine.history[1]!.step.id;
    const outcomes: string[] = [];
    for (let n = 1; ; n += 1) {
      const disk = machine.disk.clone();
      const index = await copyIndex(machine.rows);
      const element = await openSimulatedElement(disk, index);
      disk.failAt(n, false);
      const result = await bounded(runStep(element.service, step(target)));
      if (disk.injected === 0) break;
      await element.service.stop();
      const restarted = await openSimulatedElement(disk, index);
      const structure = await checkSeStructure(restarted.parts);
      expect(structure.problems).toEqual([]);
      const history = [
        ...machine.history,
        { step: step(target), outcome: result.kind === 'ok' ? 'ok' : 'fail' } as const,
      ];
      const verdict = await classify(restarted.service, structure, history);
      expect({ n, ...verdict }).toEqual({ n, lost: [], unexpected: [], partial: [] });
      await restarted.service.stop();
      outcomes.push(result.kind);
    }
    return outcomes;
  }

  it('a delete that reports failure leaves the file in place, also after a restart (no open WAL record finishes it)', async () => {
    const outcomes = await sweep((id) => ({ kind: 'delete', id }));
    expect(outcomes).toContain('fail');
  });

  it('an update whose sidecar was replaced before the error is made durable and answered as a success', async () => {
    const outcomes = await sweep((id) => ({ kind: 'update', id, description: 'changed' }));
    expect(outcomes).toContain('ok');
    expect(outcomes).toContain('fail');
  });

  it('the WAL takes records again once a failed cut-back succeeds', async () => {
    const disk = await freshDisk();
    const wal = await FileWriteAheadLog.openAt('/se/wal', disk);
    const intent = (n: number) => ({ txn: `t${n}`, op: 'create' as const, fileId: `f${n}`, key: `k${n}` });
    await wal.begin(intent(1));
    disk.failAt(1, true);
    await expect(wal.begin(intent(2))).rejects.toMatchObject({ code: 'EIO' });
    disk.healFaults();
    await wal.begin(intent(3));
    await wal.close();
    const reopened = await FileWriteAheadLog.openAt('/se/wal', disk);
    expect((await reopened.unfinished()).map((i) => i.txn)).toEqual(['t1', 't3']);
  });
});
