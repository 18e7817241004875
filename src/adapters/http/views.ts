import type { DocumentAttributes } from '../../domain/document/document';
import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { FixityCheck } from '../../application/ports/fixity-log';
import { scrubProgress } from '../../application/storage/scrub';
import type {
  RebuildReport,
  ReconcileReport,
  ScrubStatus,
  StorageElementInfo,
} from '../../application/ports/storage-element-client';

/** The public view of a document: an allow-list, snake_case, no storage internals (§5). */
export function documentView(file: DocumentAttributes): Record<string, unknown> {
  const retention = file.retention;
  return {
    file_id: file.fileId,
    name: file.name,
    original_name: file.originalName,
    content_type: file.contentType,
    sniffed_content_type: file.sniffedContentType,
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
    attr_version: file.attrVersion,
    // How the bytes are kept (ratio = stored_size ÷ size); downloads always return the original.
    stored_encoding: file.stored.encoding,
    stored_size: file.stored.size,
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
    pending_mode: info.pendingMode,
    backend: info.backend,
    dc: info.dc,
    priority: info.priority,
    capacity_bytes: info.capacity.totalBytes,
    used_bytes: info.capacity.usedBytes,
    capacity_level: info.capacityLevel,
    file_count: info.fileCount,
    wal_pending: info.walPending,
    health: { status: info.health.status, problems: info.health.problems },
    scrub: scrubStatusView(info.scrub),
    version: info.version,
  };
}

const isoOrNull = (date: Date | null): string | null => date?.toISOString() ?? null;

export function scrubStatusView(scrub: ScrubStatus): Record<string, unknown> {
  return {
    state: scrub.state,
    started_at: isoOrNull(scrub.startedAt),
    finished_at: isoOrNull(scrub.finishedAt),
    rate_bytes_per_second: scrub.rateBytesPerSecond,
    files_total: scrub.filesTotal,
    files_checked: scrub.filesChecked,
    bytes_checked: scrub.bytesChecked,
    progress: scrubProgress(scrub),
    failure_count: scrub.failureCount,
    failures: scrub.failures.map((f) => ({ file_id: f.fileId, problem: f.problem })),
    error: scrub.error,
  };
}

export function reconcileReportView(report: ReconcileReport): Record<string, unknown> {
  return {
    repair: report.repair,
    checksums: report.checksums,
    started_at: report.startedAt.toISOString(),
    finished_at: report.finishedAt.toISOString(),
    scanned: report.scanned,
    counts: report.counts,
    findings: report.findings.map((f) => ({
      kind: f.kind,
      key: f.key,
      file_id: f.fileId,
      detail: f.detail,
      action: f.action,
    })),
    truncated: report.truncated,
  };
}

export function fixityCheckView(check: FixityCheck): Record<string, unknown> {
  return {
    storage_element: check.seId,
    checked_at: check.checkedAt.toISOString(),
    result: check.ok ? 'ok' : 'failed',
    detail: check.detail,
    trigger: check.trigger,
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
