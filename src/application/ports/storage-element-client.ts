import type { Readable } from 'node:stream';
import type { DocumentAttributes, DocumentDraft } from '../../domain/document/document';
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

export interface StorageElementInfo {
  readonly id: string;
  readonly mode: StorageMode;
  readonly backend: BlobBackend;
  readonly dc: string;
  readonly priority: number;
  readonly capacity: Capacity;
  /** How full it is for its mode (warning / critical / full thresholds). */
  readonly capacityLevel: CapacityLevel;
  readonly fileCount: number;
  readonly walPending: number;
  readonly version: string;
}

export interface OpenedContent {
  /** Size and SHA-256 of the whole stored object, as the SE records them. */
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
 * The storage role's boundary (§2): one storage element's use cases. In one process the SE
 * service implements it directly; across processes an HTTP client does (chosen in bootstrap).
 */
export interface StorageElementClient {
  readonly id: string;
  /** Stores a new document; refuses before reading a byte when mode or known size forbid it. */
  put(draft: DocumentDraft, content: Readable, expect: ContentExpectations): Promise<DocumentAttributes>;
  head(fileId: string): Promise<DocumentAttributes>;
  open(fileId: string, range?: ByteRange): Promise<OpenedContent>;
  delete(fileId: string): Promise<void>;
  /** Undoes this caller's own create when a later step failed; ignores retention and mode. */
  discard(fileId: string): Promise<void>;
  info(): Promise<StorageElementInfo>;
  listAttributes(options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>>;
  rebuild(): Promise<RebuildReport>;
  changeMode(to: StorageMode, confirmed: boolean): Promise<StorageElementInfo>;
}

/** Finds the client for a storage element by id (local or remote: the caller does not know). */
export interface StorageElementDirectory {
  client(seId: string): StorageElementClient;
}
