import { PassThrough, type Readable } from 'node:stream';
import type { Principal } from '../../domain/access/principal';
import type { CompressionPolicy } from '../../domain/document/compression';
import type { DocumentAttributes, DocumentDraft } from '../../domain/document/document';
import { sanitizeFileName } from '../../domain/document/file-name';
import { checkDescriptiveFields } from '../../domain/document/metadata-limits';
import { DomainError } from '../../domain/errors';
import { nextCopyTarget, rankCandidates } from '../../domain/placement/placement';
import { decideRetention, writeModeFor, type RetentionPolicy } from '../../domain/retention/retention';
import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import { ApplicationError } from '../errors';
import type { Clock, IdGenerator } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog } from '../ports/file-catalog';
import type { ContentSniffer } from '../ports/content-sniffer';
import type { ContentExpectations, StorageElementDirectory } from '../ports/storage-element-client';
import type { FileCopy } from '../ports/file-catalog';
import type { SagaDefinition, SagaRunner } from '../sagas/saga-runner';
import type { PutOptions } from '../ports/storage-element-client';
import { writableCollection } from '../shared/authorize';
import { decideEncoding } from './compression';
import type { StagingArea } from '../ports/staging-area';
import { spooledContent, type SpooledContent } from './spooled-content';
import type { RegistryView } from '../shared/registry-view';
import { policyFor, uploadLimitFor, type CollectionPolicies } from './collection-policy';
import { fileTooLarge, inspectContent, PEEK_BYTES, type InspectedContent } from './inspect-content';

export interface UploadCommand {
  readonly name: string;
  readonly contentType: string;
  readonly collection?: string | undefined;
  readonly description?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  readonly retentionPolicy?: string | undefined;
  readonly ttlDays?: number | undefined;
  readonly retainUntil?: Date | undefined;
  /** How to store the bytes; `auto` when absent. */
  readonly compression?: CompressionPolicy | undefined;
  readonly expect: ContentExpectations;
  /** A file id reserved beforehand (a tus upload finishing after a crash uses the same one). */
  readonly fileId?: string | undefined;
}

export interface IngestSettings {
  readonly defaultTtlDays: number;
  /** An SE silent for longer than this is not offered new files. */
  readonly staleAfterMs: number;
  /** Copies each retention class must have before an upload is acknowledged (§3.4). */
  readonly replication: Readonly<Record<RetentionPolicy, number>>;
  /** No document may be larger (ARTSTORE_MAX_UPLOAD_BYTES). */
  readonly maxUploadBytes: number;
  readonly collections?: CollectionPolicies | undefined;
}

export interface UploadDeps {
  readonly registry: RegistryView;
  readonly directory: StorageElementDirectory;
  readonly catalog: FileCatalog;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly sagas: SagaRunner;
  readonly sniffer: ContentSniffer;
  /**
   * Scratch space for direct uploads larger than the peek: with one, such an upload whose SE
   * fails part-way is replayed to the next SE; without one, it fails.
   */
  readonly spool?: StagingArea | undefined;
}

/**
 * The content of an upload: a stream read once, or a source that can be opened again (a staged
 * tus upload), which lets a write that failed part-way move to the next SE too.
 */
export type UploadContent = Readable | (() => Readable);

/** Errors an SE raises before it reads a byte: the next candidate can take the same stream. */
const REFUSALS = new Set(['storage_full', 'storage_unavailable', 'mode_forbids_operation']);

/** The saved state of an upload saga: enough to undo it after a crash. */
export type UploadSagaPayload = {
  readonly fileId: string;
  /** Every SE the saga may have written to, in the order tried. */
  readonly candidates: readonly string[];
  readonly copies: readonly FileCopy[];
  /**
   * SEs that may hold a copy the upload did not keep (a write cut off after its bytes were sent,
   * whose discard failed then): handed by the saga's last step to a discard saga.
   */
  readonly strays?: readonly string[];
};

/** A discard saga's state: the copies of `fileId` on `seIds` that no file record references. */
export type DiscardSagaPayload = {
  readonly fileId: string;
  readonly seIds: readonly string[];
};

/**
 * Ingest (§2, §3.4, §3.5): decide retention and placement, then run the upload saga — write the
 * copies (the first from the client's stream, moving to the next SE on a refusal; the others
 * copied from the first, in distinct data centres where possible), record the file in the
 * catalog (the pivot), announce it. Returns the stored document once every copy is durable.
 */
export class UploadDocument {
  constructor(
    private readonly settings: IngestSettings,
    private readonly deps: UploadDeps,
  ) {}

  async execute(
    principal: Principal,
    command: UploadCommand,
    source: UploadContent,
  ): Promise<DocumentAttributes> {
    const checked = this.draft(principal, command);
    const policy = policyFor(this.settings.collections, checked.collection);
    const maxBytes = uploadLimitFor(this.settings.maxUploadBytes, policy);
    if (command.expect.size !== null && command.expect.size > maxBytes)
      throw fileTooLarge(command.expect.size, maxBytes);
    const placement = await this.placement(checked, command.expect);
    // One peek of the first 64 KiB serves the size guard, sniffing, the allow-list and compression.
    const inspected = await inspectContent(source, {
      maxBytes,
      declaredType: command.contentType,
      allowedContentTypes: policy.allowedContentTypes,
      sniffer: this.deps.sniffer,
    }).catch((error: unknown) => {
      throw interrupted(error) ?? error;
    });
    const draft = { ...checked, sniffedContentType: inspected.sniffedContentType };
    const encoding = decideEncoding(command.compression ?? policy.compression ?? 'auto', {
      declaredType: command.contentType,
      sniffedType: inspected.sniffedContentType,
      sample: inspected.head,
    });
    // A large body is spooled as it streams when there is another SE to move to.
    const spooled =
      this.deps.spool && placement.candidates.length > placement.required
        ? spoolable(inspected, this.deps.spool, draft.fileId)
        : null;
    try {
      return await this.store(
        draft,
        spooled?.open ?? reopenable(inspected),
        command.expect,
        encoding,
        placement,
      );
    } catch (error) {
      throw inspected.violation() ?? error;
    } finally {
      await spooled?.dispose();
    }
  }

  /**
   * Where the copies can go (§3.4), decided before a byte of the content is read: with no room
   * for a known size the client hears 507 before it sends its body (Expect: 100-continue).
   */
  private async placement(
    draft: DocumentDraft,
    expect: ContentExpectations,
  ): Promise<{ candidates: StorageElementDescriptor[]; required: number }> {
    const { registry, clock } = this.deps;
    const mode = writeModeFor(draft.retention.policy);
    const candidates = rankCandidates(await registry.list(), {
      mode,
      size: expect.size,
      now: clock.now(),
      staleAfterMs: this.settings.staleAfterMs,
    });
    const required = this.settings.replication[draft.retention.policy];
    if (candidates.length < required) {
      throw new ApplicationError(
        'no_writable_storage',
        candidates.length === 0
          ? `no healthy storage element in mode '${mode}' can take this file`
          : `a ${draft.retention.policy} file needs ${required} copies on distinct storage elements in mode '${mode}'; only ${candidates.length} can take it`,
      );
    }
    return { candidates, required };
  }

  private async store(
    draft: DocumentDraft,
    content: UploadContent,
    expect: ContentExpectations,
    encoding: PutOptions,
    { candidates, required }: { candidates: StorageElementDescriptor[]; required: number },
  ): Promise<DocumentAttributes> {
    let stored: DocumentAttributes | null = null;
    const saga = uploadSaga(this.deps, {
      write: async (payload) => {
        const result = await this.writeCopies(draft, content, expect, candidates, required, encoding);
        stored = result.file;
        return { ...payload, copies: result.copies, strays: result.strays };
      },
      file: () => stored,
    });
    await this.deps.sagas
      .run(
        saga,
        { fileId: draft.fileId, candidates: candidates.map((se) => se.id), copies: [] },
        draft.fileId,
      )
      .catch((error: unknown) => {
        throw definiteForTheClient(error);
      });
    return stored!;
  }

  /** Writes `required` copies; resolves once all are durable. */
  private async writeCopies(
    draft: DocumentDraft,
    content: UploadContent,
    expect: ContentExpectations,
    candidates: readonly StorageElementDescriptor[],
    required: number,
    encoding: PutOptions,
  ): Promise<{ file: DocumentAttributes; copies: FileCopy[]; strays: string[] }> {
    const remaining = [...candidates];
    const failures: string[] = [];
    const strays: string[] = [];
    const written =
      required > 1
        ? await this.writeAtOnce(draft, content, expect, remaining, required, encoding, failures, strays)
        : [];
    if (written.length === 0)
      written.push(await this.writeFirst(draft, content, expect, remaining, encoding, strays));
    const { file, se: primary } = written[0]!;
    const copies: FileCopy[] = written.map((copy) => ({ seId: copy.se.id, key: copy.file.stored.key }));
    const usedDcs = new Set(written.map(({ se }) => se.dc));
    while (copies.length < required) {
      const target = nextCopyTarget(remaining, usedDcs);
      if (!target) {
        throw new ApplicationError(
          'no_writable_storage',
          `only ${copies.length} of the ${required} copies could be written`,
          { failures },
        );
      }
      remaining.splice(remaining.indexOf(target), 1);
      try {
        await this.copy(file, primary.id, target.id, encoding);
      } catch (error) {
        // The next candidate takes the copy; the failed target is cleaned up now or by compensation.
        failures.push(`${target.id}: ${(error as Error).message}`);
        await this.discardStray(target.id, file.fileId, strays);
        this.deps.registry.invalidate();
        continue;
      }
      copies.push({ seId: target.id, key: file.stored.key });
      usedDcs.add(target.dc);
    }
    return { file, copies, strays: strays.filter((id) => !copies.some((c) => c.seId === id)) };
  }

  /** Discards what a failed write may have left on `seId`; when that fails too, the saga's last step retries. */
  private async discardStray(seId: string, fileId: string, strays: string[]): Promise<void> {
    await this.deps.directory
      .client(seId)
      .discard(fileId)
      .catch(() => strays.push(seId));
  }

  /**
   * The first `required` copies at once, from one read of the client's bytes (each SE takes its
   * own branch; a branch whose SE failed is dropped and the others go on). Returns the copies
   * written; a copy that failed is replaced afterwards from one that was written. When none was
   * written, re-readable content goes on to `writeFirst`; a stream read once cannot.
   */
  private async writeAtOnce(
    draft: DocumentDraft,
    content: UploadContent,
    expect: ContentExpectations,
    remaining: StorageElementDescriptor[],
    required: number,
    encoding: PutOptions,
    failures: string[],
    strays: string[],
  ): Promise<{ file: DocumentAttributes; se: StorageElementDescriptor }[]> {
    const targets = [remaining.shift()!];
    const dcs = new Set([targets[0]!.dc]);
    while (targets.length < required) {
      const target = nextCopyTarget(remaining, dcs);
      if (!target) break;
      remaining.splice(remaining.indexOf(target), 1);
      targets.push(target);
      dcs.add(target.dc);
    }
    const source = typeof content === 'function' ? content() : content;
    const branches = teeStream(source, targets.length);
    const results = await Promise.allSettled(
      targets.map((se, i) =>
        this.deps.directory
          .client(se.id)
          .put(draft, branches[i]!, expect, encoding)
          .finally(() => branches[i]!.destroy()),
      ),
    );
    const written: { file: DocumentAttributes; se: StorageElementDescriptor }[] = [];
    let firstError: unknown = null;
    let onlyRefusals = true;
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') {
        written.push({ file: result.value, se: targets[i]! });
        continue;
      }
      firstError ??= result.reason;
      onlyRefusals &&= isRefusal(result.reason);
      failures.push(`${targets[i]!.id}: ${(result.reason as Error).message}`);
      await this.discardStray(targets[i]!.id, draft.fileId, strays);
    }
    if (written.length < targets.length) this.deps.registry.invalidate();
    if (typeof content === 'function') source.destroy();
    // The content itself was at fault (a digest or size mismatch, a client gone): no other SE helps.
    if (written.length === 0 && (typeof content !== 'function' || !onlyRefusals)) throw firstError;
    return written;
  }

  /** The first copy, from the client's bytes: a refusal before any byte was read moves to the next SE. */
  private async writeFirst(
    draft: DocumentDraft,
    content: UploadContent,
    expect: ContentExpectations,
    remaining: StorageElementDescriptor[],
    encoding: PutOptions,
    strays: string[],
  ): Promise<{ file: DocumentAttributes; se: StorageElementDescriptor }> {
    let lastRefusal: unknown = null;
    const reopenable = typeof content === 'function';
    while (remaining.length > 0) {
      const se = remaining.shift()!;
      const stream = reopenable ? content() : content;
      try {
        return { file: await this.deps.directory.client(se.id).put(draft, stream, expect, encoding), se };
      } catch (error) {
        if (isRefusal(error) && (reopenable || !stream.readableDidRead)) {
          lastRefusal = error;
          // Unreachable is not a refusal the SE made: it may have died after storing every byte.
          // Not discarded here (an unreachable SE would hold the client for another timeout):
          // a discard saga takes it once the upload is done, the compensation if it fails.
          if (unreachable(error)) strays.push(se.id);
          if (reopenable) stream.destroy();
          this.deps.registry.invalidate();
          continue;
        }
        if (reopenable) stream.destroy();
        throw error;
      }
    }
    throw new ApplicationError('no_writable_storage', 'every storage element refused the file', {
      last_refusal: (lastRefusal as Error | null)?.message,
    });
  }

  /** Copies a stored file to another SE, verified there against the original's size and SHA-256. */
  private async copy(
    file: DocumentAttributes,
    from: string,
    to: string,
    encoding: PutOptions,
  ): Promise<void> {
    // The first copy serves the original bytes; the new copy encodes them as the first did.
    const opened = await this.deps.directory.client(from).open(file.fileId);
    try {
      await this.deps.directory
        .client(to)
        .put(draftOf(file), opened.stream, { size: file.size, sha256: file.sha256 }, encoding);
    } finally {
      opened.stream.destroy();
    }
  }

  private draft(principal: Principal, command: UploadCommand): DocumentDraft {
    const collection = writableCollection(principal, command.collection);
    const uploadedAt = this.deps.clock.now();
    const name = sanitizeFileName(command.name);
    return {
      fileId: command.fileId ?? this.deps.ids.fileId(),
      name,
      originalName: name === command.name ? null : command.name,
      contentType: command.contentType,
      sniffedContentType: null,
      collection,
      uploader: principal.subject,
      uploadedAt,
      ...checkDescriptiveFields({
        description: command.description ?? null,
        tags: command.tags ?? [],
        metadata: { ...command.metadata },
      }),
      retention: decideRetention(
        { policy: command.retentionPolicy, ttlDays: command.ttlDays, retainUntil: command.retainUntil },
        uploadedAt,
        this.settings.defaultTtlDays,
      ),
    };
  }
}

/** What a copy of a stored document is written as: the same identity, names, times and retention. */
export function draftOf(file: DocumentAttributes): DocumentDraft {
  return {
    fileId: file.fileId,
    name: file.name,
    originalName: file.originalName,
    contentType: file.contentType,
    sniffedContentType: file.sniffedContentType,
    collection: file.collection,
    uploader: file.uploader,
    uploadedAt: file.uploadedAt,
    description: file.description,
    tags: file.tags,
    metadata: file.metadata,
    retention: file.retention,
    attrVersion: file.attrVersion,
  };
}

/**
 * An SE that could not undo its copy durably answers write_outcome_unknown. For the client the
 * upload failed all the same: the catalog never recorded the file, and the saga's compensation
 * discards that copy (the recovery sweep retries it until the SE can).
 */
function definiteForTheClient(error: unknown): unknown {
  if (!(error instanceof ApplicationError) || error.code !== 'write_outcome_unknown') return error;
  return new ApplicationError(
    'storage_unavailable',
    'a storage element failed while storing the file; the upload did not happen, try again',
    {},
    { cause: error },
  );
}

/** Discards a file on every SE that may hold a copy (idempotent: an SE without it does nothing). */
export async function discardEverywhere(
  directory: StorageElementDirectory,
  fileId: string,
  seIds: readonly string[],
): Promise<void> {
  const results = await Promise.allSettled(seIds.map((id) => directory.client(id).discard(fileId)));
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ se: seIds[i]!, reason: r.reason }] : [],
  );
  if (failed.length > 0)
    throw new AggregateError(
      failed.map((f) => f.reason as unknown),
      `discarding ${fileId} failed on ${failed.map((f) => `${f.se} (${(f.reason as Error).message})`).join(', ')}`,
    );
}

/**
 * The upload saga. Live, `write` writes the copies from the client's stream; after a crash there
 * is no stream, so an upload cut short before the catalog step is undone (its copies discarded
 * on every candidate SE) unless the catalog already holds it.
 */
export function uploadSaga(
  deps: Pick<UploadDeps, 'directory' | 'catalog' | 'events' | 'sagas'>,
  live?: {
    write(payload: UploadSagaPayload): Promise<UploadSagaPayload>;
    file(): DocumentAttributes | null;
  },
): SagaDefinition<UploadSagaPayload> {
  return {
    kind: 'upload',
    pivot: 1,
    steps: [
      {
        name: 'write',
        run: async (payload) => {
          if (!live) throw new Error('an upload cannot resume writing without its client');
          return live.write(payload);
        },
        compensate: (payload) => discardEverywhere(deps.directory, payload.fileId, payload.candidates),
        // Saved (although compensation needs nothing this step learns): the save is also the
        // check that this process still owns the saga before its pivot. A write that outlived its
        // lease (a stalled process, a database outage) may have been taken over and undone.
      },
      {
        name: 'catalog',
        // Recovery asks `pivotDone` (the catalog itself) whether this step took effect.
        checkpoint: false,
        run: async (payload) => {
          const file = live?.file();
          if (!file) throw new Error('an upload cannot resume cataloguing without its document');
          await deps.catalog.add({ file, copies: payload.copies });
          return payload;
        },
      },
      {
        name: 'announce',
        run: async (payload) => {
          await deps.events.publish('file.changed', { fileId: payload.fileId }).catch(() => undefined);
          return payload;
        },
      },
      {
        name: 'discard_strays',
        // A saga of its own, without the file id: a stray SE that stays down keeps that saga for
        // the recovery sweep and holds up no other change of the file. (Run again after a crash,
        // it starts a second one; discards repeat harmlessly.)
        run: async (payload) => {
          if (!payload.strays?.length) return payload;
          const started = await deps.sagas.start(discardSaga(deps), {
            fileId: payload.fileId,
            seIds: payload.strays,
          });
          void started.outcome.catch(() => undefined);
          return payload;
        },
      },
    ],
    pivotDone: async (payload) => (await deps.catalog.get(payload.fileId)) !== null,
  };
}

/**
 * Discards copies no file record references on every SE named, until each has answered: the
 * step after the pivot is retried by the recovery sweep while an SE is down.
 */
export function discardSaga(deps: Pick<UploadDeps, 'directory'>): SagaDefinition<DiscardSagaPayload> {
  return {
    kind: 'discard',
    pivot: 0,
    steps: [
      { name: 'record', run: async (payload) => payload },
      {
        name: 'discard',
        run: async (payload) => {
          await discardEverywhere(deps.directory, payload.fileId, payload.seIds);
          return payload;
        },
      },
    ],
  };
}

/**
 * Content that arrived whole within the peek (up to 64 KiB: most documents) is held in memory
 * anyway; handed on as a source that opens again, a write that fails part-way (an SE gone, a full
 * disk) moves to the next SE without the client noticing.
 */
function reopenable(inspected: InspectedContent): UploadContent {
  const { content, head } = inspected;
  if (typeof content === 'function' || head.length >= PEEK_BYTES) return content;
  content.destroy();
  return () => {
    const copy = new PassThrough();
    copy.end(head);
    return copy;
  };
}

/** The spool for content too large to have arrived whole within the peek; null when it did. */
function spoolable(inspected: InspectedContent, spool: StagingArea, fileId: string): SpooledContent | null {
  const { content, head } = inspected;
  if (typeof content === 'function' || head.length < PEEK_BYTES) return null;
  return spooledContent(content, spool, `spool-${fileId}`);
}

/**
 * Splits one stream into `count` branches that each see every byte, at the pace of the slowest.
 * A branch that is destroyed (its SE failed) drops out; the others go on.
 */
function teeStream(source: Readable, count: number): PassThrough[] {
  const branches = Array.from({ length: count }, () => new PassThrough({ highWaterMark: 1 << 20 }));
  const live = new Set(branches);
  const blocked = new Set<PassThrough>();
  const release = (branch: PassThrough): void => {
    if (blocked.delete(branch) && blocked.size === 0) source.resume();
  };
  for (const branch of branches) {
    branch.on('drain', () => release(branch));
    branch.on('error', () => undefined); // its put reports it
    branch.on('close', () => {
      live.delete(branch);
      release(branch);
    });
  }
  source.on('data', (chunk: Buffer) => {
    for (const branch of live) if (!branch.write(chunk)) blocked.add(branch);
    if (blocked.size > 0) source.pause();
  });
  source.once('end', () => {
    for (const branch of live) branch.end();
  });
  source.once('error', (error) => {
    for (const branch of live) branch.destroy(error);
  });
  return branches;
}

/** A client that hung up while its first bytes were read: the upload ended, nothing is stored. */
function interrupted(error: unknown): ApplicationError | null {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ECONNRESET' && code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ECONNABORTED') return null;
  return new ApplicationError(
    'upload_interrupted',
    'the upload ended before all content arrived',
    {},
    { cause: error },
  );
}

function unreachable(error: unknown): boolean {
  return error instanceof ApplicationError && error.code === 'storage_unavailable';
}

function isRefusal(error: unknown): boolean {
  return (error instanceof ApplicationError || error instanceof DomainError) && REFUSALS.has(error.code);
}
