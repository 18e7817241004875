import { prng } from '../../bench/documents';
import { FRAME_SIZE } from '../../src/domain/document/compression';

/** mulberry32: deterministic pseudo-random numbers for test content (the bench's generator). */
export const seeded = prng;

const WORDS =
  'the archive keeps документы for a defined time record retention хранение срок access report'.split(' ');

/** Compressible, document-like UTF-8 text of exactly `bytes` bytes, the same for the same seed. */
export function documentText(bytes: number, seed = 1): Buffer {
  const rand = seeded(seed);
  const parts: string[] = [];
  let length = 0;
  for (let line = 0; length < bytes; line += 1) {
    const words = Array.from(
      { length: 4 + Math.floor(rand() * 12) },
      () => WORDS[Math.floor(rand() * WORDS.length)],
    );
    const text = `${line} ${words.join(' ')} ${Math.floor(rand() * 1e6)}\n`;
    parts.push(text);
    length += Buffer.byteLength(text);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/** Ranges worth reading from a file of `size` bytes: edges, frame boundaries and seeded random ones. */
export function interestingRanges(size: number, count: number, seed = 7): { start: number; end: number }[] {
  const rand = seeded(seed);
  const ranges = [
    { start: 0, end: 0 },
    { start: size - 1, end: size - 1 },
    { start: 0, end: size - 1 },
    { start: 1, end: size - 2 },
  ];
  for (let boundary = FRAME_SIZE; boundary < size; boundary += FRAME_SIZE) {
    ranges.push({ start: boundary - 1, end: boundary });
    ranges.push({ start: boundary, end: boundary });
    ranges.push({ start: boundary - 1, end: boundary - 1 });
    ranges.push({ start: boundary - 100, end: Math.min(size - 1, boundary + FRAME_SIZE + 100) });
  }
  for (let i = 0; i < count; i += 1) {
    const start = Math.floor(rand() * size);
    const length = rand() < 0.5 ? 1 + Math.floor(rand() * 100) : 1 + Math.floor(rand() * 3 * FRAME_SIZE);
    ranges.push({ start, end: Math.min(size - 1, start + length - 1) });
  }
  return ranges;
}
