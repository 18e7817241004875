import type { Principal } from '../../domain/access/principal';
import type { AuditTrail } from '../audit/audit-trail';
import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';
import { ApplicationError } from '../errors';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog } from '../ports/file-catalog';
import type {
  RebuildReport,
  ReconcileOptions,
  ReconcileReport,
  ScrubStatus,
  StorageElementDirectory,
  StorageElementInfo,
} from '../ports/storage-element-client';
import type { StorageElementRegistry } from '../ports/storage-element-registry';
import { requireScope } from '../shared/authorize';

/** The admin's side of the SE registry (§2, §3.3): list, change mode, rebuild an SE's cache. */
export class ManageStorageElements {
  constructor(
    private readonly registry: StorageElementRegistry,
    private readonly directory: StorageElementDirectory,
    private readonly events: EventBus,
    private readonly audit: AuditTrail,
    private readonly replicas: { readonly catalog: FileCatalog; readonly required: number },
  ) {}

  async list(principal: Principal): Promise<StorageElementDescriptor[]> {
    requireScope(principal, 'admin:read');
    return this.registry.list();
  }

  async get(principal: Principal, seId: string): Promise<StorageElementDescriptor> {
    requireScope(principal, 'admin:read');
    return this.known(seId);
  }

  /**
   * The SE checks the move against the domain table and obeys, the registry records, every role hears of it through the event bus.
   */
  async changeMode(
    principal: Principal,
    seId: string,
    to: StorageMode,
    confirmed: boolean,
  ): Promise<StorageElementInfo> {
    requireScope(principal, 'admin:write');
    const before = await this.known(seId);
    // §3.3: an archive SE is cold; every file on it must have its full set of copies first.
    if (to === 'ar' && before.mode !== 'ar') {
      const short = await this.replicas.catalog.countUnderReplicated(seId, this.replicas.required);
      if (short > 0) {
        await this.audit.refused(
          principal,
          'storage_element.mode_changed',
          new ApplicationError(
            'replicas_missing',
            `${short} file(s) on '${seId}' have fewer than ${this.replicas.required} copies; restore their copies before archiving`,
            { files: short, required: this.replicas.required },
          ),
          { target: seId, details: { mode: to, from: before.mode, confirmed } },
        );
      }
    }
    // The SE holds its mode durably and checks the move itself (a registry row may lag behind it).
    const info = await this.directory
      .client(seId)
      .changeMode(to, confirmed)
      .catch((error: unknown) =>
        this.audit.refused(principal, 'storage_element.mode_changed', error, {
          target: seId,
          details: { mode: to, from: before.mode, confirmed },
        }),
      );
    await this.registry.recordMode(seId, info.mode);
    await this.events.publish('storage_element.changed', { seId });
    // A same-mode request changes nothing; the registry row may lag an SE's own switch, and then it is news.
    if (before.mode !== info.mode) {
      await this.audit.record(principal, 'storage_element.mode_changed', 'success', {
        target: seId,
        details: { mode: info.mode, from: before.mode, confirmed },
      });
    }
    return info;
  }

  async rebuild(principal: Principal, seId: string): Promise<RebuildReport> {
    requireScope(principal, 'admin:write');
    await this.known(seId);
    return this.directory.client(seId).rebuild();
  }

  /** The SE's own live view: mode, capacity, counts, health, scrub progress, version. */
  async info(principal: Principal, seId: string): Promise<StorageElementInfo> {
    requireScope(principal, 'admin:read');
    await this.known(seId);
    return this.directory.client(seId).info();
  }

  async reconcile(principal: Principal, seId: string, options: ReconcileOptions): Promise<ReconcileReport> {
    requireScope(principal, 'admin:write');
    await this.known(seId);
    const report = await this.directory.client(seId).reconcile(options);
    await this.audit.record(principal, 'storage_element.reconciled', 'success', {
      target: seId,
      details: { repair: options.repair, checksums: options.checksums, counts: { ...report.counts } },
    });
    return report;
  }

  async startScrub(
    principal: Principal,
    seId: string,
    rateBytesPerSecond: number | null,
  ): Promise<ScrubStatus> {
    requireScope(principal, 'admin:write');
    await this.known(seId);
    const status = await this.directory.client(seId).startScrub({ rateBytesPerSecond });
    await this.audit.record(principal, 'storage_element.scrub_started', 'success', {
      target: seId,
      details: { rate_bytes_per_second: status.rateBytesPerSecond },
    });
    return status;
  }

  async scrubStatus(principal: Principal, seId: string): Promise<ScrubStatus> {
    requireScope(principal, 'admin:read');
    await this.known(seId);
    return this.directory.client(seId).scrubStatus();
  }

  private async known(seId: string): Promise<StorageElementDescriptor> {
    const se = await this.registry.get(seId);
    if (!se)
      throw new ApplicationError('storage_element_not_found', `storage element '${seId}' is not registered`);
    return se;
  }
}
