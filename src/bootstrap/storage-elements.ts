import { join } from 'node:path';
import type { StorageElementRegistry } from '../application/ports/storage-element-registry';
import { StorageElementService } from '../application/storage/storage-element-service';
import type { FileIndex } from '../application/ports/file-index';
import type { Clock, IdGenerator } from '../application/ports/clock';
import { Client } from 'minio';
import type { BlobStore } from '../application/ports/blob-store';
import {
  CAPACITY_LEVELS,
  DEFAULT_THRESHOLDS,
  type ThresholdsByMode,
} from '../domain/storage-element/capacity-level';
import { STORAGE_MODES } from '../domain/storage-mode/storage-mode';
import { LocalFsBlobStore } from '../adapters/blob-store/local-fs-blob-store';
import { S3BlobStore } from '../adapters/blob-store/s3-blob-store';
import { FileStateStore } from '../adapters/wal/file-state-store';
import { FileWriteAheadLog } from '../adapters/wal/file-write-ahead-log';
import type { JsonSidecarCodec } from '../adapters/sidecar/json-sidecar-codec';
import type { Metrics } from '../adapters/telemetry/metrics';
import type { Config, StorageElementConfig } from './config';

/** The configured floors over the defaults, level by level. */
export function thresholdsFrom(config: Pick<Config, 'capacity_thresholds'>): ThresholdsByMode {
  const merged = (mode: 'edit' | 'rw') => ({
    ...DEFAULT_THRESHOLDS[mode],
    ...config.capacity_thresholds?.[mode],
  });
  return { edit: merged('edit'), rw: merged('rw') } as ThresholdsByMode;
}
import { VERSION } from './version';

export interface HostedElement {
  readonly service: StorageElementService;
  close(): Promise<void>;
}

/** The SE's blob backend, the only place that knows which one is in use (§4). */
async function blobStoreFor(config: StorageElementConfig): Promise<BlobStore> {
  if (config.backend === 'local') return new LocalFsBlobStore(join(config.path, 'blobs'));
  const endpoint = new URL(config.s3_endpoint!);
  const useSSL = endpoint.protocol === 'https:';
  const store = new S3BlobStore({
    client: new Client({
      endPoint: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: config.s3_access_key!,
      secretKey: config.s3_secret_key!,
      region: config.s3_region ?? 'us-east-1',
      pathStyle: true,
    }),
    bucket: config.s3_bucket!,
    prefix: config.s3_prefix ?? `${config.id}/`,
  });
  await store.ensureBucket();
  return store;
}

/**
 * Opens one configured SE: blobs and sidecars on its backend (`<path>/blobs` or an S3 bucket
 * prefix), the WAL and mode state always on local disk (`<path>/wal`, `<path>/state.json`);
 * replays its WAL.
 */
export async function openStorageElement(
  config: StorageElementConfig,
  thresholds: ThresholdsByMode,
  deps: { index: FileIndex; codec: JsonSidecarCodec; clock: Clock; ids: IdGenerator },
): Promise<HostedElement> {
  const wal = await FileWriteAheadLog.openAt(join(config.path, 'wal'));
  const service = new StorageElementService(
    {
      id: config.id,
      backend: config.backend,
      dc: config.dc,
      priority: config.priority,
      capacityBytes: config.capacity_bytes ?? null,
      thresholds,
      initialMode: config.mode,
      version: VERSION,
    },
    {
      blobs: await blobStoreFor(config),
      wal,
      index: deps.index,
      state: new FileStateStore(join(config.path, 'state.json')),
      sidecars: deps.codec,
      clock: deps.clock,
      ids: deps.ids,
    },
  );
  await service.start();
  return { service, close: () => wal.close() };
}

/** Tells the registry what a hosted SE looks like now (its heartbeat), and mirrors it in the SE gauges. */
export async function announce(
  service: StorageElementService,
  url: string,
  registry: StorageElementRegistry,
  clock: Clock,
  metrics: Metrics,
): Promise<void> {
  const info = await service.info();
  await registry.announce({
    id: info.id,
    mode: info.mode,
    backend: info.backend,
    dc: info.dc,
    priority: info.priority,
    capacity: info.capacity,
    fileCount: info.fileCount,
    url,
    lastSeenAt: clock.now(),
  });
  metrics.seFiles.labels(info.id).set(info.fileCount);
  metrics.seUsedBytes.labels(info.id).set(info.capacity.usedBytes);
  metrics.seTotalBytes.labels(info.id).set(info.capacity.totalBytes);
  metrics.seWalPending.labels(info.id).set(info.walPending);
  metrics.seCapacityLevel.labels(info.id).set(CAPACITY_LEVELS.indexOf(info.capacityLevel));
  for (const mode of STORAGE_MODES) metrics.seMode.labels(info.id, mode).set(mode === info.mode ? 1 : 0);
}
