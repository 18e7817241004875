import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric of one process, in one registry served at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'artstore_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly uploadedBytes = new Counter({
    name: 'artstore_uploaded_bytes_total',
    help: 'Bytes of original content accepted',
    registers: [this.registry],
  });
  readonly seFiles = new Gauge({
    name: 'artstore_se_files',
    help: 'Active files on a storage element hosted by this process',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });
  readonly seUsedBytes = new Gauge({
    name: 'artstore_se_used_bytes',
    help: 'Used bytes of a storage element hosted by this process',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });
  readonly seTotalBytes = new Gauge({
    name: 'artstore_se_capacity_bytes',
    help: 'Capacity of a storage element hosted by this process',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });

  readonly seWalPending = new Gauge({
    name: 'artstore_se_wal_pending',
    help: 'Unfinished write-ahead-log transactions of a storage element hosted by this process',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });
  readonly seCapacityLevel = new Gauge({
    name: 'artstore_se_capacity_level',
    help: 'Capacity level of a storage element: 0 ok, 1 warning, 2 critical, 3 full',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });
  readonly seMode = new Gauge({
    name: 'artstore_se_mode',
    help: 'Mode of a storage element hosted by this process: 1 for its current mode, 0 for the others',
    labelNames: ['se', 'mode'] as const,
    registers: [this.registry],
  });

  readonly seScrubProgress = new Gauge({
    name: 'artstore_se_scrub_progress_ratio',
    help: 'Share of files the current or last scrub of a storage element has checked (0 to 1)',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });
  readonly seScrubDamaged = new Gauge({
    name: 'artstore_se_scrub_damaged_files',
    help: 'Damaged files the current or last scrub of a storage element found (and quarantined)',
    labelNames: ['se'] as const,
    registers: [this.registry],
  });
  readonly seScrubState = new Gauge({
    name: 'artstore_se_scrub_state',
    help: 'Scrub state of a storage element: 1 for its current state (idle, running, finished, failed)',
    labelNames: ['se', 'state'] as const,
    registers: [this.registry],
  });
  readonly seHealth = new Gauge({
    name: 'artstore_se_health',
    help: 'Health of a storage element: 1 for its current status (ok, degraded, failing)',
    labelNames: ['se', 'status'] as const,
    registers: [this.registry],
  });

  readonly cacheHits = new Counter({
    name: 'artstore_cache_hits_total',
    help: 'Reads answered by a cache level (l1: this process, l2: Redis), by cache (metadata, search)',
    labelNames: ['cache', 'level'] as const,
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({
    name: 'artstore_cache_misses_total',
    help: 'Reads a cache level could not answer (passed on to the next level), by cache and level',
    labelNames: ['cache', 'level'] as const,
    registers: [this.registry],
  });
  readonly cacheErrors = new Counter({
    name: 'artstore_cache_errors_total',
    help: 'Shared-cache (Redis) operations that failed or timed out, or values that did not decode; the read went to PostgreSQL',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry });
  }
}
