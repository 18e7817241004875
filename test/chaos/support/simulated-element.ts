import { Readable } from 'node:stream';
import { LocalFsBlobStore } from '../../../src/adapters/blob-store/local-fs-blob-store';
import { MemoryFileIndex } from '../../../src/adapters/memory/memory-file-index';
import { MemoryFixityLog } from '../../../src/adapters/memory/memory-fixity-log';
import { JsonSidecarCodec } from '../../../src/adapters/sidecar/json-sidecar-codec';
import { SystemClock, UuidV7Ids } from '../../../src/adapters/system/system-clock';
import { FileStateStore } from '../../../src/adapters/wal/file-state-store';
import { FileWriteAheadLog } from '../../../src/adapters/wal/file-write-ahead-log';
import type { FileIndex } from '../../../src/application/ports/file-index';
import { StorageElementService } from '../../../src/application/storage/storage-element-service';
import type { SeParts } from './se-structure';
import { PowerLost, SimulatedFs } from './simulated-fs';

export const SE_ID = 'se-sim';
export const SE_ROOT = '/se';

/**
 * The SE's metadata cache stands for PostgreSQL, which keeps every committed row through the
 * SE's crash: a MemoryFileIndex that outlives SE instances, and that takes no more writes once
 * the simulated power is off (a dead process commits nothing).
 */
export function indexSurvivingCrashesOf(fs: () => SimulatedFs, rows = new MemoryFileIndex()): FileIndex {
  const alive = (): void => {
    if (fs().crashed) throw new PowerLost();
  };
  return {
    upsert: async (seId, file) => {
      alive();
      await rows.upsert(seId, file);
    },
    remove: async (seId, fileId) => {
      alive();
      await rows.remove(seId, fileId);
    },
    clear: async (seId) => {
      alive();
      await rows.clear(seId);
    },
    get: (seId, fileId) => rows.get(seId, fileId),
    list: (seId, options) => rows.list(seId, options),
    stats: (seId) => rows.stats(seId),
  };
}

/** A disk with the SE's directory made (and fsynced) by whoever set the machine up. */
export async function freshDisk(): Promise<SimulatedFs> {
  const fs = new SimulatedFs();
  await fs.mkdir(SE_ROOT);
  const root = await fs.open('/', 'r');
  await root.sync();
  await root.close();
  return fs;
}

export interface SimulatedElement {
  readonly service: StorageElementService;
  readonly parts: SeParts;
}

/**
 * A storage element on its real local adapters (blob store, WAL, state file) over a simulated disk;
 * with `blobFs`, blobs and sidecars live on a disk of their own (as on a separate volume or S3).
 */
export async function openSimulatedElement(
  fs: SimulatedFs,
  index: FileIndex,
  blobFs: SimulatedFs = fs,
): Promise<SimulatedElement> {
  const sidecars = new JsonSidecarCodec();
  const blobs = new LocalFsBlobStore(`${SE_ROOT}/blobs`, blobFs);
  const wal = await FileWriteAheadLog.openAt(`${SE_ROOT}/wal`, fs);
  const service = new StorageElementService(
    {
      id: SE_ID,
      backend: 'local',
      dc: 'dc1',
      priority: 1,
      capacityBytes: null,
      initialMode: 'edit',
      version: 'test',
    },
    {
      blobs,
      wal,
      index,
      state: new FileStateStore(`${SE_ROOT}/state.json`, fs),
      sidecars,
      clock: new SystemClock(),
      ids: new UuidV7Ids(),
      fixity: new MemoryFixityLog(),
    },
  );
  await service.start();
  return { service, parts: { seId: SE_ID, blobs, sidecars, index, wal } };
}

/** The whole original content of a file as the SE serves it. */
export async function readWhole(service: StorageElementService, fileId: string): Promise<Buffer> {
  const opened = await service.open(fileId);
  const chunks: Buffer[] = [];
  for await (const chunk of opened.stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function readRange(
  service: StorageElementService,
  fileId: string,
  start: number,
  end: number,
): Promise<Buffer> {
  const opened = await service.open(fileId, { start, end });
  const chunks: Buffer[] = [];
  for await (const chunk of opened.stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export const streamOf = (content: Buffer): Readable =>
  Readable.from(
    (function* () {
      for (let at = 0; at < content.length; at += 256 * 1024) yield content.subarray(at, at + 256 * 1024);
    })(),
  );
