import { pipeline, type Readable } from 'node:stream';
import { blobKeyFor, sidecarKeyFor } from '../../domain/document/blob-key';
import {
  completeDocument,
  type DocumentAttributes,
  type DocumentDraft,
} from '../../domain/document/document';
import { deletionBlocker } from '../../domain/retention/retention';
import {
  capacityLevel,
  DEFAULT_THRESHOLDS,
  switchesToReadOnly,
  type CapacityLevel,
  type ThresholdsByMode,
} from '../../domain/storage-element/capacity-level';
import { freeBytes, type BlobBackend, type Capacity } from '../../domain/storage-element/storage-element';
import {
  assertOperationAllowed,
  planTransition,
  type StorageMode,
} from '../../domain/storage-mode/storage-mode';
import { ApplicationError } from '../errors';
import { BlobNotFound, type BlobStore, type ByteRange } from '../ports/blob-store';
import type { Clock, IdGenerator } from '../ports/clock';
import type { FileIndex, Page } from '../ports/file-index';
import type { SidecarCodec } from '../ports/sidecar-codec';
import type {
  ContentExpectations,
  OpenedContent,
  RebuildReport,
  StorageElementClient,
  StorageElementInfo,
} from '../ports/storage-element-client';
import type { StorageElementStateStore } from '../ports/storage-element-state';
import type { WriteAheadLog } from '../ports/write-ahead-log';
import { DigestingStream } from './digesting-stream';
import { rebuildIndex } from './rebuild-index';
import { replayWriteAheadLog } from './replay';
import { verifyStoredFile } from './verify';

export interface StorageElementSettings {
  readonly id: string;
  readonly backend: BlobBackend;
  readonly dc: string;
  readonly priority: number;
  /** Configured capacity; null means the size of the medium. */
  readonly capacityBytes: number | null;
  /** Free-space floors per writable mode; a `rw` SE at *full* switches itself to `ro`. */
  readonly thresholds?: ThresholdsByMode;
  readonly initialMode: StorageMode;
  readonly version: string;
}

export interface StorageElementDeps {
  readonly blobs: BlobStore;
  readonly wal: WriteAheadLog;
  readonly index: FileIndex;
  readonly state: StorageElementStateStore;
  readonly sidecars: SidecarCodec;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/**
 * One storage element (§3.3, §4): blobs and sidecars on a blob backend, a WAL, and the SE's
 * metadata cache. Implements the storage role boundary used in-process and behind its HTTP API.
 */
export class StorageElementService implements StorageElementClient {
  private mode: StorageMode;
  private usedBytes = 0;
  private fileCount = 0;
  private reservedBytes = 0;
  private readonly writes = new Set<Promise<unknown>>();
  private draining = false;
  /** Files written or deleted while a rebuild scans, or null when none runs. */
  private rebuilding: Map<string, 'put' | 'delete'> | null = null;

  constructor(
    private readonly settings: StorageElementSettings,
    private readonly deps: StorageElementDeps,
  ) {
    this.mode = settings.initialMode;
  }

  get id(): string {
    return this.settings.id;
  }

  /** Replays the WAL and loads mode and counters; must finish before the SE serves requests. */
  async start(): Promise<void> {
    const saved = await this.deps.state.load();
    if (saved) this.mode = saved.mode;
    else await this.deps.state.save({ mode: this.mode });
    await replayWriteAheadLog(this.settings.id, this.deps);
    const stats = await this.deps.index.stats(this.settings.id);
    this.usedBytes = stats.bytes;
    this.fileCount = stats.files;
  }

  currentMode(): StorageMode {
    return this.mode;
  }

  /** Mode and drain state: checked synchronously, so a write and a mode change in one turn cannot both win. */
  private assertAcceptsWrites(): void {
    assertOperationAllowed(this.mode, 'create');
    if (this.draining) {
      throw new ApplicationError(
        'storage_unavailable',
        `storage element '${this.id}' is draining writes for a mode change`,
      );
    }
  }

  /** Refuses a write the SE cannot take, before any byte of it is read; returns the bytes free. */
  async checkWritable(size: number | null): Promise<number> {
    this.assertAcceptsWrites();
    const free = freeBytes(await this.capacity());
    if (size !== null && size > free) {
      throw new ApplicationError(
        'storage_full',
        `storage element '${this.id}' has ${free} bytes free, ${size} needed`,
      );
    }
    return free;
  }

  put(draft: DocumentDraft, content: Readable, expect: ContentExpectations): Promise<DocumentAttributes> {
    try {
      this.assertAcceptsWrites();
    } catch (error) {
      return Promise.reject(error);
    }
    // Registered before the first await: a drain that starts now waits for this write.
    const write = this.admitAndWrite(draft, content, expect);
    this.writes.add(write);
    const forget = (): void => void this.writes.delete(write);
    write.then(forget, forget);
    // After this write has left the set, so the switch's drain does not wait on its own trigger.
    // A failed switch does not fail the stored write; the next write tries again.
    return write.then(async (file) => {
      await this.switchWhenFull().catch(() => undefined);
      return file;
    });
  }

  private async admitAndWrite(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
  ): Promise<DocumentAttributes> {
    const free = await this.checkWritable(expect.size);
    const reservation = expect.size ?? 0;
    this.reservedBytes += reservation;
    try {
      return await this.write(draft, content, expect, free);
    } finally {
      this.reservedBytes -= reservation;
    }
  }

  private async write(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
    limit: number,
  ): Promise<DocumentAttributes> {
    const { blobs, wal, index, sidecars, clock, ids } = this.deps;
    const key = blobKeyFor(draft.fileId, draft.name, draft.uploadedAt);
    const txn = ids.token();
    await wal.begin({ txn, op: 'create', fileId: draft.fileId, key });
    try {
      const digesting = new DigestingStream(
        limit,
        () =>
          new ApplicationError(
            'storage_full',
            `storage element '${this.id}' ran out of space during the upload`,
          ),
        { sha512: expect.sha512 !== undefined },
      );
      const { size } = await blobs.put(
        key,
        pipeline(content, digesting, () => undefined),
      );
      const digests = digesting.digests();
      checkExpectations(expect, size, digests);
      const file = completeDocument(draft, { size, sha256: digests.sha256, key }, clock.now());
      await blobs.put(sidecarKeyFor(key), sidecars.encode(file));
      await index.upsert(this.id, file);
      this.rebuilding?.set(file.fileId, 'put');
      await wal.commit(txn);
      this.usedBytes += size;
      this.fileCount += 1;
      return file;
    } catch (error) {
      try {
        await this.undoCreate(draft.fileId, key);
        await wal.abort(txn);
      } catch {
        // The WAL record stays open, so the next start's replay finishes the rollback.
      }
      throw normalizeWriteError(error);
    }
  }

  private async undoCreate(fileId: string, key: string): Promise<void> {
    const { blobs, index } = this.deps;
    await index.remove(this.id, fileId);
    await blobs.delete(sidecarKeyFor(key));
    await blobs.delete(key);
    await blobs.discardIncomplete(sidecarKeyFor(key));
    await blobs.discardIncomplete(key);
  }

  async head(fileId: string): Promise<DocumentAttributes> {
    const file = await this.deps.index.get(this.id, fileId);
    if (!file || file.status !== 'active') {
      throw new ApplicationError('file_not_found', `file ${fileId} is not on storage element '${this.id}'`);
    }
    return file;
  }

  async open(fileId: string, range?: ByteRange): Promise<OpenedContent> {
    const file = await this.head(fileId);
    assertOperationAllowed(this.mode, 'read', { restored: false });
    if (range && (range.start < 0 || range.end < range.start || range.end >= file.size)) {
      throw new ApplicationError(
        'range_not_satisfiable',
        `range ${range.start}-${range.end} is outside 0-${file.size - 1}`,
      );
    }
    try {
      // A bounded read even for the whole blob: the stream then never reads past the known size.
      const whole = file.stored.size > 0 ? { start: 0, end: file.stored.size - 1 } : undefined;
      const stream = await this.deps.blobs.get(file.stored.key, range ?? whole);
      return { size: file.stored.size, sha256: file.stored.sha256, range: range ?? null, stream };
    } catch (error) {
      if (error instanceof BlobNotFound) {
        throw new ApplicationError(
          'storage_unavailable',
          `the content of file ${fileId} is missing on '${this.id}'`,
        );
      }
      throw error;
    }
  }

  async delete(fileId: string): Promise<void> {
    const file = await this.head(fileId);
    assertOperationAllowed(this.mode, 'delete', {
      retentionEnded: deletionBlocker(file.retention, this.deps.clock.now()) === null,
    });
    await this.remove(file);
  }

  /**
   * Compensation of a create whose later step failed (the catalog never recorded the file): removes
   * it whatever its retention and the mode, since for the rest of the system it never existed.
   */
  async discard(fileId: string): Promise<void> {
    const file = await this.deps.index.get(this.id, fileId);
    if (file) await this.remove(file);
  }

  private async remove(file: DocumentAttributes): Promise<void> {
    const { blobs, wal, index, sidecars, clock, ids } = this.deps;
    const txn = ids.token();
    const key = file.stored.key;
    await wal.begin({ txn, op: 'delete', fileId: file.fileId, key });
    // §4.1: tombstone in the sidecar first, so a crash part-way never leaves an "active" sidecar without its blob.
    const tombstone: DocumentAttributes = {
      ...file,
      status: 'deleted',
      updatedAt: clock.now(),
      attrVersion: file.attrVersion + 1,
    };
    await blobs.put(sidecarKeyFor(key), sidecars.encode(tombstone));
    await blobs.delete(key);
    await blobs.delete(sidecarKeyFor(key));
    await index.remove(this.id, file.fileId);
    this.rebuilding?.set(file.fileId, 'delete');
    await wal.commit(txn);
    this.usedBytes -= file.size;
    this.fileCount -= 1;
  }

  async capacity(): Promise<Capacity> {
    const space = await this.deps.blobs.space();
    const total = this.settings.capacityBytes ?? space?.totalBytes ?? Number.MAX_SAFE_INTEGER;
    const accountedFree = Math.max(0, total - this.usedBytes - this.reservedBytes);
    // The medium may fill up from outside ArtStore: never promise more than it has free.
    const free = space ? Math.min(accountedFree, space.freeBytes) : accountedFree;
    return { totalBytes: total, usedBytes: total - free };
  }

  async info(): Promise<StorageElementInfo> {
    return {
      id: this.id,
      mode: this.mode,
      backend: this.settings.backend,
      dc: this.settings.dc,
      priority: this.settings.priority,
      capacity: await this.capacity(),
      capacityLevel: await this.capacityLevel(),
      fileCount: this.fileCount,
      walPending: (await this.deps.wal.unfinished()).length,
      version: this.settings.version,
    };
  }

  listAttributes(options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>> {
    return this.deps.index.list(this.id, options);
  }

  async rebuild(): Promise<RebuildReport> {
    if (this.rebuilding)
      throw new ApplicationError('conflict', `a rebuild of '${this.id}' is already running`);
    const touched = new Map<string, 'put' | 'delete'>();
    this.rebuilding = touched;
    let report: RebuildReport;
    try {
      report = await rebuildIndex(this.id, this.deps, () => touched);
    } finally {
      this.rebuilding = null;
    }
    const stats = await this.deps.index.stats(this.id);
    this.usedBytes = stats.bytes;
    this.fileCount = stats.files;
    return report;
  }

  async changeMode(to: StorageMode, confirmed: boolean): Promise<StorageElementInfo> {
    const plan = planTransition(this.mode, to, confirmed);
    if (!plan.noop) {
      if (plan.gates.includes('drain_writes')) await this.drainWrites();
      if (plan.gates.includes('passing_scrub')) await this.requirePassingScrub();
      await this.deps.state.save({ mode: to });
      this.mode = to;
    }
    return this.info();
  }

  /** How full this SE is for its current mode. */
  async capacityLevel(): Promise<CapacityLevel> {
    return capacityLevel(this.mode, await this.capacity(), this.settings.thresholds ?? DEFAULT_THRESHOLDS);
  }

  /** §3.3: a `rw` SE that reached *full* takes no more writes: it moves itself to `ro`. */
  private async switchWhenFull(): Promise<void> {
    if (this.mode !== 'rw' || this.draining) return;
    if (switchesToReadOnly(this.mode, await this.capacityLevel())) await this.changeMode('ro', false);
  }

  /** `rw → ro`: refuse new writes, wait for those in flight (§3.3 gate). */
  private async drainWrites(): Promise<void> {
    this.draining = true;
    try {
      await Promise.allSettled([...this.writes]);
    } finally {
      this.draining = false;
    }
  }

  /** `ro → ar`: every stored file must match its sidecar checksum. */
  private async requirePassingScrub(): Promise<void> {
    let cursor: string | null = null;
    do {
      const page: Page<DocumentAttributes> = await this.deps.index.list(this.id, { cursor, limit: 200 });
      for (const file of page.items) {
        const problem = await verifyStoredFile(this.deps.blobs, file);
        if (problem) {
          throw new ApplicationError(
            'conflict',
            `scrub failed for file ${file.fileId}: ${problem}; mode unchanged`,
            {
              file_id: file.fileId,
            },
          );
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
}

function checkExpectations(
  expect: ContentExpectations,
  size: number,
  digests: { sha256: string; sha512: string | null },
): void {
  if (expect.size !== null && size !== expect.size) {
    throw new ApplicationError('size_mismatch', `received ${size} bytes, ${expect.size} were announced`);
  }
  if (expect.sha256 !== undefined && expect.sha256 !== digests.sha256) {
    throw new ApplicationError(
      'digest_mismatch',
      'the content does not match the sha-256 digest sent with it',
      {
        algorithm: 'sha-256',
      },
    );
  }
  if (expect.sha512 !== undefined && expect.sha512 !== digests.sha512) {
    throw new ApplicationError(
      'digest_mismatch',
      'the content does not match the sha-512 digest sent with it',
      {
        algorithm: 'sha-512',
      },
    );
  }
}

function normalizeWriteError(error: unknown): unknown {
  if (error instanceof ApplicationError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ApplicationError('storage_full', 'the storage medium is full', {}, { cause: error });
  }
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED') {
    return new ApplicationError(
      'upload_interrupted',
      'the upload ended before all content arrived',
      {},
      { cause: error },
    );
  }
  return error;
}
