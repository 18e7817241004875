import { join } from 'node:path';
import type { StorageElementRegistry } from '../application/ports/storage-element-registry';
import {
  StorageElementService,
  type StorageElementObserver,
} from '../application/storage/storage-element-service';
import type { FixityLog } from '../application/ports/fixity-log';
import { scrubProgress } from '../application/storage/scrub';
import type { FileIndex } from '../application/ports/file-index';
import type { Clock, IdGenerator } from '../application/ports/clock';
import { Client } from 'minio';
import type { BlobStore } from '../application/ports/blob-store';
import {
  CAPACITY_LEVELS,
  DEFAULT_THRESHOLDS,
  type ThresholdsByMode,
} from '../domain/storage-element/capacity-level';
import { SCRUB_STATES, HEALTH_STATUSES } from '../application/ports/storage-element-client';
import { STORAGE_MODES } from '../domain/storage-mode/storage-mode';
import { LocalFsBlobStore } from '../adapters/blob-store/local-fs-blob-store';
import { S3BlobStore } from '../adapters/blob-store/s3-blob-store';
import { idleTimeoutTransport } from '../adapters/blob-store/s3-transport';
import { FileStateStore } from '../adapters/wal/file-state-store';
import { FileWriteAheadLog } from '../adapters/wal/file-write-ahead-log';
import type { JsonSidecarCodec } from '../adapters/sidecar/json-sidecar-codec';
import type { Metrics } from '../adapters/telemetry/metrics';
import type { Logger } from '../adapters/telemetry/logger';
import type { AuditTrail } from '../application/audit/audit-trail';
import type { EventBus } from '../application/ports/event-bus';
import { SYSTEM_PRINCIPAL } from '../domain/access/principal';
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
async function blobStoreFor(config: StorageElementConfig, s3IdleTimeoutMs: number): Promise<BlobStore> {
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
      transport: idleTimeoutTransport(useSSL, s3IdleTimeoutMs),
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
  global: Config,
  deps: {
    index: FileIndex;
    codec: JsonSidecarCodec;
    clock: Clock;
    ids: IdGenerator;
    fixity: FixityLog;
    observer: StorageElementObserver;
  },
): Promise<HostedElement> {
  const wal = await FileWriteAheadLog.openAt(join(config.path, 'wal'));
  const service = new StorageElementService(
    {
      id: config.id,
      backend: config.backend,
      dc: config.dc,
      priority: config.priority,
      capacityBytes: config.capacity_bytes ?? null,
      thresholds: thresholdsFrom(global),
      initialMode: config.mode,
      version: VERSION,
      scrubRateBytesPerSecond: global.scrub_rate_bytes_per_s,
      verifyOnReadMaxBytes: global.verify_on_read_max_bytes,
      staleTempAfterMs: global.stale_temp_after_s * 1000,
    },
    {
      blobs: await blobStoreFor(config, global.s3_idle_timeout_ms),
      wal,
      index: deps.index,
      state: new FileStateStore(join(config.path, 'state.json')),
      sidecars: deps.codec,
      clock: deps.clock,
      ids: deps.ids,
      fixity: deps.fixity,
      observer: deps.observer,
    },
  );
  await service.start();
  return {
    service,
    close: async () => {
      await service.stop();
      await wal.close();
    },
  };
}

/**
 * What an SE does by itself reaches the others: a mode it switched to is recorded in the registry,
 * announced on the event bus and audited; a quarantined file is audited. Failures are logged, never
 * thrown into the SE's own work.
 */
export function storageObserver(
  registry: StorageElementRegistry,
  events: EventBus,
  audit: AuditTrail,
  log: Logger,
): StorageElementObserver {
  return {
    async modeSwitched(seId, from, to, reason) {
      log.warn({ se: seId, from, to, reason }, 'storage element switched its mode');
      try {
        await registry.recordMode(seId, to);
        await events.publish('storage_element.changed', { seId });
        await audit.record(SYSTEM_PRINCIPAL, 'storage_element.mode_changed', 'success', {
          target: seId,
          details: { mode: to, from, automatic: true, reason },
        });
      } catch (error) {
        log.error({ err: error, se: seId }, 'could not record a mode switch; the next heartbeat carries it');
      }
    },
    async walDamaged(seId, damage) {
      for (const record of damage)
        log.error({ se: seId, ...record }, 'damaged write-ahead log record skipped by replay');
    },
    async quarantined(seId, entry) {
      log.error({ se: seId, file: entry.fileId, keys: entry.keys, reason: entry.reason }, 'quarantined');
      try {
        await audit.record(SYSTEM_PRINCIPAL, 'file.quarantined', 'success', {
          target: entry.fileId ?? entry.keys[0] ?? null,
          details: { storage_element: seId, keys: [...entry.keys], reason: entry.reason },
        });
      } catch (error) {
        log.error({ err: error, se: seId }, 'could not audit a quarantine');
      }
    },
  };
}

/**
 * Scrubs each hosted SE once its last scrub (as the fixity history records it, so restarts do not
 * reset the clock) is `intervalMs` old; looks at most hourly. An SE still scrubbing is left alone.
 */
export function scheduleScrubs(
  elements: readonly StorageElementService[],
  intervalMs: number,
  fixity: FixityLog,
  clock: Clock,
  log: Logger,
): { stop(): void } {
  const due = async (se: StorageElementService): Promise<void> => {
    if ((await se.scrubStatus()).state === 'running') return;
    const last = await fixity.lastCheckedAt(se.id, ['scrub', 'mode_gate']);
    if (last && clock.now().getTime() - last.getTime() < intervalMs) return;
    await se.startScrub({ rateBytesPerSecond: null });
    log.info({ se: se.id, last_scrub: last }, 'scheduled scrub started');
  };
  const timer = setInterval(
    () => {
      for (const se of elements)
        due(se).catch((error: unknown) => log.warn({ err: error, se: se.id }, 'scheduled scrub not started'));
    },
    Math.min(intervalMs, 60 * 60 * 1000),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
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
  const scrub = info.scrub;
  metrics.seScrubProgress.labels(info.id).set(scrubProgress(scrub));
  metrics.seScrubDamaged.labels(info.id).set(scrub.failureCount);
  for (const state of SCRUB_STATES)
    metrics.seScrubState.labels(info.id, state).set(state === scrub.state ? 1 : 0);
  for (const status of HEALTH_STATUSES)
    metrics.seHealth.labels(info.id, status).set(status === info.health.status ? 1 : 0);
}
