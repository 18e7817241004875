import type { Span } from './frames';

/**
 * The stored bytes are covered chunk by chunk (§4): chunk i holds the stored bytes
 * [i·chunkSize, (i+1)·chunkSize), the last one possibly shorter, and its digest is recorded at
 * write time. A read checks every chunk it touches before any byte of it leaves the SE, so a
 * Range of a large copy costs at most two extra chunk reads, never a whole-file hash.
 *
 * 256 KiB: a 64 KiB Range reads and hashes at most 512 KiB; a 4 GiB file has 16 384 chunks,
 * 256 KiB of digests (16 bytes each), about 350 KiB of base64 in its sidecar.
 */
export const CHUNK_SIZE = 256 * 1024;

/** SHA-256 truncated to its first 16 bytes: ample against accidental damage of one chunk. */
export const CHUNK_DIGEST_ALGORITHM = 'sha256-128';
export const CHUNK_DIGEST_BYTES = 16;

export interface ChunkDigests {
  readonly chunkSize: number;
  readonly algorithm: typeof CHUNK_DIGEST_ALGORITHM;
  /** The digests of every chunk in order, concatenated, base64 (as in the sidecar). */
  readonly digests: string;
}

/** What to read and check for a span of the stored bytes. */
export interface ChunkPlan {
  readonly first: number;
  /** The stored bytes of the chunks covering the span, chunk-aligned, inclusive. */
  readonly stored: Span;
  /** Bytes to drop from the first chunk, then bytes to keep in all. */
  readonly skip: number;
  readonly take: number;
}

export function chunkCount(storedSize: number, chunkSize: number): number {
  return Math.ceil(storedSize / chunkSize);
}

/** Why these digests cannot describe `storedSize` bytes, or null when they can. */
export function chunkDigestsProblem(
  chunks: { chunkSize: number; digestBytes: number },
  storedSize: number,
): string | null {
  if (!Number.isSafeInteger(chunks.chunkSize) || chunks.chunkSize < 1)
    return 'chunk size must be a positive integer';
  const expected = chunkCount(storedSize, chunks.chunkSize) * CHUNK_DIGEST_BYTES;
  return chunks.digestBytes === expected
    ? null
    : `${chunks.digestBytes} digest bytes, ${expected} needed for ${storedSize} stored bytes`;
}

/** The chunks covering `span` of the stored bytes (which must lie inside them). */
export function planChunks(chunkSize: number, storedSize: number, span: Span): ChunkPlan {
  if (span.start < 0 || span.end < span.start || span.end >= storedSize)
    throw new RangeError(`stored range ${span.start}-${span.end} is outside 0-${storedSize - 1}`);
  const first = Math.floor(span.start / chunkSize);
  const last = Math.floor(span.end / chunkSize);
  const start = first * chunkSize;
  return {
    first,
    stored: { start, end: Math.min(storedSize, (last + 1) * chunkSize) - 1 },
    skip: span.start - start,
    take: span.end - span.start + 1,
  };
}
