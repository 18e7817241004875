import type { Readable } from 'node:stream';
import type { Principal } from '../../domain/access/principal';
import {
  DEFAULT_COLLECTION,
  isValidCollection,
  type DocumentAttributes,
  type DocumentDraft,
} from '../../domain/document/document';
import { sanitizeFileName } from '../../domain/document/file-name';
import { checkDescriptiveFields } from '../../domain/document/metadata-limits';
import { DomainError } from '../../domain/errors';
import { rankCandidates } from '../../domain/placement/placement';
import { decideRetention, writeModeFor } from '../../domain/retention/retention';
import { ApplicationError } from '../errors';
import type { Clock, IdGenerator } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog } from '../ports/file-catalog';
import type { ContentSniffer } from '../ports/content-sniffer';
import type { ContentExpectations, StorageElementDirectory } from '../ports/storage-element-client';
import { requireCollectionWrite } from '../shared/authorize';
import type { RegistryView } from '../shared/registry-view';
import { policyFor, uploadLimitFor, type CollectionPolicies } from './collection-policy';
import { fileTooLarge, inspectContent } from './inspect-content';

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
  readonly expect: ContentExpectations;
}

export interface IngestSettings {
  readonly defaultTtlDays: number;
  /** An SE silent for longer than this is not offered new files. */
  readonly staleAfterMs: number;
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
  readonly sniffer: ContentSniffer;
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

  async execute(
    principal: Principal,
    command: UploadCommand,
    content: Readable,
  ): Promise<DocumentAttributes> {
    const checked = this.draft(principal, command);
    const policy = policyFor(this.settings.collections, checked.collection);
    const maxBytes = uploadLimitFor(this.settings.maxUploadBytes, policy);
    if (command.expect.size !== null && command.expect.size > maxBytes)
      throw fileTooLarge(command.expect.size, maxBytes);
    const inspected = await inspectContent(content, {
      maxBytes,
      declaredType: command.contentType,
      allowedContentTypes: policy.allowedContentTypes,
      sniffer: this.deps.sniffer,
    });
    const draft = { ...checked, sniffedContentType: inspected.sniffedContentType };
    try {
      return await this.place(draft, inspected.stream, command.expect);
    } catch (error) {
      throw inspected.violation() ?? error;
    }
  }

  private async place(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
  ): Promise<DocumentAttributes> {
    const { registry, directory, catalog, events, clock } = this.deps;
    const candidates = rankCandidates(await registry.list(), {
      mode: writeModeFor(draft.retention.policy),
      size: expect.size,
      now: clock.now(),
      staleAfterMs: this.settings.staleAfterMs,
    });
    if (candidates.length === 0) {
      throw new ApplicationError(
        'no_writable_storage',
        `no healthy storage element in mode '${writeModeFor(draft.retention.policy)}' can take this file`,
      );
    }
    let lastRefusal: unknown = null;
    for (const se of candidates) {
      const client = directory.client(se.id);
      let stored: DocumentAttributes;
      try {
        stored = await client.put(draft, content, expect);
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
    const name = sanitizeFileName(command.name);
    return {
      fileId: this.deps.ids.fileId(),
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

function isRefusal(error: unknown): boolean {
  return (error instanceof ApplicationError || error instanceof DomainError) && REFUSALS.has(error.code);
}
