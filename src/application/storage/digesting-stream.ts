import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ApplicationError } from '../errors';

/**
 * Passes bytes through while hashing and counting them; fails the stream once more than
 * `limit` bytes arrive, so an over-long body is refused while streaming, never after.
 */
export class DigestingStream extends Transform {
  private readonly sha256 = createHash('sha256');
  private readonly sha512: Hash | null;
  bytes = 0;

  constructor(
    private readonly limit: number,
    private readonly onLimit: () => ApplicationError,
    options: { sha512?: boolean } = {},
  ) {
    super();
    this.sha512 = options.sha512 ? createHash('sha512') : null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(this.onLimit());
      return;
    }
    this.sha256.update(chunk);
    this.sha512?.update(chunk);
    callback(null, chunk);
  }

  digests(): { sha256: string; sha512: string | null } {
    return { sha256: this.sha256.digest('hex'), sha512: this.sha512?.digest('hex') ?? null };
  }
}
