import type { DocumentAttributes } from '../../domain/document/document';
import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { RebuildReport, StorageElementInfo } from '../../application/ports/storage-element-client';

/** The public view of a document: an allow-list, snake_case, no storage internals (§5). */
export function documentView(file: DocumentAttributes): Record<string, unknown> {
  const retention = file.retention;
  return {
    file_id: file.fileId,
    name: file.name,
    content_type: file.contentType,
    size: file.size,
    sha256: file.sha256,
    collection: file.collection,
    uploader: file.uploader,
    uploaded_at: file.uploadedAt.toISOString(),
    updated_at: file.updatedAt.toISOString(),
    description: file.description,
    tags: file.tags,
    metadata: file.metadata,
    retention_policy: retention.policy,
    ttl_days: retention.policy === 'temporary' ? retention.ttlDays : null,
    expires_at: retention.policy === 'temporary' ? retention.expiresAt.toISOString() : null,
    retain_until: retention.policy === 'permanent' ? (retention.retainUntil?.toISOString() ?? null) : null,
    legal_hold: retention.policy === 'permanent' ? retention.legalHold : false,
    status: file.status,
  };
}

export function storageElementView(se: StorageElementDescriptor): Record<string, unknown> {
  return {
    id: se.id,
    mode: se.mode,
    backend: se.backend,
    dc: se.dc,
    priority: se.priority,
    capacity_bytes: se.capacity.totalBytes,
    used_bytes: se.capacity.usedBytes,
    file_count: se.fileCount,
    last_seen_at: se.lastSeenAt.toISOString(),
  };
}

export function storageElementInfoView(info: StorageElementInfo): Record<string, unknown> {
  return {
    id: info.id,
    mode: info.mode,
    backend: info.backend,
    dc: info.dc,
    priority: info.priority,
    capacity_bytes: info.capacity.totalBytes,
    used_bytes: info.capacity.usedBytes,
    capacity_level: info.capacityLevel,
    file_count: info.fileCount,
    wal_pending: info.walPending,
    version: info.version,
  };
}

export function rebuildReportView(report: RebuildReport): Record<string, unknown> {
  return {
    scanned: report.scanned,
    indexed: report.indexed,
    removed: report.removed,
    problems: report.problems,
  };
}
