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

  constructor(labels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry });
  }
}
