import { CAPACITY_LEVELS } from '../../domain/storage-element/capacity-level';
import { z } from 'zod';
import type { AttributeChange } from '../../domain/document/attribute-change';
import { levelProblem } from '../../domain/document/compression';
import { STORED_ENCODINGS, type DocumentDraft } from '../../domain/document/document';
import type { PutOptions } from '../../application/ports/storage-element-client';
import {
  HEALTH_STATUSES,
  RECONCILE_FINDINGS,
  SCRUB_STATES,
  type ReconcileReport,
  type ScrubStatus,
  type StorageElementInfo,
  type UpdateOptions,
} from '../../application/ports/storage-element-client';
import { BLOB_BACKENDS } from '../../domain/storage-element/storage-element';
import { STORAGE_MODES } from '../../domain/storage-mode/storage-mode';

/**
 * The storage element's internal HTTP API carries documents in the sidecar's JSON form
 * (JsonSidecarCodec.toDocument) and a new document's draft as one JSON line before its content.
 */
export const INTERNAL_PREFIX = '/internal/v1/storage-elements';
export const MAX_DRAFT_BYTES = 1024 * 1024;
/** Attribute changes carry up to 64 metadata entries of 4 KiB and more: room for JSON escaping. */
export const MAX_ATTRIBUTES_KIB = 1024;

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const draftSchema = z.object({
  file_id: z.uuid(),
  name: z.string().min(1),
  original_name: z.string().nullable().default(null),
  content_type: z.string().min(1),
  sniffed_content_type: z.string().nullable().default(null),
  collection: z.string().min(1),
  uploader: z.string(),
  uploaded_at: isoDate,
  description: z.string().nullable(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.string()),
  retention: z.discriminatedUnion('policy', [
    z.object({ policy: z.literal('temporary'), ttl_days: z.number().int(), expires_at: isoDate }),
    z.object({ policy: z.literal('permanent'), retain_until: isoDate.nullable(), legal_hold: z.boolean() }),
  ]),
  attr_version: z.number().int().min(1).optional(),
});

/** How the SE is to store a new document's bytes: `ArtStore-Stored-Encoding` / `-Level` headers. */
export const putOptionsHeaders = z
  .object({
    'artstore-stored-encoding': z.enum(STORED_ENCODINGS).default('identity'),
    'artstore-stored-level': z.coerce.number().int().optional(),
  })
  .superRefine((h, ctx) => {
    const problem = levelProblem(h['artstore-stored-encoding'], h['artstore-stored-level']);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: ['artstore-stored-level'] });
  })
  .transform((h): PutOptions =>
    h['artstore-stored-level'] === undefined
      ? { encoding: h['artstore-stored-encoding'] }
      : { encoding: h['artstore-stored-encoding'], level: h['artstore-stored-level'] },
  );

export function putOptionsToHeaders(options: PutOptions | undefined): Record<string, string> {
  if (!options || options.encoding === 'identity') return {};
  return {
    'artstore-stored-encoding': options.encoding,
    ...(options.level === undefined ? {} : { 'artstore-stored-level': String(options.level) }),
  };
}

export function encodeDraft(draft: DocumentDraft): string {
  const r = draft.retention;
  return JSON.stringify({
    file_id: draft.fileId,
    name: draft.name,
    original_name: draft.originalName,
    content_type: draft.contentType,
    sniffed_content_type: draft.sniffedContentType,
    collection: draft.collection,
    uploader: draft.uploader,
    uploaded_at: draft.uploadedAt.toISOString(),
    description: draft.description,
    tags: draft.tags,
    metadata: draft.metadata,
    retention:
      r.policy === 'temporary'
        ? { policy: r.policy, ttl_days: r.ttlDays, expires_at: r.expiresAt.toISOString() }
        : { policy: r.policy, retain_until: r.retainUntil?.toISOString() ?? null, legal_hold: r.legalHold },
    ...(draft.attrVersion === undefined ? {} : { attr_version: draft.attrVersion }),
  });
}

export function decodeDraft(line: string): DocumentDraft {
  const d = draftSchema.parse(JSON.parse(line));
  return {
    fileId: d.file_id,
    name: d.name,
    originalName: d.original_name,
    contentType: d.content_type,
    sniffedContentType: d.sniffed_content_type,
    collection: d.collection,
    uploader: d.uploader,
    uploadedAt: d.uploaded_at,
    description: d.description,
    tags: d.tags,
    metadata: d.metadata,
    retention:
      d.retention.policy === 'temporary'
        ? { policy: 'temporary', ttlDays: d.retention.ttl_days, expiresAt: d.retention.expires_at }
        : { policy: 'permanent', retainUntil: d.retention.retain_until, legalHold: d.retention.legal_hold },
    ...(d.attr_version === undefined ? {} : { attrVersion: d.attr_version }),
  };
}

/** An attribute change on the internal API (`PATCH …/files/:id`); see StorageElementClient.update. */
export const attributeUpdate = z.strictObject({
  change: z.strictObject({
    description: z.string().nullable().optional(),
    tags: z.array(z.string()).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    legal_hold: z.boolean().optional(),
    retain_until: isoDate.optional(),
  }),
  if_attr_version: z.number().int().positive().optional(),
  target_attr_version: z.number().int().positive().optional(),
});

export function encodeAttributeUpdate(change: AttributeChange, options: UpdateOptions): unknown {
  return {
    change: {
      description: change.description,
      tags: change.tags,
      metadata: change.metadata,
      legal_hold: change.legalHold,
      retain_until: change.retainUntil?.toISOString(),
    },
    if_attr_version: options.ifAttrVersion,
    target_attr_version: options.targetAttrVersion,
  };
}

export function decodeAttributeUpdate(body: z.infer<typeof attributeUpdate>): {
  change: AttributeChange;
  options: UpdateOptions;
} {
  const c = body.change;
  return {
    change: {
      description: c.description,
      tags: c.tags,
      metadata: c.metadata,
      legalHold: c.legal_hold,
      retainUntil: c.retain_until,
    },
    options: { ifAttrVersion: body.if_attr_version, targetAttrVersion: body.target_attr_version },
  };
}

/** Request bodies the admin API and the SE's internal API share (the admin passes them on). */
export const modeChange = z.strictObject({
  mode: z.enum(STORAGE_MODES),
  confirm: z.boolean().default(false),
});
export const reconcileRequest = z.strictObject({
  repair: z.boolean().default(false),
  checksums: z.boolean().default(false),
});
export const scrubRequest = z.strictObject({
  rate_bytes_per_second: z.number().int().min(1024).nullable().default(null),
});

const dateOrNull = isoDate.nullable();

export const scrubSchema = z
  .object({
    state: z.enum(SCRUB_STATES),
    started_at: dateOrNull,
    finished_at: dateOrNull,
    rate_bytes_per_second: z.number().nullable(),
    files_total: z.number(),
    files_checked: z.number(),
    bytes_checked: z.number(),
    failure_count: z.number(),
    failures: z.array(z.object({ file_id: z.string(), problem: z.string() })),
    error: z.string().nullable(),
  })
  .transform((s): ScrubStatus => ({
    state: s.state,
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    rateBytesPerSecond: s.rate_bytes_per_second,
    filesTotal: s.files_total,
    filesChecked: s.files_checked,
    bytesChecked: s.bytes_checked,
    failureCount: s.failure_count,
    failures: s.failures.map((f) => ({ fileId: f.file_id, problem: f.problem })),
    error: s.error,
  }));

export const reconcileSchema = z
  .object({
    repair: z.boolean(),
    checksums: z.boolean(),
    started_at: isoDate,
    finished_at: isoDate,
    scanned: z.object({ objects: z.number(), sidecars: z.number(), rows: z.number() }),
    counts: z.record(z.enum(RECONCILE_FINDINGS), z.number()),
    findings: z.array(
      z.object({
        kind: z.enum(RECONCILE_FINDINGS),
        key: z.string().nullable(),
        file_id: z.string().nullable(),
        detail: z.string(),
        action: z.enum(['repaired', 'quarantined', 'removed', 'reported']),
      }),
    ),
    truncated: z.boolean(),
  })
  .transform((r): ReconcileReport => ({
    repair: r.repair,
    checksums: r.checksums,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    scanned: r.scanned,
    counts: r.counts,
    findings: r.findings.map((f) => ({
      kind: f.kind,
      key: f.key,
      fileId: f.file_id,
      detail: f.detail,
      action: f.action,
    })),
    truncated: r.truncated,
  }));

export const infoSchema = z
  .object({
    id: z.string(),
    mode: z.enum(STORAGE_MODES),
    pending_mode: z.enum(STORAGE_MODES).nullable(),
    backend: z.enum(BLOB_BACKENDS),
    dc: z.string(),
    priority: z.number(),
    capacity_bytes: z.number(),
    used_bytes: z.number(),
    capacity_level: z.enum(CAPACITY_LEVELS),
    file_count: z.number(),
    wal_pending: z.number(),
    health: z.object({ status: z.enum(HEALTH_STATUSES), problems: z.array(z.string()) }),
    scrub: scrubSchema,
    version: z.string(),
  })
  .transform((i): StorageElementInfo => ({
    id: i.id,
    mode: i.mode,
    pendingMode: i.pending_mode,
    backend: i.backend,
    dc: i.dc,
    priority: i.priority,
    capacity: { totalBytes: i.capacity_bytes, usedBytes: i.used_bytes },
    capacityLevel: i.capacity_level,
    fileCount: i.file_count,
    walPending: i.wal_pending,
    health: i.health,
    scrub: i.scrub,
    version: i.version,
  }));
