import type { Principal } from '../../domain/access/principal';
import type { AuditTrail } from '../audit/audit-trail';
import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';
import { ApplicationError } from '../errors';
import type { EventBus } from '../ports/event-bus';
import type {
  RebuildReport,
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
    await this.known(seId);
    // The SE holds its mode durably and checks the move itself (a registry row may lag behind it).
    const info = await this.directory.client(seId).changeMode(to, confirmed);
    await this.registry.recordMode(seId, info.mode);
    await this.events.publish('storage_element.changed', { seId });
    await this.audit.record(principal, 'storage_element.mode_changed', 'success', {
      target: seId,
      details: { mode: info.mode, confirmed },
    });
    return info;
  }

  async rebuild(principal: Principal, seId: string): Promise<RebuildReport> {
    requireScope(principal, 'admin:write');
    await this.known(seId);
    return this.directory.client(seId).rebuild();
  }

  private async known(seId: string): Promise<StorageElementDescriptor> {
    const se = await this.registry.get(seId);
    if (!se)
      throw new ApplicationError('storage_element_not_found', `storage element '${seId}' is not registered`);
    return se;
  }
}
