import { v7 } from 'uuid';
import { MemoryFileIndex } from '../../src/adapters/memory/memory-file-index';
import type { FileIndex } from '../../src/application/ports/file-index';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { classify, diskWorkload, runStep, type Outcome, type Step } from './support/disk-workload';
import { recordFigures } from './support/figures';
import { checkSeStructure } from './support/se-structure';
import { freshDisk, openSimulatedElement, SE_ID, SE_ROOT } from './support/simulated-element';
import { POWER_LOSS_MODES, SimulatedFs, type PowerLossMode } from './support/simulated-fs';
import { byTier } from './support/tier';

/**
 * Issue 7, simulated power loss: the storage element on its real local adapters over a simulated
 * disk (test/chaos/support/simulated-fs.ts) runs a workload of puts (0 B to > 1 MiB, identity,
 * gzip, br), metadata updates and deletes. The power may go at any of its file-system calls: at
 * each call the disk a reboot would find is taken (only what was fsynced; or with torn unsynced
 * appends; or with every directory entry kept but unsynced bytes lost), together with the SE's
 * index rows (PostgreSQL keeps what it committed) and which steps were acknowledged. A crash
 * changes nothing before it, so one run of the workload yields every crash point. For each, a new
 * SE starts on that disk (WAL replay), every file is classified against what was acknowledged, the
 * structure is checked, and the power is cut again right after recovery to check that recovery was
 * itself durable and a second replay reaches the same state.
 */
interface CrashPoint {
  readonly call: number;
  readonly mode: PowerLossMode;
  readonly disk: SimulatedFs;
  readonly rows: readonly DocumentAttributes[];
  readonly history: readonly { step: Step; outcome: Outcome }[];
}

/** The SE's index, with a copy of its rows kept in step so that a crash point can take them synchronously. */
function mirroredIndex(): { index: FileIndex; rows: Map<string, DocumentAttributes> } {
  const store = new MemoryFileIndex();
  const rows = new Map<string, DocumentAttributes>();
  return {
    rows,
    index: {
      upsert: (seId, file) => {
        rows.set(file.fileId, file);
        return store.upsert(seId, file);
      },
      remove: (seId, fileId) => {
        rows.delete(fileId);
        return store.remove(seId, fileId);
      },
      clear: (seId) => {
        rows.clear();
        return store.clear(seId);
      },
      get: (seId, fileId) => store.get(seId, fileId),
      list: (seId, options) => store.list(seId, options),
      stats: (seId) => store.stats(seId),
    },
  };
}

async function indexWith(rows: readonly DocumentAttributes[]): Promise<FileIndex> {
  const index = new MemoryFileIndex();
  for (const row of rows) await index.upsert(SE_ID, row);
  return index;
}

/** Runs the workload once, taking the state of every crash point in `modes` as it goes. */
async function crashPoints(steps: readonly Step[], modes: readonly PowerLossMode[], seed: number) {
  const fs = await freshDisk();
  const { index, rows } = mirroredIndex();
  const history: { step: Step; outcome: Outcome }[] = [];
  let running: Step | null = null;
  const points: CrashPoint[] = [];
  fs.onCall = (call) => {
    const cut = running ? [...history, { step: running, outcome: 'info' as const }] : [...history];
    for (const mode of modes)
      points.push({
        call,
        mode,
        disk: fs.afterPowerLoss(mode, seed + call),
        rows: [...rows.values()],
        history: cut,
      });
  };
  const element = await openSimulatedElement(fs, index);
  for (const step of steps) {
    running = step;
    await runStep(element.service, step);
    running = null;
    history.push({ step, outcome: 'ok' });
  }
  await element.service.stop();
  fs.onCall = null;
  return points;
}

interface Result {
  readonly lost: string[];
  readonly unexpected: string[];
  readonly partial: string[];
  readonly structure: string[];
  readonly replay: string[];
}

async function recover(point: CrashPoint, seed: number): Promise<Result> {
  const index = await indexWith(point.rows);
  const recovered = await openSimulatedElement(point.disk, index);
  const structure = await checkSeStructure(recovered.parts);
  const verdict = await classify(recovered.service, structure, point.history);
  await recovered.service.stop();
  // The power goes again right after recovery: what recovery did must have been durable.
  const again = point.disk.afterPowerLoss('drop', seed);
  const second = await openSimulatedElement(again, index);
  const secondStructure = await checkSeStructure(second.parts);
  await second.service.stop();
  const replay = [...secondStructure.problems];
  if (secondStructure.fingerprint !== structure.fingerprint)
    replay.push('a second recovery changed the state');
  return { ...verdict, structure: structure.problems, replay };
}

describe('power loss at every file-system call of the storage element', () => {
  it('loses no acknowledged write, shows nothing partial and recovers to a sound, replay-stable state', async () => {
    const started = Date.now();
    const seeds = byTier([1], [1, 2, 3, 4]);
    let injections = 0;
    const failures: string[] = [];
    const totals = { lost: 0, unexpected: 0, partial: 0, structure: 0, replay: 0 };
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      for (const seed of seeds) {
        const steps = diskWorkload(seed, v7);
        for (const point of await crashPoints(steps, POWER_LOSS_MODES, seed * 100_000)) {
          injections += 1;
          const result = await recover(point, seed * 100_000 + point.call);
          for (const kind of ['lost', 'unexpected', 'partial', 'structure', 'replay'] as const) {
            totals[kind] += result[kind].length;
            failures.push(
              ...result[kind].map((p) => `seed ${seed} call ${point.call} ${point.mode}: ${kind}: ${p}`),
            );
          }
        }
      }
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    const target = byTier(300, 2000);
    recordFigures('power loss (simulated disk)', [
      { name: 'injections', value: injections, target: `≥ ${target}`, ok: injections >= target },
      { name: 'lost', value: totals.lost, target: '0', ok: totals.lost === 0 },
      { name: 'unexpected', value: totals.unexpected, target: '0', ok: totals.unexpected === 0 },
      { name: 'partial', value: totals.partial, target: '0', ok: totals.partial === 0 },
      { name: 'structure problems', value: totals.structure, target: '0', ok: totals.structure === 0 },
      { name: 'replay not idempotent', value: totals.replay, target: '0', ok: totals.replay === 0 },
      { name: 'unhandled rejections', value: rejections.length, target: '0', ok: rejections.length === 0 },
      { name: 'seconds', value: Math.round((Date.now() - started) / 1000) },
    ]);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(rejections).toEqual([]);
    expect(injections).toBeGreaterThanOrEqual(target);
  });
});

describe('WAL replay after a power loss (regressions found by the campaign)', () => {
  it('removes the temp file of an update cut before its rename when the intact sidecar is rolled forward', async () => {
    const fs = await freshDisk();
    const index = new MemoryFileIndex();
    const first = await openSimulatedElement(fs, index);
    const [put] = diskWorkload(7, v7).filter((s) => s.kind === 'put' && s.content.length > 0);
    await runStep(first.service, put!);
    const file = (await index.get(SE_ID, put!.id))!;
    // What a journaling file system may keep: the begin record and the next sidecar's temp file.
    await first.parts.wal!.begin({ txn: 'txn-cut', op: 'update', fileId: file.fileId, key: file.stored.key });
    const sidecar = `${SE_ROOT}/blobs/${file.stored.key}.attr.json`;
    const temp = sidecar.replace(/\/([^/]+)$/u, '/.$1.0123456789ab.tmp');
    const handle = await fs.open(temp, 'wx');
    await handle.writeFile('{"schema_version": 1, "fi');
    await handle.close();
    await first.service.stop();

    const restarted = await openSimulatedElement(fs, index);
    const structure = await checkSeStructure(restarted.parts);
    expect(structure.problems).toEqual([]);
    expect(fs.filesUnder(`${SE_ROOT}/blobs`)).not.toContain(temp);
    await restarted.service.stop();
  });
});
