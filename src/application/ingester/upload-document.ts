import type { Readable } from 'node:stream';
import type { Principal } from '../../domain/access/principal';
import type { CompressionPolicy } from '../../domain/document/compression';
import {
  DEFAULT_COLLECTION,
  isValidCollection,
  type DocumentAttributes,
  type DocumentDraft,
  type StoredEncoding,
} from '../../domain/document/document';
import { validateFileName } from '../../domain/document/file-name';
import { DomainError } from '../../domain/errors';
import { rankCandidates } from '../../domain/placement/placement';
import { decideRetention, writeModeFor } from '../../domain/retention/retention';
import { ApplicationError } from '../errors';
import type { Clock, IdGenerator } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog } from '../ports/file-catalog';
import type { ContentExpectations, StorageElementDirectory } from '../ports/storage-element-client';
import { requireCollectionWrite } from '../shared/authorize';
import { peekStream } from '../shared/peek';
import { decideEncoding, SAMPLE_BYTES } from './compression';
import type { RegistryView } from '../shared/registry-view';

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
}

export interface IngestSettings {
  readonly defaultTtlDays: number;
  /** An SE silent for longer than this is not offered new files. */
  readonly staleAfterMs: number;
}

export interface UploadDeps {
  readonly registry: RegistryView;
  readonly directory: StorageElementDirectory;
  readonly catalog: FileCatalog;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/** Errors an SE raises before it reads a byte: the next candidate can take the same stream. */
const REFUSALS = new Set(['storage_full', 'storage_unavailable', 'mode_forbids_operation']);

/**
 * Ingest (§2, §3.4): decide retention and placement, stream the content to the first SE that
 * takes it, record the file in the catalog. Returns the stored document.
 */
export class UploadDocument {
  constructor(
    private readonly settings: IngestSettings,
    private readonly deps: UploadDeps,
  ) {}

  async execute(principal: Principal, command: UploadCommand, source: Readable): Promise<DocumentAttributes> {
    const draft = this.draft(principal, command);
    const { registry, directory, catalog, events, clock } = this.deps;
    const candidates = rankCandidates(await registry.list(), {
      mode: writeModeFor(draft.retention.policy),
      size: command.expect.size,
      now: clock.now(),
      staleAfterMs: this.settings.staleAfterMs,
    });
    if (candidates.length === 0) {
      throw new ApplicationError(
        'no_writable_storage',
        `no healthy storage element in mode '${writeModeFor(draft.retention.policy)}' can take this file`,
      );
    }
    const { content, encoding } = await this.sample(command, source);
    let lastRefusal: unknown = null;
    for (const se of candidates) {
      const client = directory.client(se.id);
      let stored: DocumentAttributes;
      try {
        stored = await client.put(draft, content, command.expect, encoding);
      } catch (error) {
        if (isRefusal(error) && !content.readableDidRead) {
          lastRefusal = error;
          registry.invalidate();
          continue;
        }
        throw error;
      }
      try {
        await catalog.add({ file: stored, copies: [{ seId: se.id, key: stored.stored.key }] });
      } catch (error) {
        // Compensation: never leave stored bytes the catalog does not know about.
        await client.discard(stored.fileId).catch((undo: unknown) => {
          throw new ApplicationError(
            'storage_unavailable',
            `recording file ${stored.fileId} failed and its stored copy on '${se.id}' could not be removed`,
            { file_id: stored.fileId },
            { cause: new AggregateError([error, undo]) },
          );
        });
        throw error;
      }
      await events.publish('file.changed', { fileId: stored.fileId }).catch(() => undefined);
      return stored;
    }
    throw new ApplicationError('no_writable_storage', 'every storage element refused the file', {
      last_refusal: (lastRefusal as Error | null)?.message,
    });
  }

  /** Reads the first bytes to decide the stored encoding; `content` is the whole stream again. */
  private async sample(
    command: UploadCommand,
    source: Readable,
  ): Promise<{ content: Readable; encoding: { encoding: StoredEncoding; level: number } }> {
    let peeked;
    try {
      peeked = await peekStream(source, SAMPLE_BYTES);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED')
        throw new ApplicationError(
          'upload_interrupted',
          'the upload ended before all content arrived',
          {},
          {
            cause: error,
          },
        );
      throw error;
    }
    const encoding = decideEncoding(command.compression ?? 'auto', {
      declaredType: command.contentType,
      sniffedType: null,
      sample: peeked.head,
    });
    return { content: peeked.stream, encoding };
  }

  private draft(principal: Principal, command: UploadCommand): DocumentDraft {
    const collection = command.collection ?? DEFAULT_COLLECTION;
    if (!isValidCollection(collection)) {
      throw new DomainError(
        'invalid_collection',
        'collection must be 1-63 characters of a-z, 0-9, ".", "_", "-", starting with a letter or digit',
        { field: 'collection' },
      );
    }
    requireCollectionWrite(principal, collection);
    const uploadedAt = this.deps.clock.now();
    return {
      fileId: this.deps.ids.fileId(),
      name: validateFileName(command.name),
      contentType: command.contentType,
      collection,
      uploader: principal.subject,
      uploadedAt,
      description: command.description ?? null,
      tags: [...new Set(command.tags ?? [])],
      metadata: { ...command.metadata },
      retention: decideRetention(
        { policy: command.retentionPolicy, ttlDays: command.ttlDays, retainUntil: command.retainUntil },
        uploadedAt,
        this.settings.defaultTtlDays,
      ),
    };
  }
}

function isRefusal(error: unknown): boolean {
  return (error instanceof ApplicationError || error instanceof DomainError) && REFUSALS.has(error.code);
}
