import type { Principal } from '../../domain/access/principal';
import { rankCandidates } from '../../domain/placement/placement';
import { isOperationAllowed } from '../../domain/storage-mode/storage-mode';
import type { AuditTrail } from '../audit/audit-trail';
import { ApplicationError } from '../errors';
import { draftOf } from '../ingester/upload-document';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { CatalogEntry, FileCatalog, FileCopy } from '../ports/file-catalog';
import type { RestoredCopies } from '../ports/restored-copies';
import type { SagaRecord, SagaStore } from '../ports/saga-store';
import type { StorageElementDirectory } from '../ports/storage-element-client';
import type { SagaDefinition, SagaRunner } from '../sagas/saga-runner';
import { requireFileAccess, requireScope } from '../shared/authorize';
import { copyFile } from '../shared/copy-file';
import type { RegistryView } from '../shared/registry-view';
import { withheld } from './archive-reads';

/** `done` while the restored copy lives; `expired` once its TTL has passed. */
export const RESTORE_STATES = ['running', 'done', 'expired', 'failed'] as const;
export type RestoreState = (typeof RESTORE_STATES)[number];

/** A restore job as its client follows it: the restore saga seen from the file's side. */
export interface RestoreJob {
  readonly id: string;
  readonly fileId: string;
  readonly state: RestoreState;
  /** When the restored copy goes (known once it is in place). */
  readonly expiresAt: Date | null;
  readonly error: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The saved state of a restore saga. */
export type RestoreSagaPayload = {
  readonly fileId: string;
  /** The archived copies the bytes come from. */
  readonly sources: readonly FileCopy[];
  /** The `edit` SEs the copy may go to, best first; the saga may have written to any of them. */
  readonly candidates: readonly string[];
  readonly target: string | null;
  readonly key: string | null;
  readonly ttlMs: number;
  /** ISO time, set by the pivot. */
  readonly expiresAt: string | null;
};

export interface RestoreDeps {
  readonly registry: RegistryView;
  readonly directory: StorageElementDirectory;
  readonly catalog: FileCatalog;
  readonly restored: RestoredCopies;
  readonly sagas: SagaRunner;
  readonly sagaStore: SagaStore;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly audit: AuditTrail;
  readonly log?: { warn(fields: object, message: string): void } | undefined;
}

export interface RestoreSettings {
  /** How long a restored copy lives. */
  readonly ttlMs: number;
  /** An SE silent for longer gets no copy. */
  readonly staleAfterMs: number;
}

function jobOf(saga: SagaRecord, now: Date): RestoreJob {
  const payload = saga.payload as RestoreSagaPayload;
  const expiresAt = payload.expiresAt ? new Date(payload.expiresAt) : null;
  let state: RestoreState;
  if (saga.status === 'running' || saga.status === 'compensating') state = 'running';
  else if (saga.status === 'done') state = expiresAt && expiresAt > now ? 'done' : 'expired';
  else state = 'failed';
  return {
    id: saga.id,
    fileId: payload.fileId,
    state,
    expiresAt,
    error: state === 'failed' ? saga.error : null,
    createdAt: saga.createdAt,
    updatedAt: saga.updatedAt,
  };
}

/**
 * Archive reads (§3.3 `ar`: content after restore). A restore job copies an archived file to an
 * `edit` SE, verified against its SHA-256, and records the copy with its expiry; downloads then
 * read that copy until it expires, when the sweep removes it and the archived copies stay as they
 * were. It is a read: `files:read` on the file's collection starts one and follows it.
 */
export class RestoreDocument {
  constructor(
    private readonly settings: RestoreSettings,
    private readonly deps: RestoreDeps,
  ) {}

  /** Starts a restore, or answers with the one running or still live (idempotent). */
  async start(principal: Principal, fileId: string): Promise<RestoreJob> {
    const { clock, registry, sagas, audit } = this.deps;
    const entry = await this.readable(principal, fileId);
    const elements = await registry.list();
    const modeOf = (seId: string) => elements.find((se) => se.id === seId)?.mode;
    const sources = entry.copies.filter((c) => withheld(c, modeOf));
    const direct = entry.copies.some((c) => {
      const mode = modeOf(c.seId);
      return mode !== undefined && isOperationAllowed(mode, 'read');
    });
    if (direct || sources.length === 0)
      throw new ApplicationError(
        'conflict',
        `file ${fileId} is not archived: its content is read without a restore`,
        { file_id: fileId },
      );
    const current = await this.current(fileId);
    if (current && current.state !== 'expired' && current.state !== 'failed') return current;

    const holding = new Set(entry.copies.map((c) => c.seId));
    const candidates = rankCandidates(elements, {
      mode: 'edit',
      size: entry.file.stored.size,
      now: clock.now(),
      staleAfterMs: this.settings.staleAfterMs,
    }).filter((se) => !holding.has(se.id));
    if (candidates.length === 0)
      throw new ApplicationError(
        'no_writable_storage',
        `no 'edit' storage element can take a restored copy of ${fileId} (${entry.file.stored.size} bytes)`,
      );
    const payload: RestoreSagaPayload = {
      fileId,
      sources,
      candidates: candidates.map((se) => se.id),
      target: null,
      key: null,
      ttlMs: this.settings.ttlMs,
      expiresAt: null,
    };
    let started;
    try {
      started = await sagas.start(restoreSaga(this.deps, entry), payload, fileId);
    } catch (error) {
      // Another request started one a moment ago: that is the job.
      const raced = await this.current(fileId);
      if (error instanceof ApplicationError && error.code === 'conflict' && raced?.state === 'running')
        return raced;
      throw error;
    }
    const requested = audit.record(principal, 'file.restore_requested', 'success', {
      target: fileId,
      details: { job_id: started.id },
    });
    // Handled at once (the job may end while the request is still being audited); its end is
    // audited after the request, so the log reads in order.
    const ended = (outcome: 'success' | 'failure', details: Record<string, string>) =>
      requested
        .catch(() => undefined)
        .then(() =>
          audit.record(principal, 'file.restored', outcome, {
            target: fileId,
            details: { job_id: started.id, ...details },
          }),
        );
    started.outcome
      .then(
        ({ payload: done }) =>
          ended('success', { storage_element: done.target ?? '', expires_at: done.expiresAt ?? '' }),
        (error: unknown) =>
          ended('failure', { error: error instanceof Error ? error.message : String(error) }),
      )
      .catch((error: unknown) =>
        this.deps.log?.warn({ err: error, file_id: fileId }, 'could not audit a restore'),
      );
    await requested;
    const saved = await this.deps.sagaStore.get(started.id);
    if (!saved) throw new Error(`restore saga ${started.id} was not saved`);
    return jobOf(saved, clock.now());
  }

  /** The file's latest restore job. */
  async status(principal: Principal, fileId: string): Promise<RestoreJob> {
    await this.readable(principal, fileId);
    const current = await this.current(fileId);
    if (!current)
      throw new ApplicationError('restore_not_found', `no restore of file ${fileId} was requested`);
    return current;
  }

  private async readable(principal: Principal, fileId: string): Promise<CatalogEntry> {
    const entry = await this.deps.catalog.get(fileId);
    if (!entry || entry.file.status !== 'active') {
      requireScope(principal, 'files:read');
      throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
    }
    requireFileAccess(principal, 'files:read', entry.file.collection, fileId);
    return entry;
  }

  private async current(fileId: string): Promise<RestoreJob | null> {
    const page = await this.deps.sagaStore.list({ fileId, kind: 'restore', limit: 1, cursor: null });
    const latest = page.items[0];
    return latest ? jobOf(latest, this.deps.clock.now()) : null;
  }
}

/** Discards the file on an `edit` SE and forgets any restored copy recorded there. */
async function removeRestored(
  deps: Pick<RestoreDeps, 'directory' | 'restored'>,
  fileId: string,
  seId: string,
): Promise<void> {
  await deps.directory.client(seId).discard(fileId);
  await deps.restored.remove(fileId, seId);
}

/**
 * The restore saga: `copy` writes the restored copy (undone by discarding it), `record` — the
 * pivot — records it with its expiry, from when reads use it; `announce` tells the other roles. Cut short before the record, the
 * copy is discarded and the job has failed; a new request starts another.
 */
export function restoreSaga(
  deps: Pick<RestoreDeps, 'directory' | 'restored' | 'clock' | 'events'>,
  live?: CatalogEntry,
): SagaDefinition<RestoreSagaPayload> {
  return {
    kind: 'restore',
    pivot: 1,
    steps: [
      {
        name: 'copy',
        run: async (payload) => {
          if (!live)
            throw new Error('a restore cut short before its copy was recorded is undone, not resumed');
          const failures: string[] = [];
          for (const seId of payload.candidates) {
            try {
              // An expired copy the sweep has not removed yet would stand in the new one's way.
              await removeRestored(deps, payload.fileId, seId);
              const stored = await copyFile(
                deps.directory,
                live.file,
                draftOf(live.file),
                payload.sources,
                seId,
                (client, id) => client.openForRestore(id),
              );
              return { ...payload, target: seId, key: stored.stored.key };
            } catch (error) {
              failures.push(`${seId}: ${error instanceof Error ? error.message : String(error)}`);
              await deps.directory
                .client(seId)
                .discard(payload.fileId)
                .catch(() => undefined);
            }
          }
          throw new ApplicationError(
            'storage_unavailable',
            `no restored copy of ${payload.fileId} could be written`,
            { failures },
          );
        },
        compensate: async (payload) => {
          for (const seId of payload.candidates) await removeRestored(deps, payload.fileId, seId);
        },
      },
      {
        name: 'record',
        run: async (payload) => {
          if (!payload.target || !payload.key) throw new Error('the restored copy was not written');
          const now = deps.clock.now();
          const expiresAt = new Date(now.getTime() + payload.ttlMs);
          await deps.restored.put({
            fileId: payload.fileId,
            seId: payload.target,
            key: payload.key,
            expiresAt,
            restoredAt: now,
          });
          return { ...payload, expiresAt: expiresAt.toISOString() };
        },
      },
      {
        name: 'announce',
        run: async (payload) => {
          await deps.events.publish('file.changed', { fileId: payload.fileId }).catch(() => undefined);
          return payload;
        },
      },
    ],
    pivotDone: async (payload) =>
      (await deps.restored.list(payload.fileId)).some(
        (c) => c.seId === payload.target && c.key === payload.key,
      ),
  };
}
