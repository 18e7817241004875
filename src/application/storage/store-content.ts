import { pipeline, type Readable } from 'node:stream';
import { CHUNK_SIZE } from '../../domain/document/chunks';
import { DEFAULT_LEVELS, FRAME_SIZE } from '../../domain/document/compression';
import type { StoredBytes } from '../../domain/document/document';
import type { ApplicationError } from '../errors';
import type { BlobStore } from '../ports/blob-store';
import type { PutOptions } from '../ports/storage-element-client';
import { DigestingStream } from './digesting-stream';
import { FrameEncoder } from './framed-codec';

export interface StoredContent {
  /** The original bytes as received (what expectations are checked against). */
  readonly original: { readonly size: number; readonly sha256: string; readonly sha512: string | null };
  readonly stored: Omit<StoredBytes, 'key'>;
}

/**
 * Streams the original bytes into the blob under `key`, as they are or compressed in frames,
 * hashing both sides and digesting the stored bytes chunk by chunk (chunks.ts). `limit` bounds the STORED bytes (capacity counts what the medium holds).
 */
export async function storeContent(
  blobs: BlobStore,
  key: string,
  content: Readable,
  options: { limit: number; onLimit: () => ApplicationError; sha512: boolean; put?: PutOptions },
): Promise<StoredContent> {
  const encoding = options.put?.encoding ?? 'identity';
  if (encoding === 'identity') {
    const digesting = new DigestingStream(options.limit, options.onLimit, {
      sha512: options.sha512,
      chunkSize: CHUNK_SIZE,
    });
    const { size } = await blobs.put(
      key,
      pipeline(content, digesting, () => undefined),
    );
    const original = { size, ...digesting.digests() };
    return {
      original,
      stored: { encoding, size, sha256: original.sha256, frames: null, chunks: digesting.chunks() },
    };
  }
  const original = new DigestingStream(Number.MAX_SAFE_INTEGER, options.onLimit, {
    sha512: options.sha512,
  });
  const encoder = new FrameEncoder(encoding, options.put?.level ?? DEFAULT_LEVELS[encoding], FRAME_SIZE);
  const stored = new DigestingStream(options.limit, options.onLimit, { chunkSize: CHUNK_SIZE });
  const { size } = await blobs.put(
    key,
    pipeline(content, original, encoder, stored, () => undefined),
  );
  return {
    original: { size: original.bytes, ...original.digests() },
    stored: {
      encoding,
      size,
      sha256: stored.digests().sha256,
      frames: { frameSize: FRAME_SIZE, storedSizes: encoder.storedSizes },
      chunks: stored.chunks(),
    },
  };
}
