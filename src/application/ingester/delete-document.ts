import { SYSTEM_PRINCIPAL, type Principal } from '../../domain/access/principal';
import { DomainError } from '../../domain/errors';
import { assertDeletable } from '../../domain/retention/retention';
import { ApplicationError } from '../errors';
import type { CatalogEntry, FileCopy } from '../ports/file-catalog';
import type { SagaDefinition } from '../sagas/saga-runner';
import { requireFileAccess } from '../shared/authorize';
import type { FileLifecycleDeps } from './lifecycle-deps';

/** The saved state of a delete saga. */
export type DeleteSagaPayload = {
  readonly fileId: string;
  readonly copies: readonly FileCopy[];
  /** A file never acknowledged to anyone: its copies are discarded, which no retention stops. */
  readonly unacknowledged?: boolean;
};

/**
 * Delete (§3.2): temporary files at any time; permanent ones once `retain_until` has passed and
 * never under legal hold. The delete saga first turns the catalog entry into a tombstone (the
 * pivot: from then on the file is gone for every client), then removes every copy, then drops the
 * copies from the tombstone. A copy that cannot be removed now is retried until it is. The
 * answer comes once the tombstone is written; the rest goes on behind it.
 */
export class DeleteDocument {
  constructor(private readonly deps: FileLifecycleDeps) {}

  async execute(principal: Principal, fileId: string): Promise<void> {
    const { catalog, clock, audit } = this.deps;
    const entry = await catalog.get(fileId);
    if (!entry || entry.file.status !== 'active')
      throw new ApplicationError('file_not_found', `file ${fileId} does not exist`);
    requireFileAccess(principal, 'files:read', entry.file.collection, fileId);
    requireFileAccess(principal, 'files:delete', entry.file.collection, fileId);
    try {
      assertDeletable(entry.file.retention, clock.now());
      // The copies' sidecars are the truth: a hold set a moment ago elsewhere may not be in this
      // process's catalog cache yet.
      for (const copy of entry.copies) {
        const held = await this.deps.directory
          .client(copy.seId)
          .head(fileId)
          .catch((error: unknown) => {
            if (error instanceof ApplicationError && error.code === 'file_not_found') return null;
            throw error;
          });
        if (held) assertDeletable(held.retention, clock.now());
      }
    } catch (error) {
      if (error instanceof DomainError)
        await audit.refused(principal, 'file.deleted', error, { target: fileId });
      throw error;
    }
    await this.remove(entry);
    await audit.record(principal, 'file.deleted', 'success', {
      target: fileId,
      details: { name: entry.file.name, sha256: entry.file.sha256, copies: entry.copies.length },
    });
  }

  /**
   * Removes a file that was never acknowledged to anyone (a stalled tus completion's duplicate,
   * see ResumableUploads): no retention applies, since no one holds the file under it. Audited
   * as `file.deleted` by the system, with the reason.
   */
  async discard(fileId: string, reason: string): Promise<void> {
    const entry = await this.deps.catalog.get(fileId);
    if (!entry || entry.file.status !== 'active') return;
    await this.remove(entry, true);
    await this.deps.audit.record(SYSTEM_PRINCIPAL, 'file.deleted', 'success', {
      target: fileId,
      details: { name: entry.file.name, sha256: entry.file.sha256, copies: entry.copies.length, reason },
    });
  }

  /** Answered once the tombstone is written: the copies' removal goes on behind the answer. */
  private async remove(entry: CatalogEntry, unacknowledged = false): Promise<void> {
    const { catalog, clock, sagas } = this.deps;
    const tombstone = { ...entry.file, status: 'deleted' as const, updatedAt: clock.now() };
    await sagas.commit(
      deleteSaga(this.deps, () => catalog.restore({ file: tombstone, copies: entry.copies })),
      { fileId: entry.file.fileId, copies: entry.copies, ...(unacknowledged ? { unacknowledged } : {}) },
      entry.file.fileId,
    );
  }
}

export function deleteSaga(
  deps: Pick<FileLifecycleDeps, 'directory' | 'catalog' | 'events'>,
  tombstone?: () => Promise<void>,
): SagaDefinition<DeleteSagaPayload> {
  return {
    kind: 'delete',
    pivot: 0,
    steps: [
      {
        name: 'tombstone',
        // `pivotDone` tells after a crash whether the tombstone was written.
        checkpoint: false,
        run: async (payload) => {
          if (!tombstone) throw new Error('a delete cut short before its tombstone is dropped, not resumed');
          await tombstone();
          await deps.events.publish('file.changed', { fileId: payload.fileId }).catch(() => undefined);
          return payload;
        },
      },
      {
        name: 'remove_copies',
        run: async (payload) => {
          const results = await Promise.allSettled(
            payload.copies.map((copy) => {
              const element = deps.directory.client(copy.seId);
              return (
                payload.unacknowledged ? element.discard(payload.fileId) : element.delete(payload.fileId)
              ).catch((error: unknown) => {
                // Already gone there (a retry after a crash): done.
                if (error instanceof ApplicationError && error.code === 'file_not_found') return;
                throw error;
              });
            }),
          );
          const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed.length > 0)
            throw new AggregateError(
              failed.map((r) => r.reason as unknown),
              `${failed.length} of ${payload.copies.length} copies could not be removed yet`,
            );
          return payload;
        },
      },
      {
        name: 'forget_copies',
        run: async (payload) => {
          const entry = await deps.catalog.get(payload.fileId);
          if (entry) await deps.catalog.restore({ file: entry.file, copies: [] });
          await deps.events.publish('file.changed', { fileId: payload.fileId }).catch(() => undefined);
          return payload;
        },
      },
    ],
    pivotDone: async (payload) => (await deps.catalog.get(payload.fileId))?.file.status === 'deleted',
  };
}
