import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, gunzip, gzip } from 'node:zlib';
import type { Codec } from '../../domain/document/compression';
import type { FramePlan } from '../../domain/document/frames';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliCompressAsync = promisify(brotliCompress);
const brotliDecompressAsync = promisify(brotliDecompress);

/** Compresses one frame on the libuv thread pool (the event loop stays free). */
function encodeFrame(codec: Codec, level: number, frame: Buffer): Promise<Buffer> {
  if (codec === 'gzip') return gzipAsync(frame, { level });
  return brotliCompressAsync(frame, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: level,
      [constants.BROTLI_PARAM_SIZE_HINT]: frame.length,
    },
  });
}

/**
 * Decodes one frame with a hard output bound (the decompression-bomb guard): it may produce
 * exactly the original size the index records for it, never more.
 */
async function decodeFrame(codec: Codec, frame: Buffer, originalSize: number): Promise<Buffer> {
  let decoded: Buffer;
  try {
    const options = { maxOutputLength: originalSize };
    decoded = await (codec === 'gzip' ? gunzipAsync(frame, options) : brotliDecompressAsync(frame, options));
  } catch (error) {
    throw new FrameDamaged(`a ${codec} frame does not decode (${(error as Error).message})`);
  }
  if (decoded.length !== originalSize)
    throw new FrameDamaged(`a ${codec} frame decodes to ${decoded.length} bytes, not ${originalSize}`);
  return decoded;
}

/** The stored frames do not decode to what their index says: the copy is damaged. */
export class FrameDamaged extends Error {
  override readonly name = 'FrameDamaged';
}

/**
 * Cuts the original bytes into frames of `frameSize` and emits each as a complete gzip member or
 * brotli stream, recording their stored sizes. Holds at most one frame of input at a time.
 */
export class FrameEncoder extends Transform {
  readonly storedSizes: number[] = [];
  private parts: Buffer[] = [];
  private pending = 0;

  constructor(
    private readonly codec: Codec,
    private readonly level: number,
    private readonly frameSize: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.accept(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    (this.pending > 0 ? this.emitFrame() : Promise.resolve()).then(() => callback(), callback);
  }

  private async accept(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const piece = chunk.subarray(offset, offset + this.frameSize - this.pending);
      this.parts.push(piece);
      this.pending += piece.length;
      offset += piece.length;
      if (this.pending === this.frameSize) await this.emitFrame();
    }
  }

  private async emitFrame(): Promise<void> {
    const frame = Buffer.concat(this.parts, this.pending);
    this.parts = [];
    this.pending = 0;
    const encoded = await encodeFrame(this.codec, this.level, frame);
    this.storedSizes.push(encoded.length);
    this.push(encoded);
  }
}

/**
 * Turns the stored bytes of the frames in `plan` back into the original bytes it asks for,
 * one frame at a time: memory holds one stored and one decoded frame, whatever the range.
 */
export async function* decodeFrames(
  stored: AsyncIterable<Buffer>,
  codec: Codec,
  plan: FramePlan,
): AsyncGenerator<Buffer> {
  let frame = 0;
  let parts: Buffer[] = [];
  let have = 0;
  let skip = plan.skip;
  let left = plan.take;
  for await (const chunk of stored) {
    let offset = 0;
    while (offset < chunk.length) {
      const storedSize = plan.storedSizes[frame];
      if (storedSize === undefined) throw new FrameDamaged('the stored content is longer than its frames');
      const piece = chunk.subarray(offset, offset + storedSize - have);
      parts.push(piece);
      have += piece.length;
      offset += piece.length;
      if (have < storedSize) continue;
      const decoded = await decodeFrame(codec, Buffer.concat(parts, have), plan.originalSizes[frame]!);
      frame += 1;
      parts = [];
      have = 0;
      const end = Math.min(decoded.length, skip + left);
      if (end > skip) {
        left -= end - skip;
        yield decoded.subarray(skip, end);
      }
      skip = 0;
    }
  }
  if (frame < plan.storedSizes.length) throw new FrameDamaged('the stored content ends inside a frame');
}
