import { join } from 'node:path';
import { Container, ContainerModule } from 'inversify';
import type { Redis } from 'ioredis';
import { ManageStorageElements } from '../application/admin/manage-storage-elements';
import { RebuildCatalog } from '../application/admin/rebuild-catalog';
import { AuditTrail } from '../application/audit/audit-trail';
import { MikroOrmAuditLog } from '../adapters/persistence/mikro-orm-audit-log';
import { UpdateDocument } from '../application/ingester/update-document';
import { UploadDocument } from '../application/ingester/upload-document';
import { ResumableUploads } from '../application/ingester/resumable-uploads';
import { MemoryLocker } from '@tus/server';
import { describeTusUpload } from '../adapters/http/tus-metadata';
import { MikroOrmUploadStore } from '../adapters/persistence/mikro-orm-upload-store';
import { FsStagingArea } from '../adapters/staging/fs-staging-area';
import { RedisLocker } from '../adapters/tus/redis-locker';
import { FinalizeDocument } from '../application/ingester/finalize-document';
import { DeleteDocument } from '../application/ingester/delete-document';
import type { FileLifecycleDeps } from '../application/ingester/lifecycle-deps';
import { ReadSagas } from '../application/admin/read-sagas';
import { SagaRunner } from '../application/sagas/saga-runner';
import { MikroOrmSagaStore } from '../adapters/persistence/mikro-orm-saga-store';
import { failpoint } from '../adapters/system/failpoints';
import { LIMITS } from '../adapters/http/upload-fields';
import { ReadDocuments } from '../application/query/read-documents';
import { ArchiveReads } from '../application/query/archive-reads';
import { RestoreDocument } from '../application/query/restore-document';
import { ExpireRestoredCopies } from '../application/admin/expire-restored-copies';
import { MikroOrmRestoredCopies } from '../adapters/persistence/mikro-orm-restored-copies';
import { RegistryView } from '../application/shared/registry-view';
import type { StorageElementService } from '../application/storage/storage-element-service';
import { MemoryEventBus } from '../adapters/memory/memory-event-bus';
import type { Orm } from '../adapters/persistence/database';
import { MikroOrmFileCatalog } from '../adapters/persistence/mikro-orm-file-catalog';
import { MikroOrmFileIndex } from '../adapters/persistence/mikro-orm-file-index';
import { MikroOrmFixityLog } from '../adapters/persistence/mikro-orm-fixity-log';
import { CachingFileCatalog, type CacheObserver } from '../adapters/cache/caching-file-catalog';
import { RedisSharedCache } from '../adapters/redis/redis-shared-cache';
import type { EventBus } from '../application/ports/event-bus';
import { CachingFileIndex } from '../adapters/cache/caching-file-index';
import { MikroOrmStorageElementRegistry } from '../adapters/persistence/mikro-orm-registry';
import { RedisEventBus } from '../adapters/redis/redis-event-bus';
import { JsonSidecarCodec } from '../adapters/sidecar/json-sidecar-codec';
import { FileTypeContentSniffer } from '../adapters/sniffing/file-type-content-sniffer';
import { SystemClock, UuidV7Ids } from '../adapters/system/system-clock';
import type { Logger } from '../adapters/telemetry/logger';
import type { Metrics } from '../adapters/telemetry/metrics';
import type { Config, Role } from './config';
import { ingestSettings } from './ingest-settings';
import { TOKENS as T } from './tokens';
import { storageElementDirectory } from './topology';

/** Live infrastructure opened by the lifecycle before the container is built. */
export interface Infrastructure {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly orm: Orm;
  /** `cache`: the shared cache's own connection (no offline queue, short command timeout). */
  readonly redis: { readonly publisher: Redis; readonly subscriber: Redis; readonly cache: Redis } | null;
  /** This process's token for the storage elements' internal API (split mode). */
  readonly serviceToken: (rejected?: string) => Promise<string>;
}

/** What every role needs: config, telemetry, time, persistence adapters, events, the SE directory. */
/** Index rows kept in memory per process (a row is about 1 KiB). */
const INDEX_CACHE_ENTRIES = 4096;
/** A resumable-upload lock whose holder died frees itself after this long. */
const UPLOAD_LOCK_TTL_MS = 5_000;

/** Where direct uploads keep a scratch copy of their body while it streams to an SE. */
export function spoolArea(config: Config): FsStagingArea {
  return new FsStagingArea(join(config.staging_dir, 'spool'));
}

/** A spooled body is never older than the longest request; an hour-old spool file is a crash's leftover. */
export const SPOOL_LEFTOVER_AGE_MS = 60 * 60 * 1000;

/** The catalog behind its caches: level 1 in-process, level 2 in Redis when there is one. */
function catalog(
  infra: Infrastructure,
  orm: Orm,
  codec: JsonSidecarCodec,
  events: EventBus,
): CachingFileCatalog {
  const { config, metrics } = infra;
  const shared =
    infra.redis && config.cache_l2_ttl_s > 0
      ? new RedisSharedCache(infra.redis.cache, {
          prefix: config.redis_prefix,
          ttlMs: config.cache_l2_ttl_s * 1000,
          onError: (operation, error) => {
            metrics.cacheErrors.inc({ operation });
            infra.logger.debug({ err: error, operation }, 'shared cache unavailable');
          },
        })
      : null;
  const observer: CacheObserver = {
    hit: (cache, level) => metrics.cacheHits.inc({ cache, level }),
    miss: (cache, level) => metrics.cacheMisses.inc({ cache, level }),
    undecodable: (cache, error) => {
      metrics.cacheErrors.inc({ operation: `decode_${cache}` });
      infra.logger.warn({ err: error, cache }, 'a shared cache value did not decode');
    },
  };
  return new CachingFileCatalog(
    new MikroOrmFileCatalog(orm, codec),
    { events, codec, shared, observer },
    {
      metadataEntries: config.cache_metadata_entries,
      searchEntries: config.cache_search_entries,
      ttlMs: config.cache_l1_ttl_ms,
    },
  );
}

function coreModule(infra: Infrastructure): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(T.config).toConstantValue(infra.config);
    bind(T.logger).toConstantValue(infra.logger);
    bind(T.metrics).toConstantValue(infra.metrics);
    bind(T.orm).toConstantValue(infra.orm);
    bind(T.clock).toConstantValue(new SystemClock());
    bind(T.ids).toConstantValue(new UuidV7Ids());
    bind(T.codec).toConstantValue(new JsonSidecarCodec());
    const redis = infra.redis;
    bind(T.events)
      .toResolvedValue(() =>
        redis
          ? new RedisEventBus(redis.publisher, redis.subscriber, infra.config.redis_prefix)
          : new MemoryEventBus(),
      )
      .inSingletonScope();
    bind(T.registry)
      .toResolvedValue((orm: Orm) => new MikroOrmStorageElementRegistry(orm), [T.orm])
      .inSingletonScope();
    bind(T.registryView)
      .toResolvedValue(
        (registry, clock) => new RegistryView(registry, clock, Math.min(infra.config.heartbeat_ms, 2_000)),
        [T.registry, T.clock],
      )
      .inSingletonScope();
    bind(T.catalog)
      .toResolvedValue(
        (orm: Orm, codec: JsonSidecarCodec, events: EventBus) => catalog(infra, orm, codec, events),
        [T.orm, T.codec, T.events],
      )
      .inSingletonScope();
    bind(T.writerCatalog)
      .toResolvedValue((cached: CachingFileCatalog) => cached.forWriters, [T.catalog])
      .inSingletonScope();
    bind(T.fileIndex)
      .toResolvedValue(
        (orm: Orm, codec: JsonSidecarCodec) =>
          new CachingFileIndex(new MikroOrmFileIndex(orm, codec), INDEX_CACHE_ENTRIES),
        [T.orm, T.codec],
      )
      .inSingletonScope();
    bind(T.fixityLog)
      .toResolvedValue((orm: Orm) => new MikroOrmFixityLog(orm), [T.orm])
      .inSingletonScope();
    bind(T.auditLog)
      .toResolvedValue((orm: Orm, clock) => new MikroOrmAuditLog(orm, clock), [T.orm, T.clock])
      .inSingletonScope();
    bind(T.auditTrail)
      .toResolvedValue((log) => new AuditTrail(log), [T.auditLog])
      .inSingletonScope();
    // The resumable-upload lock: across replicas through Redis when there is one.
    bind(T.uploadLocker)
      .toResolvedValue(() =>
        redis
          ? new RedisLocker(redis.publisher, {
              prefix: infra.config.redis_prefix,
              ttlMs: UPLOAD_LOCK_TTL_MS,
              acquireTimeoutMs: 30_000,
            })
          : new MemoryLocker(),
      )
      .inSingletonScope();
    bind(T.restoredCopies)
      .toResolvedValue((orm: Orm) => new MikroOrmRestoredCopies(orm), [T.orm])
      .inSingletonScope();
    bind(T.sagaStore)
      .toResolvedValue((orm: Orm) => new MikroOrmSagaStore(orm), [T.orm])
      .inSingletonScope();
    bind(T.sagaRunner)
      .toResolvedValue(
        (store, clock, ids) =>
          new SagaRunner(
            {
              leaseMs: infra.config.saga_lease_ms,
              retryAfterMs: Math.min(infra.config.saga_lease_ms, 5_000),
              maxAttempts: 100,
            },
            { store, clock, ids, failpoint, log: infra.logger },
          ),
        [T.sagaStore, T.clock, T.ids],
      )
      .inSingletonScope();
    bind(T.directory)
      .toResolvedValue(
        (hosted, registry, codec) => storageElementDirectory(hosted, registry, codec, infra.serviceToken),
        [T.hostedElements, T.registryView, T.codec],
      )
      .inSingletonScope();
  });
}

function storageModule(hosted: ReadonlyMap<string, StorageElementService>): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(T.hostedElements).toConstantValue(hosted);
  });
}

const ingesterModule = new ContainerModule(({ bind }) => {
  bind(T.uploadDocument)
    .toResolvedValue(
      (config: Config, registry, directory, catalog, events, clock, ids, sagas) =>
        new UploadDocument(ingestSettings(config), {
          registry,
          directory,
          catalog,
          events,
          clock,
          ids,
          sagas,
          sniffer: new FileTypeContentSniffer(),
          spool: spoolArea(config),
        }),
      [T.config, T.registryView, T.directory, T.writerCatalog, T.events, T.clock, T.ids, T.sagaRunner],
    )
    .inSingletonScope();
  bind(T.resumableUploads)
    .toResolvedValue(
      (
        config: Config,
        orm: Orm,
        ingest: UploadDocument,
        catalog,
        clock,
        ids,
        deletes: DeleteDocument,
        logger: Logger,
      ) =>
        new ResumableUploads(
          {
            maxUploadBytes: config.max_upload_bytes,
            collections: ingestSettings(config).collections,
            expiryMs: config.upload_expiry_s * 1000,
            defaultTtlDays: config.default_ttl_days,
            // A tus completion is claimed like a saga: a dead process's is taken over after the same lease.
            completionLeaseMs: config.saga_lease_ms,
            commitEveryBytes: 8 * 1024 * 1024,
          },
          {
            store: new MikroOrmUploadStore(orm),
            staging: new FsStagingArea(config.staging_dir),
            ingest,
            catalog,
            clock,
            ids,
            describe: describeTusUpload,
            // Best effort: a duplicate left behind is logged (a crash here leaves it too).
            discard: (fileId) =>
              deletes
                .discard(fileId, 'a stalled tus completion taken over under another id')
                .catch((error: unknown) =>
                  logger.warn(
                    { err: error, file_id: fileId },
                    'duplicate of a taken-over tus upload not removed',
                  ),
                ),
          },
        ),
      [T.config, T.orm, T.uploadDocument, T.writerCatalog, T.clock, T.ids, T.deleteDocument, T.logger],
    )
    .inSingletonScope();
  const lifecycleDeps = [
    T.registryView,
    T.directory,
    T.writerCatalog,
    T.events,
    T.clock,
    T.sagaRunner,
    T.auditTrail,
  ] as const;
  const lifecycle = (...[registry, directory, catalog, events, clock, sagas, audit]: unknown[]) =>
    ({ registry, directory, catalog, events, clock, sagas, audit }) as FileLifecycleDeps;
  bind(T.finalizeDocument)
    .toResolvedValue(
      (config: Config, ...deps: unknown[]) =>
        new FinalizeDocument(
          { replication: config.replication_permanent, staleAfterMs: 3 * config.heartbeat_ms },
          lifecycle(...deps),
        ),
      [T.config, ...lifecycleDeps],
    )
    .inSingletonScope();
  bind(T.deleteDocument)
    .toResolvedValue((...deps: unknown[]) => new DeleteDocument(lifecycle(...deps)), [...lifecycleDeps])
    .inSingletonScope();
  bind(T.updateDocument)
    .toResolvedValue(
      (catalog, directory, registry, events, audit, clock, sagas) =>
        new UpdateDocument(
          { metadataEntries: LIMITS.metadataEntries },
          { catalog, directory, registry, events, audit, clock, sagas },
        ),
      [T.writerCatalog, T.directory, T.registryView, T.events, T.auditTrail, T.clock, T.sagaRunner],
    )
    .inSingletonScope();
});

const queryModule = new ContainerModule(({ bind }) => {
  bind(T.readDocuments)
    .toResolvedValue(
      (config: Config, catalog, directory, registry, fixity, restored, clock) =>
        new ReadDocuments(
          catalog,
          directory,
          registry,
          fixity,
          new ArchiveReads(restored, clock),
          { dc: config.dc ?? null, staleAfterMs: 3 * config.heartbeat_ms },
          clock,
        ),
      [T.config, T.catalog, T.directory, T.registryView, T.fixityLog, T.restoredCopies, T.clock],
    )
    .inSingletonScope();
  bind(T.restoreDocument)
    .toResolvedValue(
      (config: Config, registry, directory, catalog, restored, sagas, sagaStore, events, clock, audit, log) =>
        new RestoreDocument(
          { ttlMs: config.restore_ttl_s * 1000, staleAfterMs: 3 * config.heartbeat_ms },
          { registry, directory, catalog, restored, sagas, sagaStore, events, clock, audit, log },
        ),
      [
        T.config,
        T.registryView,
        T.directory,
        T.catalog,
        T.restoredCopies,
        T.sagaRunner,
        T.sagaStore,
        T.events,
        T.clock,
        T.auditTrail,
        T.logger,
      ],
    )
    .inSingletonScope();
});

const adminModule = new ContainerModule(({ bind }) => {
  bind(T.manageStorageElements)
    .toResolvedValue(
      (registry, directory, events, audit, catalog, config: Config) =>
        new ManageStorageElements(registry, directory, events, audit, {
          catalog,
          required: config.replication_permanent,
        }),
      [T.registry, T.directory, T.events, T.auditTrail, T.writerCatalog, T.config],
    )
    .inSingletonScope();
  bind(T.expireRestoredCopies)
    .toResolvedValue(
      (restored, catalog, directory, events, clock, audit) =>
        new ExpireRestoredCopies({ restored, catalog, directory, events, clock, audit }),
      [T.restoredCopies, T.catalog, T.directory, T.events, T.clock, T.auditTrail],
    )
    .inSingletonScope();
  bind(T.readSagas)
    .toResolvedValue((store) => new ReadSagas(store), [T.sagaStore])
    .inSingletonScope();
  bind(T.rebuildCatalog)
    .toResolvedValue(
      (registry, directory, catalog, events) => new RebuildCatalog(registry, directory, catalog, events),
      [T.registry, T.directory, T.writerCatalog, T.events],
    )
    .inSingletonScope();
});

const ROLE_MODULES: Readonly<Record<Role, ContainerModule | null>> = {
  admin: adminModule,
  ingester: ingesterModule,
  query: queryModule,
  storage: null,
};

/** `--role` selects container modules (topology is data); every role set resolves (see the wiring test). */
export function buildContainer(
  infra: Infrastructure,
  roles: readonly Role[],
  hosted: ReadonlyMap<string, StorageElementService>,
): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(coreModule(infra), storageModule(hosted));
  for (const role of roles) {
    const module = ROLE_MODULES[role];
    if (module) container.load(module);
  }
  return container;
}
