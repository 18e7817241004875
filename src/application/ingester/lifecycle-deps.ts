import type { AuditTrail } from '../audit/audit-trail';
import type { Clock } from '../ports/clock';
import type { EventBus } from '../ports/event-bus';
import type { FileCatalog } from '../ports/file-catalog';
import type { StorageElementDirectory } from '../ports/storage-element-client';
import type { SagaRunner } from '../sagas/saga-runner';
import type { RegistryView } from '../shared/registry-view';

/** What finalize and delete need: the copies' SEs, the catalog, and the saga runner. */
export interface FileLifecycleDeps {
  readonly registry: RegistryView;
  readonly directory: StorageElementDirectory;
  readonly catalog: FileCatalog;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly sagas: SagaRunner;
  readonly audit: AuditTrail;
}
