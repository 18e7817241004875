import type { ServiceIdentifier } from 'inversify';
import type { ManageStorageElements } from '../application/admin/manage-storage-elements';
import type { RebuildCatalog } from '../application/admin/rebuild-catalog';
import type { AuditTrail } from '../application/audit/audit-trail';
import type { AuditLog } from '../application/ports/audit-log';
import type { UpdateDocument } from '../application/ingester/update-document';
import type { UploadDocument } from '../application/ingester/upload-document';
import type { ResumableUploads } from '../application/ingester/resumable-uploads';
import type { Locker } from '@tus/utils';
import type { FinalizeDocument } from '../application/ingester/finalize-document';
import type { DeleteDocument } from '../application/ingester/delete-document';
import type { ReadSagas } from '../application/admin/read-sagas';
import type { SagaStore } from '../application/ports/saga-store';
import type { SagaRunner } from '../application/sagas/saga-runner';
import type { Clock, IdGenerator } from '../application/ports/clock';
import type { EventBus } from '../application/ports/event-bus';
import type { CachingFileCatalog } from '../adapters/cache/caching-file-catalog';
import type { FileCatalog } from '../application/ports/file-catalog';
import type { FileIndex } from '../application/ports/file-index';
import type { FixityLog } from '../application/ports/fixity-log';
import type { StorageElementDirectory } from '../application/ports/storage-element-client';
import type { StorageElementRegistry } from '../application/ports/storage-element-registry';
import type { ReadDocuments } from '../application/query/read-documents';
import type { RestoreDocument } from '../application/query/restore-document';
import type { ExpireRestoredCopies } from '../application/admin/expire-restored-copies';
import type { RestoredCopies } from '../application/ports/restored-copies';
import type { RegistryView } from '../application/shared/registry-view';
import type { StorageElementService } from '../application/storage/storage-element-service';
import type { Orm } from '../adapters/persistence/database';
import type { JsonSidecarCodec } from '../adapters/sidecar/json-sidecar-codec';
import type { Logger } from '../adapters/telemetry/logger';
import type { Metrics } from '../adapters/telemetry/metrics';
import type { Config } from './config';

const token = <T>(name: string): ServiceIdentifier<T> => Symbol.for(`artstore.${name}`);

/** Every binding of the container, by capability. */
export const TOKENS = {
  config: token<Config>('config'),
  logger: token<Logger>('logger'),
  metrics: token<Metrics>('metrics'),
  clock: token<Clock>('clock'),
  ids: token<IdGenerator>('ids'),
  orm: token<Orm>('orm'),
  codec: token<JsonSidecarCodec>('codec'),
  events: token<EventBus>('events'),
  registry: token<StorageElementRegistry>('registry'),
  registryView: token<RegistryView>('registryView'),
  catalog: token<CachingFileCatalog>('catalog'),
  /** The catalog for write paths: reads from PostgreSQL, writes invalidating the caches. */
  writerCatalog: token<FileCatalog>('writerCatalog'),
  fileIndex: token<FileIndex>('fileIndex'),
  fixityLog: token<FixityLog>('fixityLog'),
  hostedElements: token<ReadonlyMap<string, StorageElementService>>('hostedElements'),
  directory: token<StorageElementDirectory>('directory'),
  uploadDocument: token<UploadDocument>('uploadDocument'),
  resumableUploads: token<ResumableUploads>('resumableUploads'),
  uploadLocker: token<Locker>('uploadLocker'),
  finalizeDocument: token<FinalizeDocument>('finalizeDocument'),
  deleteDocument: token<DeleteDocument>('deleteDocument'),
  sagaStore: token<SagaStore>('sagaStore'),
  sagaRunner: token<SagaRunner>('sagaRunner'),
  readSagas: token<ReadSagas>('readSagas'),
  updateDocument: token<UpdateDocument>('updateDocument'),
  readDocuments: token<ReadDocuments>('readDocuments'),
  restoredCopies: token<RestoredCopies>('restoredCopies'),
  restoreDocument: token<RestoreDocument>('restoreDocument'),
  expireRestoredCopies: token<ExpireRestoredCopies>('expireRestoredCopies'),
  manageStorageElements: token<ManageStorageElements>('manageStorageElements'),
  rebuildCatalog: token<RebuildCatalog>('rebuildCatalog'),
  auditLog: token<AuditLog>('auditLog'),
  auditTrail: token<AuditTrail>('auditTrail'),
} as const;
