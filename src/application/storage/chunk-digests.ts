import { createHash, type Hash } from 'node:crypto';
import {
  CHUNK_DIGEST_ALGORITHM,
  CHUNK_DIGEST_BYTES,
  type ChunkDigests,
  type ChunkPlan,
} from '../../domain/document/chunks';

/** Digests stored bytes chunk by chunk as they stream past (the write side of chunks.ts). */
export class ChunkHasher {
  private readonly done: Buffer[] = [];
  private hash: Hash = createHash('sha256');
  private filled = 0;

  constructor(private readonly chunkSize: number) {}

  update(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      const piece = bytes.subarray(offset, offset + this.chunkSize - this.filled);
      this.hash.update(piece);
      this.filled += piece.length;
      offset += piece.length;
      if (this.filled === this.chunkSize) this.close();
    }
  }

  /** The digests of everything seen; call once, at the end. */
  result(): ChunkDigests {
    if (this.filled > 0) this.close();
    return {
      chunkSize: this.chunkSize,
      algorithm: CHUNK_DIGEST_ALGORITHM,
      digests: Buffer.concat(this.done).toString('base64'),
    };
  }

  private close(): void {
    this.done.push(truncated(this.hash));
    this.hash = createHash('sha256');
    this.filled = 0;
  }
}

function truncated(hash: Hash): Buffer {
  return hash.digest().subarray(0, CHUNK_DIGEST_BYTES);
}

/** The recorded digest of chunk `i`, decoding only the base64 around it (a sidecar may hold 350 KiB). */
export function digestOf(chunks: ChunkDigests, i: number): Buffer {
  const from = i * CHUNK_DIGEST_BYTES;
  const group = Math.floor(from / 3);
  const window = Buffer.from(
    chunks.digests.slice(group * 4, Math.ceil((from + CHUNK_DIGEST_BYTES) / 3) * 4),
    'base64',
  );
  const digest = window.subarray(from - group * 3, from - group * 3 + CHUNK_DIGEST_BYTES);
  if (digest.length !== CHUNK_DIGEST_BYTES) throw new ChunkDamaged(`chunk ${i} has no recorded digest`);
  return digest;
}

/** Stored bytes that do not match their chunk digests: the copy is damaged. */
export class ChunkDamaged extends Error {
  override readonly name = 'ChunkDamaged';
}

/**
 * Reads the chunk-aligned stored bytes `plan.stored` from `source`, holds each chunk until its
 * digest matches, and only then yields the part of it the plan keeps. Memory: one chunk.
 */
export async function* verifiedChunks(
  source: AsyncIterable<Buffer>,
  chunks: ChunkDigests,
  plan: ChunkPlan,
): AsyncGenerator<Buffer> {
  const total = plan.stored.end - plan.stored.start + 1;
  let chunk = plan.first;
  let read = 0;
  let parts: Buffer[] = [];
  let filled = 0;
  let hash = createHash('sha256');
  let skip = plan.skip;
  let left = plan.take;
  /** Yields the verified chunk's kept part; returns false once nothing more is wanted. */
  const release = function* (): Generator<Buffer, boolean> {
    if (!truncated(hash).equals(digestOf(chunks, chunk)))
      throw new ChunkDamaged(
        `stored chunk ${chunk} (bytes from ${chunk * chunks.chunkSize}) differs from its digest`,
      );
    for (const part of parts) {
      const from = Math.min(skip, part.length);
      const to = Math.min(part.length, from + left);
      skip -= from;
      if (to > from) {
        left -= to - from;
        yield part.subarray(from, to);
      }
    }
    chunk += 1;
    parts = [];
    filled = 0;
    hash = createHash('sha256');
    return left > 0;
  };
  for await (const bytes of source) {
    let offset = 0;
    while (offset < bytes.length) {
      if (read === total) throw new ChunkDamaged('the stored content is longer than the range read');
      const piece = bytes.subarray(offset, offset + Math.min(chunks.chunkSize - filled, total - read));
      hash.update(piece);
      parts.push(piece);
      filled += piece.length;
      read += piece.length;
      offset += piece.length;
      if ((filled === chunks.chunkSize || read === total) && !(yield* release())) return;
    }
  }
  if (read < total) throw new ChunkDamaged(`the stored content ends ${total - read} bytes early`);
}
