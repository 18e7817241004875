import type { Retention } from '../retention/retention';
import type { ChunkDigests } from './chunks';
import type { FrameIndex } from './frames';

export type { FrameIndex } from './frames';

/** ARCHITECTURE §3.1. */
export const FILE_STATUSES = ['active', 'deleted', 'expired'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

export const STORED_ENCODINGS = ['identity', 'gzip', 'br'] as const;
export type StoredEncoding = (typeof STORED_ENCODINGS)[number];

export const DEFAULT_COLLECTION = 'default';

/**
 * How the bytes are kept on a storage element (the original bytes are described on the document).
 * Size and SHA-256 here are of the stored bytes: what scrub, reconcile and capacity count.
 */
export interface StoredBytes {
  readonly key: string;
  readonly encoding: StoredEncoding;
  readonly size: number;
  readonly sha256: string;
  /** The frame index of compressed content; null for identity. */
  readonly frames: FrameIndex | null;
  /** Digests of the stored bytes chunk by chunk; null for content written before they existed. */
  readonly chunks: ChunkDigests | null;
}

/** What the ingester decides about a new document before any byte is stored. */
export interface DocumentDraft {
  readonly fileId: string;
  /** The sanitised name (file-name.ts). */
  readonly name: string;
  /** The name the client sent, when sanitising changed it; null when it was kept as sent. */
  readonly originalName: string | null;
  /** As declared by the client. */
  readonly contentType: string;
  /** As recognised from the first bytes; null when the content has no known signature. */
  readonly sniffedContentType: string | null;
  readonly collection: string;
  readonly uploader: string;
  readonly uploadedAt: Date;
  readonly description: string | null;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly retention: Retention;
  /**
   * The sidecar version a new copy starts at: absent (1) for a new document; a copy of an existing
   * one that changes it (finalize) continues its count, so `attr_version` never goes back.
   */
  readonly attrVersion?: number | undefined;
}

/**
 * A stored document: the content of its `*.attr.json` sidecar, the single source of truth (§4).
 * Size and SHA-256 describe the original bytes.
 */
export interface DocumentAttributes extends DocumentDraft {
  readonly size: number;
  readonly sha256: string;
  readonly stored: StoredBytes;
  readonly status: FileStatus;
  readonly updatedAt: Date;
  /** Incremented on every metadata change of the sidecar. */
  readonly attrVersion: number;
}

export function completeDocument(
  draft: DocumentDraft,
  bytes: { size: number; sha256: string; key: string },
  now: Date,
  /** How the bytes were stored, when not as they are. */
  stored?: Omit<StoredBytes, 'key'>,
): DocumentAttributes {
  return {
    ...draft,
    size: bytes.size,
    sha256: bytes.sha256,
    stored: stored
      ? { key: bytes.key, ...stored }
      : {
          key: bytes.key,
          encoding: 'identity',
          size: bytes.size,
          sha256: bytes.sha256,
          frames: null,
          chunks: null,
        },
    status: 'active',
    updatedAt: now,
    attrVersion: draft.attrVersion ?? 1,
  };
}

const COLLECTION_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/u;

export function isValidCollection(name: string): boolean {
  return COLLECTION_PATTERN.test(name);
}
