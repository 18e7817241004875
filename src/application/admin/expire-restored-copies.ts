import { SYSTEM_PRINCIPAL } from '../../domain/access/principal';
import type { AuditTrail } from '../audit/audit-trail';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog } from '../ports/file-catalog';
import type { RestoredCopies, RestoredCopy } from '../ports/restored-copies';
import type { StorageElementDirectory } from '../ports/storage-element-client';

const BATCH = 100;

export interface ExpirySweepResult {
  readonly removed: number;
  /** Copies whose SE could not be reached; the next sweep tries them again. */
  readonly failed: number;
}

/**
 * Removes restored copies whose TTL has passed (an admin lifecycle job): the copy on its `edit`
 * SE first, then its record, so a sweep cut short leaves a record the next sweep finishes. The
 * archived copies are never touched. Reads stop using a copy at its expiry, before the sweep.
 */
export class ExpireRestoredCopies {
  constructor(
    private readonly deps: {
      readonly restored: RestoredCopies;
      readonly catalog: FileCatalog;
      readonly directory: StorageElementDirectory;
      readonly events: EventBus;
      readonly clock: Clock;
      readonly audit: AuditTrail;
    },
  ) {}

  async sweep(): Promise<ExpirySweepResult> {
    let removed = 0;
    const failed = new Set<string>();
    for (;;) {
      const batch = (await this.deps.restored.expired(this.deps.clock.now(), BATCH + failed.size)).filter(
        (c) => !failed.has(`${c.fileId}/${c.seId}`),
      );
      if (batch.length === 0) return { removed, failed: failed.size };
      for (const copy of batch) {
        try {
          await this.remove(copy);
          removed += 1;
        } catch {
          failed.add(`${copy.fileId}/${copy.seId}`);
        }
      }
    }
  }

  private async remove(copy: RestoredCopy): Promise<void> {
    const entry = await this.deps.catalog.get(copy.fileId);
    const catalogued = entry?.copies.some((c) => c.seId === copy.seId) === true;
    // A temporary file's own copy lives on an `edit` SE: never that. A permanent file's copy on
    // one can only be the restored copy, listed as a copy by a catalog rebuild: it goes too.
    if (!(catalogued && entry?.file.retention.policy === 'temporary')) {
      await this.deps.directory.client(copy.seId).discard(copy.fileId);
      if (entry && catalogued)
        await this.deps.catalog.restore({
          file: entry.file,
          copies: entry.copies.filter((c) => c.seId !== copy.seId),
        });
    }
    await this.deps.restored.remove(copy.fileId, copy.seId);
    await this.deps.events.publish('file.changed', { fileId: copy.fileId }).catch(() => undefined);
    await this.deps.audit.record(SYSTEM_PRINCIPAL, 'file.restore_expired', 'success', {
      target: copy.fileId,
      details: { storage_element: copy.seId, expired_at: copy.expiresAt.toISOString() },
    });
  }
}
