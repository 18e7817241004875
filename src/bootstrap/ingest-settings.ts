import type { CollectionPolicies } from '../application/ingester/collection-policy';
import type { IngestSettings } from '../application/ingester/upload-document';
import type { Config } from './config';

/** The ingester's settings from the config: limits and the per-collection policies. */
export function ingestSettings(config: Config): IngestSettings {
  const collections: CollectionPolicies = Object.fromEntries(
    Object.entries(config.collections).map(([name, c]) => [
      name,
      {
        maxUploadBytes: c.max_upload_bytes ?? null,
        allowedContentTypes: c.allowed_content_types ?? null,
        compression: c.compression ?? null,
      },
    ]),
  );
  return {
    defaultTtlDays: config.default_ttl_days,
    staleAfterMs: 3 * config.heartbeat_ms,
    replication: { temporary: config.replication_temporary, permanent: config.replication_permanent },
    maxUploadBytes: config.max_upload_bytes,
    collections,
  };
}
