import { createHash } from 'node:crypto';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { blobKeyFor, quarantineFolder, sidecarKeyFor } from '../../domain/document/blob-key';
import { levelProblem, type Codec } from '../../domain/document/compression';
import {
  applyAttributeChange,
  changesDescriptiveFields,
  isEmptyChange,
  reflectsChange,
  type AttributeChange,
} from '../../domain/document/attribute-change';
import {
  completeDocument,
  type DocumentAttributes,
  type DocumentDraft,
} from '../../domain/document/document';
import { planFrames } from '../../domain/document/frames';
import { planChunks, type ChunkDigests } from '../../domain/document/chunks';
import { assertDeletable, deletionBlocker } from '../../domain/retention/retention';
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
  permissionFor,
  planTransition,
  type StorageMode,
} from '../../domain/storage-mode/storage-mode';
import { ApplicationError } from '../errors';
import { BlobNotFound, type BlobStore, type ByteRange } from '../ports/blob-store';
import type { Clock, IdGenerator } from '../ports/clock';
import type { FileIndex, Page } from '../ports/file-index';
import type { FixityLog, FixityTrigger } from '../ports/fixity-log';
import { SidecarInvalid, type SidecarCodec } from '../ports/sidecar-codec';
import type {
  ContentExpectations,
  OpenedContent,
  PutOptions,
  RebuildReport,
  ReconcileOptions,
  ReconcileReport,
  ScrubStatus,
  StorageElementClient,
  StorageElementHealth,
  StorageElementInfo,
  UpdateOptions,
} from '../ports/storage-element-client';
import type { StorageElementStateStore } from '../ports/storage-element-state';
import type { WalDamage, WriteAheadLog } from '../ports/write-ahead-log';
import { ChunkDamaged, verifiedChunks } from './chunk-digests';
import { CreateRollbacks } from './create-rollbacks';
import { decodeFrames, FrameDamaged } from './framed-codec';
import { rebuildIndex } from './rebuild-index';
import { reconcileStorage } from './reconcile';
import { replayWriteAheadLog } from './replay';
import { moveToQuarantine } from './quarantine';
import { Scrubber } from './scrub';
import { sidecarProblem } from './sidecar-check';
import { outcomeUnknown, putError, storageError } from './storage-errors';
import { storeContent } from './store-content';
import { BLOB_MISSING, fixityProblem, verifyingStream, verifyStoredFile } from './verify';

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
  /** Scrub read rate; null reads as fast as the medium allows. */
  readonly scrubRateBytesPerSecond?: number | null;
  /** Whole reads up to this size are verified before the first byte is sent (§4: never serve corrupt). */
  readonly verifyOnReadMaxBytes?: number;
  /** Temp files and incomplete uploads older than this are leftovers reconcile may remove. */
  readonly staleTempAfterMs?: number;
}

/** What the SE tells the rest of its process about changes it makes by itself (audit, registry). */
export interface StorageElementObserver {
  modeSwitched(seId: string, from: StorageMode, to: StorageMode, reason: string): Promise<void>;
  quarantined(
    seId: string,
    entry: { fileId: string | null; keys: readonly string[]; reason: string },
  ): Promise<void>;
  /** Records of the WAL that failed their check at start: skipped by replay. */
  walDamaged(seId: string, damage: readonly WalDamage[]): Promise<void>;
}

const DEFAULT_VERIFY_ON_READ_MAX_BYTES = 1024 * 1024;
const DEFAULT_STALE_TEMP_AFTER_MS = 60 * 60 * 1000;

export interface StorageElementDeps {
  readonly blobs: BlobStore;
  readonly wal: WriteAheadLog;
  readonly index: FileIndex;
  readonly state: StorageElementStateStore;
  readonly sidecars: SidecarCodec;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly fixity: FixityLog;
  readonly observer?: StorageElementObserver;
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
  /** The mode a transition is moving to while its gates run (rw → ro drains writes), else null. */
  private pendingMode: StorageMode | null = null;
  /** One map per running scan (rebuild, reconcile): files written or deleted while it runs. */
  private readonly watchers = new Set<Map<string, 'put' | 'delete'>>();
  private rebuilding = false;
  private reconciling = false;
  private quarantinedSinceStart = 0;
  /** Files being written, deleted or quarantined right now: scans and checks leave them alone. */
  private readonly changing = new Set<string>();
  /** Index mutations in flight, and a counter of those begun: a recount must not race them. */
  private mutationsInFlight = 0;
  private mutationsBegun = 0;
  private readonly scrubber: Scrubber;
  private readonly rollbacks: CreateRollbacks;

  constructor(
    private readonly settings: StorageElementSettings,
    private readonly deps: StorageElementDeps,
  ) {
    this.mode = settings.initialMode;
    this.rollbacks = new CreateRollbacks(deps.wal, deps.ids, (fileId, key, uncount) =>
      this.undoCreate(fileId, key, uncount),
    );
    this.scrubber = new Scrubber(
      settings.id,
      {
        list: (cursor, limit) => this.deps.index.list(this.id, { cursor, limit }),
        stats: () => this.deps.index.stats(this.id),
        verify: async (file, paced) =>
          (await sidecarProblem(this.deps, file)) ?? (await verifyStoredFile(this.deps.blobs, file, paced)),
        stillStored: async (fileId) =>
          !this.changing.has(fileId) && (await this.deps.index.get(this.id, fileId)) !== null,
        checked: (file, problem, trigger) => this.checked(file, problem, trigger),
      },
      deps.clock,
    );
  }

  get id(): string {
    return this.settings.id;
  }

  /** Replays the WAL and loads mode and counters; must finish before the SE serves requests. */
  async start(): Promise<void> {
    try {
      const saved = await this.deps.state.load();
      if (saved) this.mode = saved.mode;
      else await this.deps.state.save({ mode: this.mode });
      await replayWriteAheadLog(this.settings.id, this.deps);
      const damage = this.deps.wal.damaged();
      if (damage.length > 0) await this.deps.observer?.walDamaged(this.id, damage);
      const stats = await this.deps.index.stats(this.settings.id);
      this.usedBytes = stats.bytes;
      this.fileCount = stats.files;
    } catch (error) {
      throw storageError(error);
    }
  }

  currentMode(): StorageMode {
    return this.mode;
  }

  /** Mode and pending change: checked synchronously, so a write and a mode change in one turn cannot both win. */
  private assertAcceptsWrites(): void {
    assertOperationAllowed(this.mode, 'create');
    if (this.pendingMode !== null) {
      throw new ApplicationError(
        'storage_unavailable',
        `storage element '${this.id}' is draining writes for a mode change`,
      );
    }
  }

  /** Refuses a write the SE cannot take, before any byte of it is read; returns the bytes free. */
  async checkWritable(size: number | null): Promise<number> {
    this.assertAcceptsWrites();
    const free = freeBytes(
      await this.capacity().catch((error: unknown) => {
        throw storageError(error);
      }),
    );
    if (size !== null && size > free) {
      throw new ApplicationError(
        'storage_full',
        `storage element '${this.id}' has ${free} bytes free, ${size} needed`,
      );
    }
    return free;
  }

  put(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
    options?: PutOptions,
  ): Promise<DocumentAttributes> {
    try {
      this.assertAcceptsWrites();
      const problem = options ? levelProblem(options.encoding, options.level) : null;
      if (problem !== null) throw new ApplicationError('invalid_request', problem, { field: 'level' });
    } catch (error) {
      return Promise.reject(error);
    }
    // Registered before the first await: a drain that starts now waits for this write.
    const write = this.admitAndWrite(draft, content, expect, options);
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
    options: PutOptions | undefined,
  ): Promise<DocumentAttributes> {
    // The original size: an upper bound of what compressed content will take, near enough.
    const free = await this.checkWritable(expect.size);
    const reservation = expect.size ?? 0;
    this.reservedBytes += reservation;
    try {
      return await this.write(draft, content, expect, free, options);
    } finally {
      this.reservedBytes -= reservation;
    }
  }

  private async write(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
    limit: number,
    options: PutOptions | undefined,
  ): Promise<DocumentAttributes> {
    await this.settleRollbacks(draft.fileId);
    const key = blobKeyFor(draft.fileId, draft.name, draft.uploadedAt);
    const txn = this.deps.ids.token();
    this.changing.add(draft.fileId);
    this.touch(draft.fileId, 'put');
    try {
      return await this.writeInWal(draft, content, expect, { limit, key, txn, options });
    } finally {
      this.changing.delete(draft.fileId);
    }
  }

  private async writeInWal(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
    {
      limit,
      key,
      txn,
      options,
    }: { limit: number; key: string; txn: string; options: PutOptions | undefined },
  ): Promise<DocumentAttributes> {
    const { blobs, wal, index, sidecars, clock } = this.deps;
    try {
      // Not a byte read yet: a full WAL disk is a storage_full the ingester can take elsewhere.
      await wal.begin({ txn, op: 'create', fileId: draft.fileId, key });
    } catch (error) {
      throw putError(error);
    }
    /** Bytes counted in when the row was written, so an undo takes back exactly that. */
    let counted: number | null = null;
    let sidecarStarted = false;
    try {
      const { original, stored } = await storeContent(blobs, key, content, {
        limit,
        onLimit: () =>
          new ApplicationError(
            'storage_full',
            `storage element '${this.id}' ran out of space during the upload`,
          ),
        sha512: expect.sha512 !== undefined,
        put: options,
      });
      checkExpectations(expect, original.size, original);
      const file = completeDocument(
        draft,
        { size: original.size, sha256: original.sha256, key },
        clock.now(),
        stored,
      );
      sidecarStarted = true;
      await blobs.put(sidecarKeyFor(key), sidecars.encode(file));
      await this.mutateIndex(
        () => index.upsert(this.id, file),
        () => {
          // Capacity counts what the medium holds: the stored bytes.
          this.usedBytes += stored.size;
          this.fileCount += 1;
          counted = stored.size;
        },
      );
      this.touch(file.fileId, 'put');
      await wal.commit(txn);
      return file;
    } catch (error) {
      // Runs with the row's removal, once, whenever the undo gets that far.
      const uncount = (): void => {
        if (counted === null) return;
        this.usedBytes -= counted;
        this.fileCount -= 1;
        counted = null;
      };
      const settled = await this.rollbacks.rollBack(draft.fileId, key, txn, uncount);
      // Before its sidecar was written, a put cannot be rolled forward: replay needs the sidecar.
      throw settled || !sidecarStarted ? putError(error) : outcomeUnknown('put', draft.fileId, error);
    }
  }

  /**
   * Finishes the rollbacks earlier failed puts still owe (the disk may be back). Refuses when the
   * one of `fileId` is still owed: its delete intent, replayed later, would remove this write.
   */
  private async settleRollbacks(fileId: string): Promise<void> {
    for (const owed of this.rollbacks.fileIds()) {
      if (this.changing.has(owed)) continue;
      this.changing.add(owed);
      try {
        await this.rollbacks.finish(owed).catch(() => undefined);
      } finally {
        this.changing.delete(owed);
      }
    }
    if (this.rollbacks.owes(fileId))
      throw new ApplicationError(
        'storage_unavailable',
        `an earlier failed write of file ${fileId} on '${this.id}' is not undone yet; try again`,
      );
  }

  /** Removes a failed create's row and files (each removal fsyncs its directory). */
  private async undoCreate(fileId: string, key: string, uncount: () => void): Promise<void> {
    const { blobs, index } = this.deps;
    await this.mutateIndex(() => index.remove(this.id, fileId), uncount);
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

  open(fileId: string, range?: ByteRange): Promise<OpenedContent> {
    return this.read(fileId, range, false);
  }

  /** The archive's side of a restore: the one content read an `ar` SE serves. */
  openForRestore(fileId: string): Promise<OpenedContent> {
    return this.read(fileId, undefined, true);
  }

  openStored(fileId: string, range?: ByteRange): Promise<OpenedContent> {
    return this.read(fileId, range, false, true);
  }

  private async read(
    fileId: string,
    range: ByteRange | undefined,
    restoring: boolean,
    asStored = false,
  ): Promise<OpenedContent> {
    const found = await this.head(fileId);
    // The stored bytes are read like an identity file's: no frame is decoded.
    const file: DocumentAttributes = asStored
      ? {
          ...found,
          size: found.stored.size,
          sha256: found.stored.sha256,
          stored: { ...found.stored, frames: null },
        }
      : found;
    if (!restoring) assertOperationAllowed(this.mode, 'read', { restored: false });
    if (range && (range.start < 0 || range.end < range.start || range.end >= file.size)) {
      throw new ApplicationError(
        'range_not_satisfiable',
        `range ${range.start}-${range.end} is outside 0-${file.size - 1}`,
        { field: 'range' },
      );
    }
    const opened = { size: file.size, sha256: file.sha256, range: range ?? null };
    // A range of every byte is a whole read and is verified as one (bytes=0- asks for exactly that).
    const partial = range !== undefined && (range.start > 0 || range.end < file.size - 1);
    try {
      if (file.stored.frames)
        return { ...opened, stream: await this.openFramed(file, partial ? range : undefined) };
      // Small content read whole is still checked whole first: damage anywhere is an error answer.
      if (file.stored.chunks && file.stored.size > 0 && (partial || !this.verifiedOnRead(file)))
        return {
          ...opened,
          stream: await this.openChecked(file, range ?? { start: 0, end: file.size - 1 }),
        };
      // Content written before chunk digests: checked whole when small, by its end hash otherwise.
      if (this.verifiedOnRead(file)) {
        // Small enough to check whole even for a range: no byte of a damaged copy goes out.
        const content = await this.verifiedWhole(file, await this.deps.blobs.read(file.stored.key));
        const stream = new PassThrough();
        stream.end(partial ? content.subarray(range.start, range.end + 1) : content);
        return { ...opened, stream };
      }
      if (partial) return { ...opened, stream: await this.deps.blobs.get(file.stored.key, range) };
      // A bounded read even for the whole blob: the stream then never reads past the known size.
      const whole = file.stored.size > 0 ? { start: 0, end: file.stored.size - 1 } : undefined;
      const stream = await this.deps.blobs.get(file.stored.key, whole);
      const verifying = verifyingStream(file, async (problem) => {
        await this.checked(file, problem, 'read').catch(() => undefined);
        return this.corrupt(file, problem);
      });
      return { ...opened, stream: pipeline(stream, verifying, () => undefined) };
    } catch (error) {
      if (error instanceof BlobNotFound) {
        // Deleted while we looked: simply gone. Otherwise the blob is lost.
        if (!(await this.checked(file, BLOB_MISSING, 'read')))
          throw new ApplicationError(
            'file_not_found',
            `file ${fileId} is not on storage element '${this.id}'`,
          );
        throw new ApplicationError(
          'storage_unavailable',
          `the content of file ${fileId} is missing on '${this.id}'`,
        );
      }
      throw error;
    }
  }

  /**
   * The original bytes of compressed content: only the frames covering `range` are read, each
   * decoded under its hard size bound. Whole reads are verified against the stored SHA-256 like
   * identity ones. The first frame is decoded before this returns, so damage there is an error
   * answer, not a broken 2xx; a frame that does not decode is damage (quarantined).
   */
  private async openFramed(file: DocumentAttributes, range: ByteRange | undefined): Promise<Readable> {
    const { blobs } = this.deps;
    const plan = planFrames(file.stored.frames!, file.size, range);
    if (plan === null) {
      await this.verifiedWhole(file, await blobs.read(file.stored.key));
      return Readable.from([]);
    }
    let stored: AsyncIterable<Buffer>;
    if (!range && this.verifiedOnRead(file))
      stored = Readable.from([await this.verifiedWhole(file, await blobs.read(file.stored.key))]);
    // The chunks covering the frames are checked before a frame is decoded (brotli has no checksum).
    else if (file.stored.chunks) stored = await this.checkedStored(file, file.stored.chunks, plan.stored);
    // Without chunk digests a range reads only its frames (O(range)), each checked as it decodes.
    else if (range) stored = await blobs.get(file.stored.key, plan.stored);
    else {
      const raw = await blobs.get(file.stored.key, { start: 0, end: file.stored.size - 1 });
      const verifying = verifyingStream(file, async (problem) => {
        await this.checked(file, problem, 'read').catch(() => undefined);
        return this.corrupt(file, problem);
      });
      stored = pipeline(raw, verifying, () => undefined);
    }
    const chunks = this.undamaged(file, decodeFrames(stored, file.stored.encoding as Codec, plan));
    const first = await chunks.next();
    return Readable.from(prepended(first, chunks), { objectMode: false });
  }

  /**
   * Stored bytes `span` of content with chunk digests: the chunks covering it are read and each
   * is checked before any of its bytes goes out. The first chunk is checked before this returns,
   * so damage there is an error answer (the copy quarantined), not a broken 2xx; damage in a
   * later chunk quarantines the copy and fails the stream before that chunk's bytes.
   */
  private async openChecked(file: DocumentAttributes, span: ByteRange): Promise<Readable> {
    const bytes = this.undamaged(file, await this.checkedStored(file, file.stored.chunks!, span));
    const first = await bytes.next();
    return Readable.from(prepended(first, bytes), { objectMode: false });
  }

  private async checkedStored(
    file: DocumentAttributes,
    chunks: ChunkDigests,
    span: ByteRange,
  ): Promise<AsyncGenerator<Buffer>> {
    const plan = planChunks(chunks.chunkSize, file.stored.size, span);
    return verifiedChunks(await this.deps.blobs.get(file.stored.key, plan.stored), chunks, plan);
  }

  /** Stored content this small is read and checked whole before a byte goes out (identity: ranges too). */
  private verifiedOnRead(file: DocumentAttributes): boolean {
    return file.stored.size <= (this.settings.verifyOnReadMaxBytes ?? DEFAULT_VERIFY_ON_READ_MAX_BYTES);
  }

  /** Frames that do not decode and chunks that differ from their digests are damage: quarantine, file_corrupt. */
  private async *undamaged(file: DocumentAttributes, chunks: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    try {
      yield* chunks;
    } catch (error) {
      if (!(error instanceof FrameDamaged) && !(error instanceof ChunkDamaged)) throw error;
      await this.checked(file, error.message, 'read').catch(() => undefined);
      throw this.corrupt(file, error.message);
    }
  }

  /** Checks a small blob read whole before a byte goes out; damage is quarantined. */
  private async verifiedWhole(file: DocumentAttributes, content: Buffer): Promise<Buffer> {
    const problem = fixityProblem(file, content.length, () =>
      createHash('sha256').update(content).digest('hex'),
    );
    if (problem === null) return content;
    throw await this.damaged(file, problem);
  }

  /** A read found the copy damaged: quarantined, file_corrupt; file_not_found when it went meanwhile. */
  private async damaged(file: DocumentAttributes, problem: string): Promise<ApplicationError> {
    if (!(await this.checked(file, problem, 'read')))
      return new ApplicationError(
        'file_not_found',
        `file ${file.fileId} is not on storage element '${this.id}'`,
      );
    return this.corrupt(file, problem);
  }

  private corrupt(file: DocumentAttributes, problem: string): ApplicationError {
    return new ApplicationError(
      'file_corrupt',
      `the copy of file ${file.fileId} on storage element '${this.id}' failed its integrity check (${problem}) and was quarantined`,
      { file_id: file.fileId, storage_element: this.id },
    );
  }

  /**
   * A re-hash result: recorded in the fixity history (successful reads are not, they are many),
   * and a damaged copy is moved to quarantine so it is never served again.
   */
  /** Returns false when the file turned out to be deleted or changed meanwhile: then nothing is recorded. */
  private async checked(
    file: DocumentAttributes,
    problem: string | null,
    trigger: FixityTrigger,
  ): Promise<boolean> {
    if (problem === null && trigger === 'read') return true;
    if (problem !== null) {
      // A delete racing the check looks like damage: only the row, still unchanged and idle, proves it is not.
      const row = await this.deps.index.get(this.id, file.fileId);
      if (!row || row.stored.key !== file.stored.key || this.changing.has(file.fileId)) return false;
      // Quarantine first: a fixity history that cannot be written must not keep a bad copy servable.
      await this.quarantine(file.stored.key, file.fileId, problem);
    }
    await this.recordFixity(file.fileId, problem, trigger).catch((error: unknown) => {
      if (problem === null) throw error;
    });
    return true;
  }

  private recordFixity(fileId: string, problem: string | null, trigger: FixityTrigger): Promise<void> {
    return this.deps.fixity.record({
      seId: this.id,
      fileId,
      checkedAt: this.deps.clock.now(),
      ok: problem === null,
      detail: problem,
      trigger,
    });
  }

  /**
   * Moves the file's blob and sidecar under `quarantine/<time>_<txn>/` (never deletes them) and
   * forgets the file here, under a WAL record that replay finishes after a crash. One change per
   * file at a time: a file being written, deleted or already quarantined is left alone.
   */
  private async quarantine(blobKey: string, fileId: string | null, reason: string): Promise<void> {
    if (fileId !== null && this.changing.has(fileId)) return;
    if (fileId !== null) this.changing.add(fileId);
    try {
      const { wal, index, clock, ids } = this.deps;
      const txn = quarantineFolder(clock.now(), ids.token());
      await wal.begin({ txn, op: 'quarantine', fileId: fileId ?? '', key: blobKey });
      const moved = await moveToQuarantine(this.deps.blobs, blobKey, txn);
      const row = fileId === null ? null : await index.get(this.id, fileId);
      if (row) {
        await this.mutateIndex(
          () => index.remove(this.id, row.fileId),
          () => {
            this.usedBytes -= row.stored.size;
            this.fileCount -= 1;
          },
        );
      }
      await wal.commit(txn);
      if (moved.length === 0 && !row) return;
      this.quarantinedSinceStart += 1;
      await this.deps.observer?.quarantined(this.id, { fileId, keys: moved, reason });
    } finally {
      if (fileId !== null) this.changing.delete(fileId);
    }
  }

  /** An index change and the counters that follow it, as one step a recount can see in flight. */
  private async mutateIndex(change: () => Promise<void>, count: () => void): Promise<void> {
    this.mutationsInFlight += 1;
    this.mutationsBegun += 1;
    try {
      await change();
      count();
    } finally {
      this.mutationsInFlight -= 1;
    }
  }

  /** Counters from the index, unless an index change ran meanwhile (then they are already right). */
  private async recount(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (this.mutationsInFlight > 0) return;
      const begun = this.mutationsBegun;
      const stats = await this.deps.index.stats(this.id);
      if (this.mutationsInFlight === 0 && begun === this.mutationsBegun) {
        this.usedBytes = stats.bytes;
        this.fileCount = stats.files;
        return;
      }
    }
  }

  async delete(fileId: string): Promise<void> {
    const file = await this.head(fileId);
    const now = this.deps.clock.now();
    // Where the mode defers to retention, retention's own refusal (retention_active, legal_hold_active) says why.
    if (permissionFor(this.mode, 'delete') === 'after_retention') assertDeletable(file.retention, now);
    assertOperationAllowed(this.mode, 'delete', {
      retentionEnded: deletionBlocker(file.retention, now) === null,
    });
    await this.remove(file);
  }

  /**
   * §4.1 update: WAL begin → new sidecar (atomic replace) → cache row → commit. The sidecar is read
   * back rather than trusting the cache row, so a retry after a lost reply sees its own change. A
   * crash after the sidecar write is rolled forward by replay (the row follows the sidecar); one
   * before it leaves the previous sidecar, the truth until then.
   */
  async update(
    fileId: string,
    change: AttributeChange,
    options: UpdateOptions = {},
  ): Promise<DocumentAttributes> {
    if (isEmptyChange(change))
      throw new ApplicationError('invalid_request', 'the change names no attribute to change', {
        field: 'change',
      });
    const { ifAttrVersion, targetAttrVersion } = options;
    if (
      ifAttrVersion !== undefined &&
      targetAttrVersion !== undefined &&
      targetAttrVersion !== ifAttrVersion + 1
    )
      throw new ApplicationError('invalid_request', 'targetAttrVersion must be ifAttrVersion + 1', {
        field: 'target_attr_version',
      });
    const row = await this.head(fileId);
    try {
      return await this.updateExclusively(
        row,
        change,
        ifAttrVersion ?? (targetAttrVersion ?? 0) - 1,
        targetAttrVersion,
      );
    } catch (error) {
      if (!(error instanceof SidecarInvalid)) throw storageError(error);
      // The sidecar read back is the copy's truth, and it is damaged: the copy goes like a damaged blob.
      throw await this.damaged(row, `sidecar: ${error.message}`);
    }
  }

  private async updateExclusively(
    row: DocumentAttributes,
    change: AttributeChange,
    expected: number,
    target: number | undefined,
  ): Promise<DocumentAttributes> {
    const fileId = row.fileId;
    if (this.changing.has(fileId))
      throw new ApplicationError('conflict', `file ${fileId} is being changed on '${this.id}'; try again`);
    this.changing.add(fileId);
    this.touch(fileId, 'put');
    try {
      return await this.updateInWal(row, change, expected, target);
    } finally {
      this.changing.delete(fileId);
    }
  }

  /** `expected` < 0: any current version. */
  private async updateInWal(
    row: DocumentAttributes,
    change: AttributeChange,
    expected: number,
    target: number | undefined,
  ): Promise<DocumentAttributes> {
    const { blobs, wal, index, sidecars, clock, ids } = this.deps;
    const key = row.stored.key;
    const current = await blobs.read(sidecarKeyFor(key)).then(
      (raw) => sidecars.decode(raw),
      (error: unknown) => {
        // Deleted between the row lookup and now: simply gone.
        if (error instanceof BlobNotFound) return null;
        throw error;
      },
    );
    if (!current || current.status !== 'active' || current.fileId !== row.fileId)
      throw new ApplicationError(
        'file_not_found',
        `file ${row.fileId} is not on storage element '${this.id}'`,
      );
    if (target !== undefined && current.attrVersion === target && reflectsChange(current, change)) {
      if (row.attrVersion !== current.attrVersion)
        await this.mutateIndex(
          () => index.upsert(this.id, current),
          () => undefined,
        );
      return current;
    }
    // After the retry check: a change that landed before the SE became read-only is still done.
    if (changesDescriptiveFields(change)) assertOperationAllowed(this.mode, 'update_metadata');
    if (expected >= 0 && current.attrVersion !== expected)
      throw new ApplicationError(
        'attr_version_mismatch',
        `file ${row.fileId} is at attr_version ${current.attrVersion}, not ${expected}`,
        { attr_version: current.attrVersion },
      );
    const next = applyAttributeChange(current, change, clock.now());
    const txn = ids.token();
    await wal.begin({ txn, op: 'update', fileId: row.fileId, key });
    try {
      await blobs.put(sidecarKeyFor(key), sidecars.encode(next));
    } catch (error) {
      // The replace is atomic, but it may have happened before the failure (a directory fsync):
      // whichever sidecar is there now is the truth, and the row follows it. When it is the new
      // one, the change is made: writing it once more makes it durable, so success is the answer.
      const onDisk = await this.settleUpdate(row, txn).catch(() => null);
      const made =
        onDisk?.attrVersion === next.attrVersion &&
        (await blobs.put(sidecarKeyFor(key), sidecars.encode(next)).then(
          () => true,
          () => false,
        ));
      // The old sidecar in place (the record closed): a failure. Otherwise the new one may be
      // there, undurable or unread, and a restart would show the change: the outcome is unknown.
      if (!made)
        throw onDisk?.attrVersion === row.attrVersion
          ? storageError(error)
          : outcomeUnknown('update', row.fileId, error);
    }
    // From here the change is made. A failing cache write leaves the WAL record open: replay
    // (or a retry of this update) brings the row in line with the sidecar.
    await this.mutateIndex(
      () => index.upsert(this.id, next),
      () => undefined,
    );
    this.touch(row.fileId, 'put');
    // A commit that fails leaves the record open: replay finds the new sidecar intact and closes it.
    await wal.commit(txn).catch(() => undefined);
    return next;
  }

  /** After a failed sidecar write: temp files go, the row matches the sidecar on disk, the WAL closes. */
  private async settleUpdate(row: DocumentAttributes, txn: string): Promise<DocumentAttributes> {
    const { blobs, wal, index, sidecars } = this.deps;
    const sidecarKey = sidecarKeyFor(row.stored.key);
    const onDisk = sidecars.decode(await blobs.read(sidecarKey));
    if (onDisk.attrVersion !== row.attrVersion)
      await this.mutateIndex(
        () => index.upsert(this.id, onDisk),
        () => undefined,
      );
    // Left open, the record is harmless: replay removes the temp file and follows the sidecar.
    await blobs
      .discardIncomplete(sidecarKey)
      .then(() => wal.commit(txn))
      .catch(() => undefined);
    return onDisk;
  }

  /**
   * Compensation of a create whose later step failed (the catalog never recorded the file): removes
   * it whatever its retention and the mode, since for the rest of the system it never existed.
   */
  async discard(fileId: string): Promise<void> {
    // A put of this file still running (its caller gave up on it) would commit after a no-op
    // discard: the caller must hear that nothing was discarded, and try again.
    if (this.changing.has(fileId))
      throw new ApplicationError(
        'conflict',
        `file ${fileId} is being written on '${this.id}'; discard it again later`,
      );
    try {
      await this.settleRollbacks(fileId);
      const file = await this.deps.index.get(this.id, fileId);
      if (file) await this.remove(file);
    } catch (error) {
      throw storageError(error);
    }
  }

  private async remove(file: DocumentAttributes): Promise<void> {
    if (this.changing.has(file.fileId))
      throw new ApplicationError(
        'conflict',
        `file ${file.fileId} is being changed on '${this.id}'; try again`,
      );
    this.changing.add(file.fileId);
    this.touch(file.fileId, 'delete');
    try {
      await this.removeInWal(file);
    } catch (error) {
      throw storageError(error);
    } finally {
      this.changing.delete(file.fileId);
    }
  }

  private async removeInWal(file: DocumentAttributes): Promise<void> {
    const { blobs, wal, index, sidecars, clock, ids } = this.deps;
    const txn = ids.token();
    const key = file.stored.key;
    await wal.begin({ txn, op: 'delete', fileId: file.fileId, key }).catch(async (error: unknown) => {
      // A begin record the log could not cut back would be replayed, deleting the file: a
      // durable abort closes it (whether or not it is there), else the outcome is unknown.
      const closed = await wal.abort(txn).then(
        () => true,
        () => false,
      );
      throw closed ? error : outcomeUnknown('delete', file.fileId, error);
    });
    // §4.1: tombstone in the sidecar first, so a crash part-way never leaves an "active" sidecar without its blob.
    const tombstone: DocumentAttributes = {
      ...file,
      status: 'deleted',
      updatedAt: clock.now(),
      attrVersion: file.attrVersion + 1,
    };
    try {
      await blobs.put(sidecarKeyFor(key), sidecars.encode(tombstone));
    } catch (error) {
      // The replace is atomic: while the sidecar on disk is still the active one, the delete did
      // not happen and the WAL record is closed, so no replay carries it out later.
      const onDisk = await blobs.read(sidecarKeyFor(key)).then(
        (raw) => sidecars.decode(raw),
        () => null,
      );
      if (onDisk?.status !== 'deleted') {
        // Left open, the record makes the next replay carry the delete out: then it is not a failure.
        const closed =
          onDisk?.status === 'active' &&
          (await blobs
            .discardIncomplete(sidecarKeyFor(key))
            .then(() => wal.abort(txn))
            .then(
              () => true,
              () => false,
            ));
        throw closed ? storageError(error) : outcomeUnknown('delete', file.fileId, error);
      }
    }
    // From here the delete is made (the sidecar, the truth, says so); removing the files is
    // cleanup that replay finishes should it fail now, so the WAL record then stays open.
    const cleaned = await blobs
      .delete(key)
      .then(() => blobs.delete(sidecarKeyFor(key)))
      .then(
        () => true,
        () => false,
      );
    await this.mutateIndex(
      () => index.remove(this.id, file.fileId),
      () => {
        this.usedBytes -= file.stored.size;
        this.fileCount -= 1;
      },
    );
    this.touch(file.fileId, 'delete');
    // A commit that fails leaves the record open: replay finds the delete done and closes it.
    if (cleaned) await wal.commit(txn).catch(() => undefined);
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
    const reachable = await this.probeBackend();
    const capacity = reachable === null ? await this.capacity() : this.accountedCapacity();
    const level = capacityLevel(this.mode, capacity, this.settings.thresholds ?? DEFAULT_THRESHOLDS);
    return {
      id: this.id,
      mode: this.mode,
      pendingMode: this.pendingMode,
      backend: this.settings.backend,
      dc: this.settings.dc,
      priority: this.settings.priority,
      capacity,
      capacityLevel: level,
      fileCount: this.fileCount,
      walPending: (await this.deps.wal.unfinished()).length,
      health: this.health(reachable, level),
      scrub: this.scrubber.current(),
      version: this.settings.version,
    };
  }

  /** A cheap round trip to the blob backend; the failure, or null when it answered. */
  private async probeBackend(): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)),
        PROBE_TIMEOUT_MS,
      );
    });
    try {
      // A real round trip (S3: a HEAD): space() may be cached or, on S3, answered locally.
      await Promise.race([this.deps.blobs.stat(PROBE_KEY), timeout]);
      return null;
    } catch (error) {
      return (error as Error).message;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Capacity from the SE's own accounting, when the medium cannot be asked. */
  private accountedCapacity(): Capacity {
    const total = this.settings.capacityBytes ?? Math.max(this.usedBytes, 0);
    return { totalBytes: total, usedBytes: Math.min(total, this.usedBytes + this.reservedBytes) };
  }

  private health(backendProblem: string | null, level: CapacityLevel): StorageElementHealth {
    if (backendProblem !== null)
      return { status: 'failing', problems: [`the blob backend does not answer: ${backendProblem}`] };
    const problems: string[] = [];
    if (level === 'critical' || level === 'full') problems.push(`capacity is at the ${level} threshold`);
    const scrub = this.scrubber.current();
    if (scrub.failureCount > 0)
      problems.push(`the last scrub found ${scrub.failureCount} damaged or unreadable file(s)`);
    if (scrub.state === 'failed') problems.push(`the last scrub stopped: ${scrub.error}`);
    if (this.quarantinedSinceStart > 0)
      problems.push(`${this.quarantinedSinceStart} file(s) quarantined since start`);
    const walDamage = this.deps.wal.damaged();
    if (walDamage[0])
      problems.push(
        `the write-ahead log held ${walDamage.length} damaged record(s) at start, skipped by replay (the first in ${walDamage[0].segment} at byte ${walDamage[0].offset}: ${walDamage[0].problem})`,
      );
    return { status: problems.length > 0 ? 'degraded' : 'ok', problems };
  }

  listAttributes(options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>> {
    return this.deps.index.list(this.id, options);
  }

  private touch(fileId: string, change: 'put' | 'delete'): void {
    for (const touched of this.watchers) touched.set(fileId, change);
  }

  /** Runs a scan with a record of the files written or deleted meanwhile, then recounts. */
  private async watching<T>(
    scan: (touched: () => ReadonlyMap<string, 'put' | 'delete'>) => Promise<T>,
  ): Promise<T> {
    const touched = new Map<string, 'put' | 'delete'>();
    this.watchers.add(touched);
    try {
      return await scan(() => touched);
    } finally {
      this.watchers.delete(touched);
      await this.recount();
    }
  }

  async rebuild(): Promise<RebuildReport> {
    if (this.rebuilding)
      throw new ApplicationError('conflict', `a rebuild of '${this.id}' is already running`);
    this.rebuilding = true;
    try {
      return await this.watching((touched) => rebuildIndex(this.id, this.deps, touched));
    } finally {
      this.rebuilding = false;
    }
  }

  async reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
    if (this.reconciling)
      throw new ApplicationError('conflict', `a reconcile of '${this.id}' is already running`);
    this.reconciling = true;
    try {
      return await this.watching((touched) =>
        reconcileStorage(this.deps, this.id, options, {
          touched,
          quarantine: (blobKey, fileId, reason) => this.quarantine(blobKey, fileId, reason),
          changing: (fileId) => this.changing.has(fileId),
          fixity: (fileId, problem) => this.recordFixity(fileId, problem, 'reconcile'),
          staleTempAfterMs: this.settings.staleTempAfterMs ?? DEFAULT_STALE_TEMP_AFTER_MS,
        }),
      );
    } finally {
      this.reconciling = false;
    }
  }

  async startScrub(options: { rateBytesPerSecond: number | null }): Promise<ScrubStatus> {
    return this.scrubber.start(options.rateBytesPerSecond ?? this.settings.scrubRateBytesPerSecond ?? null);
  }

  async scrubStatus(): Promise<ScrubStatus> {
    return this.scrubber.current();
  }

  /** Ends background work (a running scrub) before the process closes its resources. */
  async stop(): Promise<void> {
    await this.scrubber.stop();
  }

  async changeMode(to: StorageMode, confirmed: boolean): Promise<StorageElementInfo> {
    const plan = planTransition(this.mode, to, confirmed);
    if (!plan.noop) {
      if (this.pendingMode !== null)
        throw new ApplicationError('conflict', `'${this.id}' is already changing to '${this.pendingMode}'`);
      this.pendingMode = to;
      try {
        if (plan.gates.includes('drain_writes')) await this.drainWrites();
        if (plan.gates.includes('passing_scrub')) await this.requirePassingScrub();
        await this.deps.state.save({ mode: to }).catch((error: unknown) => {
          throw storageError(error);
        });
        this.mode = to;
      } finally {
        this.pendingMode = null;
      }
    }
    return this.info();
  }

  /** How full this SE is for its current mode. */
  async capacityLevel(): Promise<CapacityLevel> {
    return capacityLevel(this.mode, await this.capacity(), this.settings.thresholds ?? DEFAULT_THRESHOLDS);
  }

  /** §3.3: a `rw` SE that reached *full* takes no more writes: it moves itself to `ro`. */
  private async switchWhenFull(): Promise<void> {
    if (this.mode !== 'rw' || this.pendingMode !== null) return;
    if (!switchesToReadOnly(this.mode, await this.capacityLevel())) return;
    // Another write may have switched meanwhile: only the one that moves the mode reports it.
    if (this.mode !== 'rw' || this.pendingMode !== null) return;
    await this.changeMode('ro', false);
    await this.deps.observer?.modeSwitched(this.id, 'rw', 'ro', 'capacity reached the full threshold');
  }

  /** `rw → ro`: new writes are refused while the change is pending; wait for those in flight (§3.3 gate). */
  private async drainWrites(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }

  /** `ro → ar`: a full scrub now, every stored file matching its sidecar checksum. */
  private async requirePassingScrub(): Promise<void> {
    const result = await this.scrubber.run(null, 'mode_gate');
    if (result.state !== 'finished') {
      throw new ApplicationError('conflict', `the scrub did not finish (${result.error}); mode unchanged`);
    }
    const first = result.failures[0];
    if (first) {
      throw new ApplicationError(
        'conflict',
        `scrub found ${result.failureCount} damaged or unreadable file(s) (damaged copies are now quarantined), the first ${first.fileId} (${first.problem}); mode unchanged`,
        { file_id: first.fileId, damaged: result.failureCount },
      );
    }
  }
}

async function* prepended(
  first: IteratorResult<Buffer>,
  rest: AsyncGenerator<Buffer>,
): AsyncGenerator<Buffer> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

const PROBE_KEY = '.artstore-probe';
const PROBE_TIMEOUT_MS = 2_000;

function checkExpectations(
  expect: ContentExpectations,
  size: number,
  digests: { sha256: string; sha512: string | null },
): void {
  if (expect.size !== null && size !== expect.size) {
    throw new ApplicationError('size_mismatch', `received ${size} bytes, ${expect.size} were announced`, {
      field: 'content-length',
    });
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
