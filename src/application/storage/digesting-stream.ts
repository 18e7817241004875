import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { ChunkDigests } from '../../domain/document/chunks';
import { ApplicationError } from '../errors';
import { ChunkHasher } from './chunk-digests';

/**
 * Passes bytes through while hashing and counting them (and, given a chunk size, digesting each
 * chunk of them); fails the stream once more than
 * `limit` bytes arrive, so an over-long body is refused while streaming, never after.
 */
export class DigestingStream extends Transform {
  private readonly sha256 = createHash('sha256');
  private readonly sha512: Hash | null;
  private readonly chunkHasher: ChunkHasher | null;
  bytes = 0;

  constructor(
    private readonly limit: number,
    private readonly onLimit: () => ApplicationError,
    options: { sha512?: boolean; chunkSize?: number } = {},
  ) {
    super();
    this.sha512 = options.sha512 ? createHash('sha512') : null;
    this.chunkHasher = options.chunkSize === undefined ? null : new ChunkHasher(options.chunkSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(this.onLimit());
      return;
    }
    this.sha256.update(chunk);
    this.sha512?.update(chunk);
    this.chunkHasher?.update(chunk);
    callback(null, chunk);
  }

  digests(): { sha256: string; sha512: string | null } {
    return { sha256: this.sha256.digest('hex'), sha512: this.sha512?.digest('hex') ?? null };
  }

  chunks(): ChunkDigests | null {
    return this.chunkHasher?.result() ?? null;
  }
}
