import type { Principal } from '../../domain/access/principal';
import type { DocumentAttributes } from '../../domain/document/document';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog, FileCopy } from '../ports/file-catalog';
import type { Page } from '../ports/file-index';
import type { RebuildReport, StorageElementDirectory } from '../ports/storage-element-client';
import type { StorageElementRegistry } from '../ports/storage-element-registry';
import { requireScope } from '../shared/authorize';

export interface CatalogRebuildReport {
  /** Each SE's cache rebuild from its sidecars, by SE id. */
  readonly storageElements: Readonly<Record<string, RebuildReport>>;
  /** Files restored into the catalog. */
  readonly files: number;
}

const PAGE = 500;

/**
 * §4: the sidecars are the source of truth. Rebuilds every SE's cache from its sidecars, then the
 * catalog from the SEs' caches: one entry per file with a copy on each SE that holds it. When two
 * copies disagree the newer attribute version wins.
 */
export class RebuildCatalog {
  constructor(
    private readonly registry: StorageElementRegistry,
    private readonly directory: StorageElementDirectory,
    private readonly catalog: FileCatalog,
    private readonly events: EventBus,
  ) {}

  async rebuild(principal: Principal): Promise<CatalogRebuildReport> {
    requireScope(principal, 'admin:write');
    const reports: Record<string, RebuildReport> = {};
    // Only ids are kept across SEs, so memory grows with the file count, not with the metadata.
    const restored = new Set<string>();
    for (const se of await this.registry.list()) {
      const client = this.directory.client(se.id);
      reports[se.id] = await client.rebuild();
      let cursor: string | null = null;
      do {
        const page: Page<DocumentAttributes> = await client.listAttributes({ cursor, limit: PAGE });
        for (const file of page.items) await this.restore(se.id, file, restored);
        cursor = page.nextCursor;
      } while (cursor);
    }
    return { storageElements: reports, files: restored.size };
  }

  private async restore(seId: string, file: DocumentAttributes, restored: Set<string>): Promise<void> {
    const copy: FileCopy = { seId, key: file.stored.key };
    if (!restored.has(file.fileId)) {
      // The first copy seen in this run replaces whatever the catalog held for the file.
      await this.catalog.restore({ file, copies: [copy] });
      restored.add(file.fileId);
    } else {
      const known = await this.catalog.get(file.fileId);
      const others = (known?.copies ?? []).filter((c) => c.seId !== seId);
      const newer = known && known.file.attrVersion >= file.attrVersion ? known.file : file;
      await this.catalog.restore({ file: newer, copies: [...others, copy] });
    }
    await this.events.publish('file.changed', { fileId: file.fileId });
  }
}
