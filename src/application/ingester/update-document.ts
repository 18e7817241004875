import { canAccessCollection, type Principal } from '../../domain/access/principal';
import {
  changesDescriptiveFields,
  isEmptyChange,
  reflectsChange,
  type AttributeChange,
} from '../../domain/document/attribute-change';
import type { DocumentAttributes } from '../../domain/document/document';
import { checkDescriptiveFields } from '../../domain/document/metadata-limits';
import { changeRetention } from '../../domain/retention/retention';
import { assertOperationAllowed } from '../../domain/storage-mode/storage-mode';
import type { AuditTrail } from '../audit/audit-trail';
import { ApplicationError } from '../errors';
import type { SagaDefinition, SagaRunner } from '../sagas/saga-runner';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { CatalogEntry, FileCatalog, FileCopy } from '../ports/file-catalog';
import type { StorageElementDirectory } from '../ports/storage-element-client';
import { requireCollectionWrite, requireScope } from '../shared/authorize';
import type { RegistryView } from '../shared/registry-view';

/** A PATCH of a document: absent fields stay; metadata merges key by key, a null value removes the key. */
export interface MetadataPatch {
  readonly description?: string | null | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly metadata?: Readonly<Record<string, string | null>> | undefined;
  readonly retainUntil?: Date | undefined;
}

export interface UpdateLimits {
  /** At most this many metadata entries after the merge. */
  readonly metadataEntries: number;
}

export interface UpdateContext {
  /** The `attr_version` the caller last saw (If-Match); null means any. */
  readonly ifAttrVersion?: number | null | undefined;
  /** Where the request came from, for the audit log. */
  readonly source?: string | null | undefined;
}

export interface UpdateDocumentDeps {
  readonly catalog: FileCatalog;
  readonly directory: StorageElementDirectory;
  readonly registry: RegistryView;
  readonly events: EventBus;
  readonly audit: AuditTrail;
  readonly clock: Clock;
  readonly sagas: SagaRunner;
}

/**
 * What a metadata change needs to be carried out, and carried on after a crash: the change as it
 * goes to every copy (metadata already merged), the version it produces, the copies.
 */
export interface AttributeUpdatePayload {
  readonly fileId: string;
  readonly change: AttributeChange;
  readonly targetAttrVersion: number;
  readonly copies: readonly FileCopy[];
}

/** One idempotent step: running it again after it succeeded (or after a crash in it) is harmless. */
export interface UpdateStep {
  readonly name: string;
  run(): Promise<void>;
}

/**
 * The steps of an attribute update, in order: every copy (sidecar first, then the SE cache: the
 * SE's `update`), then the catalog, then the `file.changed` event. Each is idempotent — a copy
 * already at the target version with the change answers as done, the catalog ignores a version
 * it already holds — so a saga runner may persist the payload and re-run from any step.
 * Returns the steps and a reader of the document as the catalog recorded it.
 */
export function attributeUpdateSteps(
  payload: AttributeUpdatePayload,
  deps: Pick<UpdateDocumentDeps, 'catalog' | 'directory' | 'events'>,
): { steps: UpdateStep[]; result: () => DocumentAttributes } {
  let updated: DocumentAttributes | null = null;
  const { fileId, change, targetAttrVersion } = payload;
  const copySteps = payload.copies.map((copy): UpdateStep => ({
    name: `update copy on ${copy.seId}`,
    run: async () => {
      const file = await deps.directory.client(copy.seId).update(fileId, change, { targetAttrVersion });
      updated ??= file;
    },
  }));
  const catalogStep: UpdateStep = {
    name: 'update catalog',
    run: async () => {
      // Resumed after a crash: the first copy that answers holds the new version (the steps before succeeded).
      updated ??= await firstCopy(payload, deps.directory);
      if (!(await deps.catalog.update(updated)))
        throw new ApplicationError('file_not_found', `file ${fileId} is not in the catalog`);
    },
  };
  const eventStep: UpdateStep = {
    name: 'announce the change',
    run: () => deps.events.publish('file.changed', { fileId }).catch(() => undefined),
  };
  return {
    steps: [...copySteps, catalogStep, eventStep],
    result: () => {
      if (!updated) throw new Error('the update steps have not run');
      return updated;
    },
  };
}

/** The saved state of an update saga: the payload as JSON (dates as ISO strings). */
export type UpdateSagaPayload = {
  readonly fileId: string;
  readonly change: Readonly<Record<string, unknown>>;
  readonly targetAttrVersion: number;
  readonly copies: readonly FileCopy[];
};

function toSagaPayload(payload: AttributeUpdatePayload): UpdateSagaPayload {
  const { retainUntil, ...rest } = payload.change;
  return {
    ...payload,
    change: { ...rest, ...(retainUntil ? { retainUntil: retainUntil.toISOString() } : {}) },
  };
}

function fromSagaPayload(payload: UpdateSagaPayload): AttributeUpdatePayload {
  const { retainUntil, ...rest } = payload.change as AttributeChange & { retainUntil?: string };
  return {
    ...payload,
    change: { ...rest, ...(retainUntil ? { retainUntil: new Date(retainUntil) } : {}) },
  };
}

/**
 * The update saga (§3.5). The first copy's sidecar is the pivot: until it holds the change
 * nothing has changed and a refusal there (mode, version) is the client's answer; once it does,
 * the change is made, and the other copies, the catalog and the event follow — retried by the
 * recovery sweep when a copy's SE is away.
 */
export function updateSaga(
  deps: Pick<UpdateDocumentDeps, 'catalog' | 'directory' | 'events'>,
  live?: { steps: UpdateStep[] },
): SagaDefinition<UpdateSagaPayload> {
  const stepsFor = (payload: UpdateSagaPayload): UpdateStep[] =>
    live?.steps ?? attributeUpdateSteps(fromSagaPayload(payload), deps).steps;
  const copies = (payload: UpdateSagaPayload) => stepsFor(payload).slice(0, payload.copies.length);
  return {
    kind: 'update',
    pivot: 0,
    steps: [
      {
        name: 'first_copy',
        run: async (payload) => {
          await copies(payload)[0]?.run();
          return payload;
        },
      },
      {
        name: 'other_copies',
        run: async (payload) => {
          for (const step of copies(payload).slice(1)) await step.run();
          return payload;
        },
      },
      {
        name: 'catalog',
        run: async (payload) => {
          await stepsFor(payload)[payload.copies.length]!.run();
          return payload;
        },
      },
      {
        name: 'announce',
        run: async (payload) => {
          await stepsFor(payload)[payload.copies.length + 1]!.run();
          return payload;
        },
      },
    ],
    // Cut short inside the first step: done when the first copy already holds the new version.
    pivotDone: async (payload) => {
      const first = payload.copies[0];
      if (!first) return true;
      const file = await deps.directory
        .client(first.seId)
        .head(payload.fileId)
        .catch(() => null);
      return file !== null && file.attrVersion >= payload.targetAttrVersion;
    },
  };
}

async function firstCopy(
  payload: AttributeUpdatePayload,
  directory: StorageElementDirectory,
): Promise<DocumentAttributes> {
  let lastError: unknown = null;
  for (const copy of payload.copies) {
    try {
      return await directory
        .client(copy.seId)
        .update(payload.fileId, payload.change, { targetAttrVersion: payload.targetAttrVersion });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError ?? new ApplicationError('file_not_found', `file ${payload.fileId} has no copies`);
}

/**
 * Metadata updates and retention controls of a stored document (§3.1, §3.2): description, tags,
 * custom metadata, a later retain_until, the legal hold. Applied to every copy, then the catalog.
 */
export class UpdateDocument {
  constructor(
    private readonly limits: UpdateLimits,
    private readonly deps: UpdateDocumentDeps,
  ) {}

  /** PATCH: needs `files:write` on the file's collection. */
  async patch(
    principal: Principal,
    fileId: string,
    patch: MetadataPatch,
    context: UpdateContext = {},
  ): Promise<DocumentAttributes> {
    requireScope(principal, 'files:write');
    const entry = await this.visibleEntry(principal, fileId);
    requireCollectionWrite(principal, entry.file.collection);
    const change = this.changeFor(entry.file, patch);
    if (isEmptyChange(change))
      throw new ApplicationError('invalid_request', 'the patch changes nothing: name at least one field', {
        field: 'body',
      });
    const before = entry.file.retention;
    const updated = await this.apply(entry, change, context);
    if (patch.retainUntil !== undefined && updated.attrVersion !== entry.file.attrVersion) {
      await this.deps.audit.record(principal, 'file.retention_extended', 'success', {
        target: fileId,
        details: {
          from: before.policy === 'permanent' ? (before.retainUntil?.toISOString() ?? null) : null,
          to: patch.retainUntil.toISOString(),
        },
        source: context.source ?? null,
      });
    }
    return updated;
  }

  /** Sets or clears the legal hold: needs `files:legal_hold` and write access to the collection; audited. */
  async setLegalHold(
    principal: Principal,
    fileId: string,
    hold: boolean,
    reason: string | null,
    context: UpdateContext = {},
  ): Promise<DocumentAttributes> {
    requireScope(principal, 'files:write');
    requireScope(principal, 'files:legal_hold');
    const entry = await this.visibleEntry(principal, fileId);
    requireCollectionWrite(principal, entry.file.collection);
    const action = hold ? 'file.legal_hold_set' : 'file.legal_hold_cleared';
    const facts = {
      target: fileId,
      details: { reason, collection: entry.file.collection },
      source: context.source ?? null,
    };
    let updated: DocumentAttributes;
    try {
      updated = await this.apply(entry, { legalHold: hold }, context);
    } catch (error) {
      return this.deps.audit.refused(principal, action, error, facts);
    }
    await this.deps.audit.record(principal, action, 'success', {
      ...facts,
      details: { ...facts.details, changed: updated.attrVersion !== entry.file.attrVersion },
    });
    return updated;
  }

  /** An active file the caller may see (read or write grant on its collection); otherwise "not found". */
  private async visibleEntry(principal: Principal, fileId: string): Promise<CatalogEntry> {
    const entry = await this.deps.catalog.get(fileId);
    const visible =
      entry !== null &&
      entry.file.status === 'active' &&
      (canAccessCollection(principal, 'files:read', entry.file.collection) ||
        canAccessCollection(principal, 'files:write', entry.file.collection));
    if (!visible) throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
    return entry;
  }

  /** The patch as a whole-field change: metadata merged onto the current map and held to the limit. */
  private changeFor(file: DocumentAttributes, patch: MetadataPatch): AttributeChange {
    let metadata: Record<string, string> | undefined;
    if (patch.metadata !== undefined) {
      const removed = new Set(
        Object.entries(patch.metadata)
          .filter(([, value]) => value === null)
          .map(([key]) => key),
      );
      metadata = Object.fromEntries(
        [...Object.entries(file.metadata), ...Object.entries(patch.metadata)].filter(
          (pair): pair is [string, string] => pair[1] !== null && !removed.has(pair[0]),
        ),
      );
    }
    // The document as it would be: the same limits and codes as an upload.
    const checked = checkDescriptiveFields({
      description: patch.description === undefined ? file.description : patch.description,
      tags: patch.tags ?? file.tags,
      metadata: metadata ?? file.metadata,
    });
    return {
      description: patch.description,
      tags: patch.tags === undefined ? undefined : checked.tags,
      metadata,
      retainUntil: patch.retainUntil,
    };
  }

  /**
   * Checks everything that can be checked before a copy is touched — version, retention rules,
   * every copy's mode — then runs the steps. A change the document already shows writes nothing.
   */
  private async apply(
    entry: CatalogEntry,
    change: AttributeChange,
    context: UpdateContext,
  ): Promise<DocumentAttributes> {
    const { file } = entry;
    const expected = context.ifAttrVersion;
    if (expected !== undefined && expected !== null && expected !== file.attrVersion)
      throw new ApplicationError(
        'attr_version_mismatch',
        `file ${file.fileId} is at attr_version ${file.attrVersion}, not ${expected}`,
        { attr_version: file.attrVersion },
      );
    if (reflectsChange(file, change)) return file;
    // The domain's refusals (legal hold on a temporary file, a shorter retain_until) before any copy.
    changeRetention(file.retention, change, this.deps.clock.now());
    if (changesDescriptiveFields(change)) await this.assertCopiesAllowMetadata(entry);
    const payload: AttributeUpdatePayload = {
      fileId: file.fileId,
      change,
      targetAttrVersion: file.attrVersion + 1,
      copies: entry.copies,
    };
    const live = attributeUpdateSteps(payload, this.deps);
    await this.deps.sagas.run(updateSaga(this.deps, live), toSagaPayload(payload), file.fileId);
    return live.result();
  }

  private async assertCopiesAllowMetadata(entry: CatalogEntry): Promise<void> {
    const modes = new Map((await this.deps.registry.list()).map((se) => [se.id, se.mode]));
    for (const copy of entry.copies) {
      const mode = modes.get(copy.seId);
      if (mode === undefined)
        throw new ApplicationError(
          'storage_unavailable',
          `storage element '${copy.seId}' holding a copy of file ${entry.file.fileId} is not registered`,
        );
      assertOperationAllowed(mode, 'update_metadata');
    }
  }
}
