/**
 * Compressed content is stored as a run of independently decodable frames (§4): frame i holds
 * the original bytes [i·frameSize, (i+1)·frameSize), the last one possibly shorter, each a
 * complete gzip member or brotli stream. The index keeps the stored size of every frame, so a
 * range of the original bytes maps to one contiguous stored range: O(range + one frame) to read.
 */
export interface FrameIndex {
  /** Original bytes per frame; the last frame may be shorter. */
  readonly frameSize: number;
  /** Stored (encoded) size of each frame, in order. Offsets are their prefix sums. */
  readonly storedSizes: readonly number[];
}

/** Inclusive byte range, as in HTTP Range (same shape as the BlobStore port's). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** What to read and decode for a range of the original bytes. */
export interface FramePlan {
  /** The frames to decode, first to last inclusive. */
  readonly first: number;
  readonly last: number;
  /** The stored bytes of those frames, one contiguous inclusive range. */
  readonly stored: Span;
  /** Stored size of each frame to decode, in order. */
  readonly storedSizes: readonly number[];
  /** Original size of each frame to decode, in order (the decoder's hard output bound). */
  readonly originalSizes: readonly number[];
  /** Bytes to drop from the start of the first decoded frame. */
  readonly skip: number;
  /** Bytes to keep in all after the skip. */
  readonly take: number;
}

export function frameCount(originalSize: number, frameSize: number): number {
  return Math.ceil(originalSize / frameSize);
}

/** Original size of frame `i` of a file of `originalSize` bytes. */
export function frameOriginalSize(originalSize: number, frameSize: number, i: number): number {
  return Math.min(frameSize, originalSize - i * frameSize);
}

/** Why an index cannot describe these sizes, or null when it is consistent. */
export function frameIndexProblem(
  index: FrameIndex,
  originalSize: number,
  storedSize: number,
): string | null {
  if (!Number.isSafeInteger(index.frameSize) || index.frameSize < 1)
    return 'frame size must be a positive integer';
  const expected = frameCount(originalSize, index.frameSize);
  if (index.storedSizes.length !== expected)
    return `${index.storedSizes.length} frames listed, ${expected} needed for ${originalSize} bytes`;
  let sum = 0;
  for (const size of index.storedSizes) {
    if (!Number.isSafeInteger(size) || size < 1) return 'every frame has a positive stored size';
    sum += size;
  }
  return sum === storedSize ? null : `frames add up to ${sum} stored bytes, not ${storedSize}`;
}

/** Stored offset of frame `i` (the sum of the stored sizes before it). */
export function storedOffset(index: FrameIndex, i: number): number {
  let offset = 0;
  for (let k = 0; k < i; k += 1) offset += index.storedSizes[k] ?? 0;
  return offset;
}

/**
 * The frames covering `range` of the original bytes (the whole file when absent), or null for an
 * empty file read whole. The range must lie inside the file; callers check that first.
 */
export function planFrames(index: FrameIndex, originalSize: number, range?: Span): FramePlan | null {
  const span = range ?? (originalSize > 0 ? { start: 0, end: originalSize - 1 } : null);
  if (span === null) return null;
  if (span.start < 0 || span.end < span.start || span.end >= originalSize)
    throw new RangeError(`range ${span.start}-${span.end} is outside 0-${originalSize - 1}`);
  const first = Math.floor(span.start / index.frameSize);
  const last = Math.floor(span.end / index.frameSize);
  const start = storedOffset(index, first);
  const storedSizes = index.storedSizes.slice(first, last + 1);
  const originalSizes: number[] = [];
  for (let i = first; i <= last; i += 1)
    originalSizes.push(frameOriginalSize(originalSize, index.frameSize, i));
  const length = storedSizes.reduce((sum, size) => sum + size, 0);
  return {
    first,
    last,
    stored: { start, end: start + length - 1 },
    storedSizes,
    originalSizes,
    skip: span.start - first * index.frameSize,
    take: span.end - span.start + 1,
  };
}
