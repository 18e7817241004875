import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Principal } from '../../domain/access/principal';
import { DomainError } from '../../domain/errors';
import { ApplicationError } from '../errors';
import type { Clock, IdGenerator } from '../ports/clock';
import type { FileCatalog } from '../ports/file-catalog';
import type { StagingArea } from '../ports/staging-area';
import type { UploadProblem, UploadRecord, UploadStore } from '../ports/upload-store';
import type { UploadCommand, UploadDocument } from './upload-document';
import { principalOf, snapshot, validateIntent, type DescribeUpload } from './upload-intent';
import { policyFor, uploadLimitFor, type CollectionPolicies } from './collection-policy';
import { fileTooLarge } from './inspect-content';
import { DEFAULT_COLLECTION } from '../../domain/document/document';

export type { DescribeUpload, UploadIntent } from './upload-intent';

export interface ResumableUploadSettings {
  readonly maxUploadBytes: number;
  /** Per-collection limits (lower than the global one) apply at creation too. */
  readonly collections?: CollectionPolicies | undefined;
  readonly expiryMs: number;
  readonly defaultTtlDays: number;
  /** A completion not renewed for this long belonged to a process that died; another may take over. */
  readonly completionLeaseMs: number;
  /** Without a checksum, a long PATCH commits its progress this often, so a crash loses little. */
  readonly commitEveryBytes: number;
}

export interface ResumableUploadDeps {
  readonly store: UploadStore;
  readonly staging: StagingArea;
  readonly ingest: Pick<UploadDocument, 'execute'>;
  readonly catalog: Pick<FileCatalog, 'get'>;
  readonly clock: Clock;
  readonly ids: Pick<IdGenerator, 'fileId'>;
  readonly describe: DescribeUpload;
  /**
   * Removes a file nobody was given: what a stalled completion catalogued after another took its
   * upload over under a new id. No retention applies to it (DeleteDocument.discard). Best effort:
   * it does not reject (the container logs a failure; the upload is answered either way).
   */
  readonly discard: (fileId: string) => Promise<void>;
}

export interface ChunkChecksum {
  /** A node:crypto hash name (sha1, sha256, ...). */
  readonly algorithm: string;
  readonly digest: Buffer;
}

/** Content errors: a completion that failed with one of these fails the same way every time. */
const PERMANENT = new Set([
  'digest_mismatch',
  'size_mismatch',
  'content_too_large',
  'invalid_request',
  'forbidden',
  'insufficient_scope',
  'invalid_collection',
  'file_too_large',
  'content_type_not_allowed',
  'decompression_bomb',
]);

/**
 * A completion that failed with this fails the same way every time and marks its upload failed;
 * after any other the upload stays, retried by the next HEAD, PATCH or sweep.
 */
export function isPermanent(error: unknown): boolean {
  if (error instanceof DomainError) return error.code !== 'mode_forbids_operation';
  return error instanceof ApplicationError && PERMANENT.has(error.code);
}

const notFound = (id: string): ApplicationError =>
  new ApplicationError('upload_not_found', `upload ${id} does not exist`);

/**
 * Resumable uploads (tus): the state lives in the UploadStore, the bytes in the StagingArea, so
 * any ingester replica can continue an upload. Once every byte is staged, the file goes through
 * the same UploadDocument as a direct upload, under a file id reserved in the row beforehand so a
 * completion that crashed and is retried stores the same file once.
 */
export class ResumableUploads {
  /** Completions running in this process, so a HEAD during one waits for it instead of racing. */
  private readonly running = new Map<string, Promise<UploadRecord>>();

  constructor(
    private readonly settings: ResumableUploadSettings,
    private readonly deps: ResumableUploadDeps,
  ) {}

  get expiryMs(): number {
    return this.settings.expiryMs;
  }

  get maxUploadBytes(): number {
    return this.settings.maxUploadBytes;
  }

  /** Validates everything a direct upload would check before a byte is stored, then records the upload. */
  async create(
    principal: Principal,
    upload: { id: string; length: number; metadata: Readonly<Record<string, string>> },
  ): Promise<UploadRecord> {
    this.checkLength(upload.length);
    const intent = this.deps.describe(upload.metadata);
    validateIntent(principal, intent, this.deps.clock.now(), this.settings.defaultTtlDays);
    const limit = uploadLimitFor(
      this.settings.maxUploadBytes,
      policyFor(this.settings.collections, intent.collection ?? DEFAULT_COLLECTION),
    );
    if (upload.length > limit) throw fileTooLarge(upload.length, limit);
    const now = this.deps.clock.now();
    const record: UploadRecord = {
      id: upload.id,
      owner: principal.subject,
      principal: snapshot(principal),
      length: upload.length,
      offset: 0,
      metadata: { ...upload.metadata },
      stagedKey: upload.id,
      fileId: null,
      status: 'uploading',
      error: null,
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + this.settings.expiryMs),
    };
    await this.deps.staging.create(record.stagedKey);
    await this.deps.store.create(record);
    return record;
  }

  checkLength(length: number): void {
    if (length > this.settings.maxUploadBytes) {
      throw new ApplicationError(
        'content_too_large',
        `Upload-Length ${length} exceeds the limit of ${this.settings.maxUploadBytes} bytes`,
        { field: 'upload-length', limit: this.settings.maxUploadBytes },
      );
    }
  }

  /** The caller's upload; anyone else's is reported exactly like a missing one. */
  async find(principal: Principal, id: string): Promise<UploadRecord> {
    const record = await this.deps.store.get(id);
    if (!record || record.owner !== principal.subject) throw notFound(id);
    return record;
  }

  async get(id: string): Promise<UploadRecord> {
    const record = await this.deps.store.get(id);
    if (!record) throw notFound(id);
    return record;
  }

  /**
   * Writes one request's bytes at `offset`, syncs them, and only then advances the committed
   * offset. With a checksum the request is all or nothing: a mismatch drops its bytes.
   * Returns the new committed offset. The caller holds the upload's lock.
   */
  async receive(id: string, offset: number, content: Readable, checksum?: ChunkChecksum): Promise<number> {
    const record = await this.get(id);
    if (record.offset !== offset) {
      throw new ApplicationError(
        'offset_mismatch',
        `the upload is at offset ${record.offset}, not ${offset}`,
        {
          offset: record.offset,
        },
      );
    }
    const { store, staging, clock } = this.deps;
    const hash = checksum ? createHash(checksum.algorithm) : null;
    const writer = await staging.open(record.stagedKey);
    let position = offset;
    let committed = offset;
    const commit = async (): Promise<void> => {
      if (position === committed) return;
      await writer.sync();
      if (!(await store.advance(id, committed, position, clock.now())))
        throw new ApplicationError('conflict', `upload ${id} was changed by another request`);
      committed = position;
    };
    try {
      try {
        for await (const chunk of content as AsyncIterable<Buffer>) {
          hash?.update(chunk);
          await writer.write(chunk, position);
          position += chunk.length;
          if (!hash && position - committed >= this.settings.commitEveryBytes) await commit();
        }
      } catch (error) {
        // An interrupted request keeps what arrived, unless it was to be checked as a whole.
        if (hash) await writer.truncate(offset);
        else await commit();
        throw error;
      }
      if (hash && checksum && !hash.digest().equals(checksum.digest)) {
        await writer.truncate(offset);
        throw new ApplicationError(
          'checksum_mismatch',
          `the ${checksum.algorithm} checksum of the ${position - offset} bytes received does not match Upload-Checksum; the offset stays at ${offset}`,
          { field: 'upload-checksum', offset },
        );
      }
      await commit();
      return committed;
    } finally {
      await writer.close();
    }
  }

  /**
   * Hands the staged file to the ingest pipeline once: reserves the file id, runs the upload,
   * marks the row completed and drops the staged bytes. Safe to call again at any point after a
   * crash (from a HEAD, a PATCH or the sweep); a completion running elsewhere is left alone.
   */
  complete(id: string): Promise<UploadRecord> {
    const running = this.running.get(id);
    if (running) return running;
    const completion = this.runCompletion(id).finally(() => this.running.delete(id));
    this.running.set(id, completion);
    return completion;
  }

  private async runCompletion(id: string): Promise<UploadRecord> {
    const { store, clock } = this.deps;
    const record = await this.get(id);
    if (record.status === 'completed' || record.status === 'failed') return record;
    if (record.length === null || record.offset < record.length) return record;
    const now = clock.now();
    // Taking over a completion that died: unless its file made it into the catalog, it gets a new
    // id, so the recovery of the dead attempt's upload saga (which discards that id's copies) can
    // never touch the copies this attempt writes.
    const keep =
      record.fileId !== null &&
      (record.status === 'uploading' || (await this.deps.catalog.get(record.fileId)));
    const claimed = await store.transition(
      id,
      record.status === 'uploading' ? ['uploading'] : ['completing'],
      { status: 'completing', fileId: keep ? record.fileId : this.deps.ids.fileId(), updatedAt: now },
      record.status === 'completing'
        ? { staleBefore: new Date(now.getTime() - this.settings.completionLeaseMs) }
        : {},
    );
    // Another request or replica took it first (or is still renewing its lease).
    if (!claimed) return this.get(id);
    const lease = setInterval(
      () => {
        void store
          .transition(id, ['completing'], { updatedAt: clock.now() }, { fileId: claimed.fileId! })
          .catch(() => undefined);
      },
      Math.max(100, Math.floor(this.settings.completionLeaseMs / 3)),
    );
    lease.unref();
    try {
      return await this.ingest(claimed);
    } finally {
      clearInterval(lease);
    }
  }

  private async ingest(record: UploadRecord): Promise<UploadRecord> {
    const { store, staging, catalog, ingest, describe } = this.deps;
    const fileId = record.fileId!;
    // Every change below holds only while this completion still owns the row (its file id): one
    // taken over after a lease that ran out (a stalled, not dead, process) leaves the row alone.
    const owned = { fileId };
    const length = record.length!;
    try {
      if (!(await catalog.get(fileId))) {
        const intent = describe(record.metadata);
        const { sha256, ...rest } = intent;
        const command: UploadCommand = { ...rest, fileId, expect: { size: length, sha256 } };
        // Reopenable: the pipeline may read the staged bytes again (another SE after a refusal).
        await ingest.execute(principalOf(record.principal), command, () =>
          staging.read(record.stagedKey, length),
        );
      }
    } catch (error) {
      if (!isPermanent(error)) {
        // Let the next HEAD, PATCH or sweep retry at once rather than after the lease.
        await store
          .transition(record.id, ['completing'], { updatedAt: new Date(0) }, owned)
          .catch(() => undefined);
        throw error;
      }
      const e = error as DomainError | ApplicationError;
      const problem: UploadProblem = { code: e.code, detail: e.message, details: e.details };
      if (await store.transition(record.id, ['completing'], { status: 'failed', error: problem }, owned))
        await staging.remove(record.stagedKey);
      throw error;
    }
    const done = await store.transition(
      record.id,
      ['completing'],
      { status: 'completed', updatedAt: this.deps.clock.now() },
      owned,
    );
    // Taken over meanwhile (this process stalled past its lease): the row names the other
    // completion's file and its staged bytes are its to remove. This attempt's file, catalogued
    // under an id the upload no longer names, is a duplicate nobody holds: it goes.
    if (!done) {
      const now = await this.get(record.id);
      if (now.fileId !== fileId && (await catalog.get(fileId))) await this.deps.discard(fileId);
      return now;
    }
    await staging.remove(record.stagedKey);
    return done;
  }

  /** Termination: the row and the staged bytes go at once. A completion in progress cannot be cut off. */
  async terminate(id: string): Promise<void> {
    const record = await this.get(id);
    if (record.status === 'completing') {
      throw new ApplicationError('conflict', `upload ${id} is being stored and cannot be terminated now`);
    }
    // The row first, and only if no completion took it meanwhile; then its bytes.
    if (!(await this.deps.store.remove(id)))
      throw new ApplicationError('conflict', `upload ${id} is being stored and cannot be terminated now`);
    await this.deps.staging.remove(record.stagedKey);
  }

  /**
   * Finishes completions whose process died and removes expired uploads with their bytes.
   * Returns how many of each. Runs at start and periodically on every ingester.
   */
  async sweep(): Promise<{ finished: number; removed: number }> {
    const { store, staging, clock } = this.deps;
    let finished = 0;
    let removed = 0;
    const now = clock.now();
    const stale = new Date(now.getTime() - this.settings.completionLeaseMs);
    for (const record of await store.stalled(stale, 100)) {
      try {
        if ((await this.complete(record.id)).status === 'completed') finished += 1;
      } catch {
        // A failed or still failing completion is recorded on the row; the next sweep tries again.
      }
    }
    for (const record of await store.expired(now, 1000)) {
      if (record.status === 'completing' || !(await store.remove(record.id))) continue;
      await staging.remove(record.stagedKey);
      removed += 1;
    }
    return { finished, removed };
  }
}
