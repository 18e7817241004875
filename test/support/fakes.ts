import { MemorySagaStore } from '../../src/adapters/memory/memory-saga-store';
import type { SagaStore } from '../../src/application/ports/saga-store';
import { SagaRunner } from '../../src/application/sagas/saga-runner';
import { Readable } from 'node:stream';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store';
import { MemoryFileIndex } from '../../src/adapters/memory/memory-file-index';
import { MemoryFixityLog } from '../../src/adapters/memory/memory-fixity-log';
import { MemoryStateStore } from '../../src/adapters/memory/memory-state-store';
import { MemoryWriteAheadLog } from '../../src/adapters/memory/memory-write-ahead-log';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import type { Clock } from '../../src/application/ports/clock';
import type {
  StorageElementClient,
  StorageElementDirectory,
} from '../../src/application/ports/storage-element-client';
import type { StorageElementRegistry } from '../../src/application/ports/storage-element-registry';
import type { WalDamage } from '../../src/application/ports/write-ahead-log';
import { ApplicationError } from '../../src/application/errors';
import {
  StorageElementService,
  type StorageElementObserver,
} from '../../src/application/storage/storage-element-service';
import type { ThresholdsByMode } from '../../src/domain/storage-element/capacity-level';
import type { StorageMode } from '../../src/domain/storage-mode/storage-mode';
import { FixedClock, SequenceIds } from './builders';

/** One storage element on in-memory adapters, with its parts exposed for assertions. */
export interface MemoryElement {
  readonly service: StorageElementService;
  readonly blobs: MemoryBlobStore;
  readonly wal: MemoryWriteAheadLog;
  readonly index: MemoryFileIndex;
  readonly state: MemoryStateStore;
  readonly codec: JsonSidecarCodec;
  readonly clock: FixedClock;
  readonly fixity: MemoryFixityLog;
  readonly observer: RecordingObserver;
}

/** Keeps what a storage element reported about changes it made by itself. */
export class RecordingObserver implements StorageElementObserver {
  readonly switches: { seId: string; from: StorageMode; to: StorageMode; reason: string }[] = [];
  readonly quarantines: { seId: string; fileId: string | null; keys: readonly string[]; reason: string }[] =
    [];
  async modeSwitched(seId: string, from: StorageMode, to: StorageMode, reason: string): Promise<void> {
    this.switches.push({ seId, from, to, reason });
  }
  readonly walDamage: { seId: string; damage: readonly WalDamage[] }[] = [];
  async walDamaged(seId: string, damage: readonly WalDamage[]): Promise<void> {
    this.walDamage.push({ seId, damage });
  }
  async quarantined(
    seId: string,
    entry: { fileId: string | null; keys: readonly string[]; reason: string },
  ): Promise<void> {
    this.quarantines.push({ seId, ...entry });
  }
}

export interface MemoryElementOptions {
  readonly id?: string;
  readonly mode?: StorageMode;
  /** Size of the fake medium (MemoryBlobStore); null = unknown. */
  readonly totalBytes?: number | null;
  /** Configured capacity of the SE; null = the medium's size. */
  readonly capacityBytes?: number | null;
  readonly thresholds?: ThresholdsByMode;
  readonly priority?: number;
  readonly dc?: string;
  readonly blobs?: MemoryBlobStore;
  readonly wal?: MemoryWriteAheadLog;
  readonly index?: MemoryFileIndex;
  readonly state?: MemoryStateStore;
  readonly clock?: FixedClock;
  readonly verifyOnReadMaxBytes?: number;
}

/** Builds (does not start) a storage element on memory adapters. */
export function aMemoryElement(options: MemoryElementOptions = {}): MemoryElement {
  const blobs =
    options.blobs ?? new MemoryBlobStore(options.totalBytes === undefined ? 1_000_000 : options.totalBytes);
  const wal = options.wal ?? new MemoryWriteAheadLog();
  const index = options.index ?? new MemoryFileIndex();
  const state = options.state ?? new MemoryStateStore();
  const codec = new JsonSidecarCodec();
  const clock = options.clock ?? new FixedClock();
  const fixity = new MemoryFixityLog();
  const observer = new RecordingObserver();
  const service = new StorageElementService(
    {
      id: options.id ?? 'se-1',
      backend: 'local',
      dc: options.dc ?? 'dc1',
      priority: options.priority ?? 100,
      capacityBytes: options.capacityBytes ?? null,
      ...(options.thresholds ? { thresholds: options.thresholds } : {}),
      initialMode: options.mode ?? 'edit',
      version: 'test',
      ...(options.verifyOnReadMaxBytes === undefined
        ? {}
        : { verifyOnReadMaxBytes: options.verifyOnReadMaxBytes }),
    },
    { blobs, wal, index, state, sidecars: codec, clock, ids: new SequenceIds(), fixity, observer },
  );
  return { service, blobs, wal, index, state, codec, clock, fixity, observer };
}

export async function aStartedElement(options: MemoryElementOptions = {}): Promise<MemoryElement> {
  const element = aMemoryElement(options);
  await element.service.start();
  return element;
}

/** Tells the registry what the SE looks like now, as its heartbeat would. */
export async function announceElement(
  registry: StorageElementRegistry,
  service: StorageElementService,
  clock: Clock,
  url = 'http://127.0.0.1:1',
): Promise<void> {
  const info = await service.info();
  await registry.announce({
    id: info.id,
    mode: info.mode,
    backend: info.backend,
    dc: info.dc,
    priority: info.priority,
    capacity: info.capacity,
    fileCount: info.fileCount,
    url,
    lastSeenAt: clock.now(),
  });
}

/** A directory of in-process clients by id; an unknown id is not registered. */
export class MapDirectory implements StorageElementDirectory {
  readonly clients = new Map<string, StorageElementClient>();

  constructor(clients: readonly StorageElementClient[] = []) {
    for (const client of clients) this.clients.set(client.id, client);
  }

  client(seId: string): StorageElementClient {
    const client = this.clients.get(seId);
    if (!client) throw new ApplicationError('storage_element_not_found', `no storage element '${seId}'`);
    return client;
  }
}

/**
 * A source stream the test feeds by hand. `reading` resolves when the consumer first asks for
 * data, so a test knows the write is in flight without waiting on a timer.
 */
export class ControlledSource {
  readonly stream: Readable;
  readonly reading: Promise<void>;
  private started!: () => void;

  constructor() {
    this.reading = new Promise((resolve) => {
      this.started = resolve;
    });
    this.stream = new Readable({ read: () => this.started() });
  }

  push(chunk: Buffer | string): void {
    this.stream.push(Buffer.from(chunk));
  }

  end(chunk?: Buffer | string): void {
    if (chunk !== undefined) this.push(chunk);
    this.stream.push(null);
  }

  fail(error: Error): void {
    this.stream.destroy(error);
  }
}

/** A source that sends `first`, then fails with `error` once the consumer asks for more. */
export function failingSource(first: Buffer, error: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      } else {
        this.destroy(error);
      }
    },
  });
}

export const source = (content: Buffer | string): Readable => Readable.from([Buffer.from(content)]);

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A storage element that cannot be reached: every call fails as a refused connection would. */
export class UnreachableElement implements StorageElementClient {
  calls = 0;
  constructor(readonly id: string) {}
  private fail(): Promise<never> {
    this.calls += 1;
    return Promise.reject(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:8000'), { code: 'ECONNREFUSED' }),
    );
  }
  put = () => this.fail();
  head = () => this.fail();
  open = () => this.fail();
  openForRestore = () => this.fail();
  openStored = () => this.fail();
  delete = () => this.fail();
  update = () => this.fail();
  discard = () => this.fail();
  info = () => this.fail();
  listAttributes = () => this.fail();
  rebuild = () => this.fail();
  changeMode = () => this.fail();
  reconcile = () => this.fail();
  startScrub = () => this.fail();
  scrubStatus = () => this.fail();
}

/** A saga runner on a memory store, as the use-case tests need one. */
export function aSagaRunner(clock: Clock, store: SagaStore = new MemorySagaStore()): SagaRunner {
  return new SagaRunner(
    { leaseMs: 30_000, retryAfterMs: 1_000, maxAttempts: 3 },
    { store, clock, ids: new SequenceIds(), failpoint: () => undefined },
  );
}
