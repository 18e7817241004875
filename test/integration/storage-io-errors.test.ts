import { createHash } from 'node:crypto';
import { v7 } from 'uuid';
import { MemoryFileIndex } from '../../src/adapters/memory/memory-file-index';
import { ApplicationError } from '../../src/application/errors';
import { checkSeStructure, type SeStructure } from '../chaos/support/se-structure';
import {
  freshDisk,
  openSimulatedElement,
  readWhole,
  SE_ID,
  streamOf,
  type SimulatedElement,
} from '../chaos/support/simulated-element';
import type { SimulatedFs } from '../chaos/support/simulated-fs';
import { aDraft } from '../support/builders';

/**
 * Issue 7: a disk error during a storage element's write is a named problem (507 storage_full for
 * ENOSPC, 503 storage_unavailable for other I/O errors), and a write answered with a definite
 * failure never shows up later — not after a restart, not after a power loss. Only
 * write_outcome_unknown leaves the outcome open. The SE runs on its real local adapters over the
 * simulated disk of the chaos campaigns (test/chaos/support/simulated-fs.ts), which fails the nth
 * file-system call from now, once or from then on.
 */
const content = Buffer.from('a document that must be kept for a defined time\n'.repeat(40));

async function put(element: SimulatedElement, fileId = v7()): Promise<string> {
  await element.service.put(
    aDraft({ fileId, name: 'kept.txt', contentType: 'text/plain' }),
    streamOf(content),
    { size: content.length, sha256: createHash('sha256').update(content).digest('hex') },
  );
  return fileId;
}

/** A disk holding one stored file, and the index rows that go with it. */
async function diskWithOneFile(): Promise<{ disk: SimulatedFs; rows: MemoryFileIndex; fileId: string }> {
  const disk = await freshDisk();
  const rows = new MemoryFileIndex();
  const element = await openSimulatedElement(disk, rows);
  const fileId = await put(element);
  await element.service.stop();
  return { disk, rows, fileId };
}

async function copyOf(rows: MemoryFileIndex): Promise<MemoryFileIndex> {
  const copy = new MemoryFileIndex();
  for (const row of (await rows.list(SE_ID, { cursor: null, limit: 1000 })).items)
    await copy.upsert(SE_ID, row);
  return copy;
}

/** The structure of the SE a restart on `disk` finds (the WAL replayed), then stopped. */
async function afterRestart(
  disk: SimulatedFs,
  rows: MemoryFileIndex,
  blobDisk: SimulatedFs = disk,
): Promise<SeStructure> {
  const restarted = await openSimulatedElement(disk, rows, blobDisk);
  const structure = await checkSeStructure(restarted.parts);
  await restarted.service.stop();
  return structure;
}

/** How many file-system calls `operation` makes on a fault-free copy of the disk. */
async function callsOf(
  disk: SimulatedFs,
  rows: MemoryFileIndex,
  operation: (element: SimulatedElement) => Promise<unknown>,
): Promise<number> {
  const dry = disk.clone();
  const element = await openSimulatedElement(dry, await copyOf(rows));
  const before = dry.calls;
  await operation(element);
  return dry.calls - before;
}

/** The error `operation` fails with, or null when it succeeded. */
async function failureOf(operation: Promise<unknown>): Promise<unknown> {
  return operation.then(
    () => null,
    (error: unknown) => error,
  );
}

const definiteCode = { EIO: 'storage_unavailable', ENOSPC: 'storage_full' } as const;

describe.each(['EIO', 'ENOSPC'] as const)('storage element update and delete under %s', (errno) => {
  it.each([
    ['update', (e: SimulatedElement, id: string) => e.service.update(id, { description: 'changed' })],
    ['delete', (e: SimulatedElement, id: string) => e.service.delete(id)],
  ] as const)(
    '%s: a named problem at every failing call, and a definite failure changes nothing, before and after a restart',
    async (_name, operation) => {
      const { disk, rows, fileId } = await diskWithOneFile();
      const calls = await callsOf(disk, rows, (e) => operation(e, fileId));
      const codes = new Set<string>();
      for (const persistent of [false, true])
        for (let n = 1; n <= calls; n += 1) {
          const faulty = disk.clone();
          const index = await copyOf(rows);
          const element = await openSimulatedElement(faulty, index);
          faulty.failAt(n, persistent, errno);
          const error = await failureOf(operation(element, fileId));
          if (error === null) continue;
          expect(error).toBeInstanceOf(ApplicationError);
          const { code } = error as ApplicationError;
          codes.add(code);
          expect([definiteCode[errno], 'write_outcome_unknown']).toContain(code);
          if (code === 'write_outcome_unknown') continue;
          // A definite failure: the file as it was, live and on a restart right after the answer.
          const atAnswer = faulty.clone();
          faulty.healFaults();
          const live = await element.service.head(fileId);
          expect({ n, status: live.status, description: live.description }).toEqual({
            n,
            status: 'active',
            description: null,
          });
          expect(await readWhole(element.service, fileId)).toEqual(content);
          await element.service.stop();
          const restarted = await afterRestart(atAnswer, await copyOf(index));
          expect({ n, problems: restarted.problems }).toEqual({ n, problems: [] });
          expect(restarted.files.get(fileId)?.description).toBeNull();
        }
      expect(codes).toContain(definiteCode[errno]);
    },
  );
});

describe('a put whose undo fails too', () => {
  it('answers write_outcome_unknown when even the rollback record cannot be written, and the next write settles it', async () => {
    const { disk, rows } = await diskWithOneFile();
    const fileId = v7();
    const calls = await callsOf(disk, rows, (e) => put(e, fileId));
    let unknown = 0;
    for (let n = 1; n <= calls; n += 1) {
      const faulty = disk.clone();
      const index = await copyOf(rows);
      const element = await openSimulatedElement(faulty, index);
      faulty.failAt(n, true);
      const error = await failureOf(put(element, fileId));
      expect(error).toBeInstanceOf(ApplicationError);
      const atAnswer = faulty.clone();
      faulty.healFaults();
      if ((error as ApplicationError).code !== 'write_outcome_unknown') {
        expect((error as ApplicationError).code).toBe('storage_unavailable');
        // Definite: not there after a restart right after the answer.
        expect((await afterRestart(atAnswer, await copyOf(index))).files.has(fileId)).toBe(false);
        await element.service.stop();
        continue;
      }
      unknown += 1;
      expect((error as ApplicationError).details).toEqual({ file_id: fileId });
      // Once the disk is back, the next write finishes the rollback the failed put owes.
      await put(element);
      await expect(element.service.head(fileId)).rejects.toMatchObject({ code: 'file_not_found' });
      await element.service.stop();
      const restarted = await afterRestart(faulty, index);
      expect({ n, problems: restarted.problems, kept: restarted.files.has(fileId) }).toEqual({
        n,
        problems: [],
        kept: false,
      });
    }
    // The faults that hit after the sidecar was written (its directory fsync, the commit).
    expect(unknown).toBeGreaterThan(0);
  });

  it('with the WAL on a healthy disk logs a delete intent, so the failure stands: replay removes what is left', async () => {
    const walDisk = await freshDisk();
    const blobDisk = await freshDisk();
    const rows = new MemoryFileIndex();
    const fileId = v7();
    const dry = { wal: walDisk.clone(), blobs: blobDisk.clone() };
    const before = dry.blobs.calls;
    await put(await openSimulatedElement(dry.wal, await copyOf(rows), dry.blobs), fileId);
    const calls = dry.blobs.calls - before;
    let intents = 0;
    for (let n = 1; n <= calls; n += 1) {
      const wal = walDisk.clone();
      const blobs = blobDisk.clone();
      const index = await copyOf(rows);
      const element = await openSimulatedElement(wal, index, blobs);
      blobs.failAt(n, true);
      const error = await failureOf(put(element, fileId));
      expect({ n, code: (error as ApplicationError | null)?.code }).toEqual({
        n,
        code: 'storage_unavailable',
      });
      const open = await element.parts.wal!.unfinished();
      if (open.some((intent) => intent.op === 'delete' && intent.fileId === fileId)) intents += 1;
      // A restart (the blob disk back) right after the answer, and a power loss: nothing of the file.
      blobs.healFaults();
      for (const [walAfter, blobsAfter] of [
        [wal.clone(), blobs.clone()],
        [wal.afterPowerLoss('drop', n), blobs.afterPowerLoss('drop', n)],
      ] as const) {
        const restarted = await openSimulatedElement(walAfter, await copyOf(index), blobsAfter);
        const structure = await checkSeStructure(restarted.parts);
        expect({ n, problems: structure.problems, kept: structure.files.has(fileId) }).toEqual({
          n,
          problems: [],
          kept: false,
        });
        expect(await restarted.parts.wal!.unfinished()).toEqual([]);
        await restarted.service.stop();
      }
      await element.service.stop();
    }
    // The blob disk failed before the sidecar was renamed (an ordinary undo) and after (an intent).
    expect(intents).toBeGreaterThan(0);
  });

  it('owes its rollback until it is done: discard fails while the disk fails, settles it once the disk is back', async () => {
    const walDisk = await freshDisk();
    const blobDisk = await freshDisk();
    const rows = new MemoryFileIndex();
    const element = await openSimulatedElement(walDisk, rows, blobDisk);
    const fileId = v7();
    // Persistently from the sidecar's directory fsync on: the sidecar is in place, nothing can remove it.
    const dry = { wal: walDisk.clone(), blobs: blobDisk.clone() };
    const before = dry.blobs.calls;
    await put(await openSimulatedElement(dry.wal, new MemoryFileIndex(), dry.blobs), fileId);
    // Its last three calls on the blob disk: open, fsync and close of the sidecar's directory.
    blobDisk.failAt(dry.blobs.calls - before - 2, true);
    await expect(put(element, fileId)).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect((await element.parts.wal!.unfinished()).map((i) => i.op)).toContain('delete');
    await expect(element.service.discard(fileId)).rejects.toMatchObject({ code: 'storage_unavailable' });
    blobDisk.healFaults();
    await element.service.discard(fileId);
    expect(await element.parts.wal!.unfinished()).toEqual([]);
    const structure = await checkSeStructure(element.parts);
    expect({ problems: structure.problems, kept: structure.files.has(fileId) }).toEqual({
      problems: [],
      kept: false,
    });
    // And the same file can now be written for good.
    await put(element, fileId);
    await element.service.stop();
    expect((await afterRestart(walDisk, rows, blobDisk)).files.has(fileId)).toBe(true);
  });
});
