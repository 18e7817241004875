import type { Readable } from 'node:stream';
import type { AttributeChange } from '../../domain/document/attribute-change';
import type { DocumentAttributes, DocumentDraft, StoredEncoding } from '../../domain/document/document';
import type { BlobBackend, Capacity } from '../../domain/storage-element/storage-element';
import type { CapacityLevel } from '../../domain/storage-element/capacity-level';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';
import type { ByteRange } from './blob-store';
import type { Page } from './file-index';

/** What the sender knows about the content before it arrives; every known fact is verified. */
export interface ContentExpectations {
  readonly size: number | null;
  /** Lower-case hex. */
  readonly sha256?: string | undefined;
  readonly sha512?: string | undefined;
}

/** How the SE is to store the original bytes it receives (default: identity, as they are). */
export interface PutOptions {
  readonly encoding: StoredEncoding;
  /** The codec's level; its default level when absent (domain/document/compression.ts). */
  readonly level?: number;
}

export const HEALTH_STATUSES = ['ok', 'degraded', 'failing'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface StorageElementHealth {
  readonly status: HealthStatus;
  /** Why it is not ok, one sentence each. */
  readonly problems: readonly string[];
}

export const SCRUB_STATES = ['idle', 'running', 'finished', 'failed'] as const;
export type ScrubState = (typeof SCRUB_STATES)[number];

/** Progress and outcome of the SE's current or last scrub (a long job, §7). */
export interface ScrubStatus {
  readonly state: ScrubState;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly rateBytesPerSecond: number | null;
  readonly filesTotal: number;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly failureCount: number;
  /** The first damaged files found (at most 100). */
  readonly failures: readonly { readonly fileId: string; readonly problem: string }[];
  /** Why the scrub itself stopped, when it failed. */
  readonly error: string | null;
}

export const RECONCILE_FINDINGS = [
  'orphan_blob',
  'missing_blob',
  'size_mismatch',
  'checksum_mismatch',
  'corrupt_sidecar',
  'leftover_tombstone',
  'missing_row',
  'stale_row',
  'stale_temp',
] as const;
export type ReconcileFindingKind = (typeof RECONCILE_FINDINGS)[number];

export interface ReconcileFinding {
  readonly kind: ReconcileFindingKind;
  readonly key: string | null;
  readonly fileId: string | null;
  readonly detail: string;
  /** What reconcile did: fixed it, moved it to quarantine, removed leftovers, or only reported it. */
  readonly action: 'repaired' | 'quarantined' | 'removed' | 'reported';
}

export interface ReconcileOptions {
  /** Repair what can safely be repaired; false only reports. */
  readonly repair: boolean;
  /** Re-hash every blob too (as scrub does), not only compare sizes. */
  readonly checksums: boolean;
}

export interface ReconcileReport {
  readonly repair: boolean;
  readonly checksums: boolean;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly scanned: { readonly objects: number; readonly sidecars: number; readonly rows: number };
  readonly counts: Readonly<Record<ReconcileFindingKind, number>>;
  /** The findings, the first 1 000 of them. */
  readonly findings: readonly ReconcileFinding[];
  readonly truncated: boolean;
}

export interface StorageElementInfo {
  readonly id: string;
  readonly mode: StorageMode;
  /** While a gated transition waits (draining writes, scrubbing): the mode it moves to. */
  readonly pendingMode: StorageMode | null;
  readonly backend: BlobBackend;
  readonly dc: string;
  readonly priority: number;
  readonly capacity: Capacity;
  /** How full it is for its mode (warning / critical / full thresholds). */
  readonly capacityLevel: CapacityLevel;
  readonly fileCount: number;
  readonly walPending: number;
  readonly health: StorageElementHealth;
  readonly scrub: ScrubStatus;
  readonly version: string;
}

export interface OpenedContent {
  /**
   * Size and SHA-256 of what the stream carries when read whole: the original bytes (for
   * identity content the same as the stored object). A range is in these coordinates.
   */
  readonly size: number;
  readonly sha256: string;
  readonly range: ByteRange | null;
  readonly stream: Readable;
}

export interface RebuildReport {
  readonly scanned: number;
  readonly indexed: number;
  readonly removed: number;
  readonly problems: readonly { key: string; problem: string }[];
}

/**
 * Preconditions of an attribute update. With `targetAttrVersion` the call is safe to retry (a
 * saga step): a sidecar already at that version and showing the change answers as done (the
 * cache row is brought in line) instead of applying it twice; a sidecar at `target - 1` gets the
 * change; any other version is `attr_version_mismatch`.
 */
export interface UpdateOptions {
  /** Refuses with `attr_version_mismatch` unless the sidecar is at this version. */
  readonly ifAttrVersion?: number | undefined;
  /** The version the change produces (the current one + 1). */
  readonly targetAttrVersion?: number | undefined;
}

/**
 * The storage role's boundary (§2): one storage element's use cases. In one process the SE
 * service implements it directly; across processes an HTTP client does (chosen in bootstrap).
 */
export interface StorageElementClient {
  readonly id: string;
  /**
   * Stores a new document; refuses before reading a byte when mode or known size forbid it.
   * `content` and `expect` are the original bytes; `options` says how to encode them on disk.
   */
  put(
    draft: DocumentDraft,
    content: Readable,
    expect: ContentExpectations,
    options?: PutOptions,
  ): Promise<DocumentAttributes>;
  head(fileId: string): Promise<DocumentAttributes>;
  /** The original bytes (decoded when stored compressed), or a range of them. */
  open(fileId: string, range?: ByteRange): Promise<OpenedContent>;
  /**
   * The whole original content for a restore job, verified like a whole `open`: served in every
   * mode, `ar` included, where `open` refuses content until a restored copy exists (§3.3).
   */
  openForRestore(fileId: string): Promise<OpenedContent>;
  /**
   * The whole stored bytes as they are on disk (a compressed file's frames, not decoded), verified
   * like a whole `open`; `size` and `sha256` describe the stored bytes. For passing a file stored
   * gzip through to a client that accepts gzip (§3.4); `range` (of the stored bytes) continues
   * such a transfer on another copy holding the same stored bytes.
   */
  openStored(fileId: string, range?: ByteRange): Promise<OpenedContent>;
  delete(fileId: string): Promise<void>;
  /**
   * Changes a file's attributes: the sidecar first, then the SE cache; `attr_version` + 1.
   * Description, tags and metadata need a mode that allows `update metadata` (edit, rw); a legal
   * hold and a later retain_until are retention controls, allowed in every mode.
   */
  update(fileId: string, change: AttributeChange, options?: UpdateOptions): Promise<DocumentAttributes>;
  /** Undoes this caller's own create when a later step failed; ignores retention and mode. */
  discard(fileId: string): Promise<void>;
  info(): Promise<StorageElementInfo>;
  listAttributes(options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>>;
  rebuild(): Promise<RebuildReport>;
  changeMode(to: StorageMode, confirmed: boolean): Promise<StorageElementInfo>;
  /** Compares blobs, sidecars and the SE cache; repairs what it safely can when asked. */
  reconcile(options: ReconcileOptions): Promise<ReconcileReport>;
  /** Starts a scrub in the background (conflict when one runs); its status right after. */
  startScrub(options: { rateBytesPerSecond: number | null }): Promise<ScrubStatus>;
  scrubStatus(): Promise<ScrubStatus>;
}

/** Finds the client for a storage element by id (local or remote: the caller does not know). */
export interface StorageElementDirectory {
  client(seId: string): StorageElementClient;
}
