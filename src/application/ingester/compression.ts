import { deflateRawSync } from 'node:zlib';
import { DEFAULT_LEVELS, type CompressionPolicy } from '../../domain/document/compression';
import type { StoredEncoding } from '../../domain/document/document';

/** How much of the content `auto` samples (peekStream's head). */
export const SAMPLE_BYTES = 64 * 1024;

/**
 * Below this the whole file is smaller than a frame's overhead is worth: a few hundred bytes
 * saved at best, against a frame index in the sidecar and a decode on every read.
 */
const MIN_COMPRESSIBLE_BYTES = 1024;

/** A sample that deflate-1 cannot shrink below this share of its size is stored as it is. */
const MAX_SAMPLE_RATIO = 0.9;
/** A sample this random (bits per byte) is stored as it is without trying deflate on it. */
const NO_DEFLATE_ENTROPY_BITS = 7.5;

/**
 * `auto`'s codec and level, chosen from bench/codecs.ts on this machine (bench/README.md,
 * "Compression"): brotli 1 encodes document-like content at 2–3× the speed of gzip 1 (about
 * 100–150 MB/s on one core) to the ratio of gzip 3 (0.24 against 0.25). It runs on every upload's
 * hot path, so speed wins over the last few per cent of ratio; ask for `br` or `gzip` for more.
 */
export const AUTO: { readonly encoding: StoredEncoding; readonly level: number } = {
  encoding: 'br',
  level: 1,
};

/** Media types whose bytes are already compressed: recompressing them costs CPU for nothing. */
const COMPRESSED_TYPES = new Set([
  'application/zip',
  'application/gzip',
  'application/x-gzip',
  'application/x-7z-compressed',
  'application/x-xz',
  'application/zstd',
  'application/x-zstd',
  'application/x-rar-compressed',
  'application/vnd.rar',
  'application/x-bzip2',
  'application/x-lzip',
  'application/x-lzma',
  'application/x-compress',
  'application/java-archive',
  'application/epub+zip',
  'application/vnd.android.package-archive',
  'application/vnd.ms-cab-compressed',
  'application/x-apple-diskimage',
  'font/woff',
  'font/woff2',
]);

/** Image, audio and video types that are raw (uncompressed) and do compress. */
const RAW_MEDIA = new Set([
  'image/bmp',
  'image/x-ms-bmp',
  'image/tiff',
  'image/svg+xml',
  'image/x-portable-pixmap',
  'image/x-portable-graymap',
  'image/x-portable-bitmap',
  'image/x-portable-anymap',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'audio/wav',
  'audio/wave',
  'audio/x-wav',
  'audio/vnd.wave',
  'audio/aiff',
  'audio/x-aiff',
  'audio/basic',
]);

/** Whether a media type is known to carry compressed bytes (archives, OOXML/ODF, most media). */
export function isCompressedType(type: string): boolean {
  const essence = type.split(';')[0]!.trim().toLowerCase();
  if (COMPRESSED_TYPES.has(essence)) return true;
  // OOXML and ODF documents are zip archives.
  if (essence.startsWith('application/vnd.openxmlformats-officedocument.')) return true;
  if (essence.startsWith('application/vnd.oasis.opendocument.')) return true;
  if (/^(image|audio|video)\//u.test(essence)) return !RAW_MEDIA.has(essence);
  return false;
}

/**
 * How to store an upload (§3.1): `none` as it is, `gzip`/`br` with that codec at its default
 * level, `auto` as it is when the content is already compressed (by its sniffed type, else its
 * declared one) or its sample does not compress, else with the measured codec and level.
 * PDF is left to the sample: text-heavy PDFs shrink, scanned ones do not.
 */
export function decideEncoding(
  policy: CompressionPolicy,
  input: { declaredType: string; sniffedType: string | null; sample: Buffer },
): { encoding: StoredEncoding; level: number } {
  switch (policy) {
    case 'none':
      return { encoding: 'identity', level: 0 };
    case 'gzip':
    case 'br':
      return { encoding: policy, level: DEFAULT_LEVELS[policy] };
    case 'auto':
      break;
  }
  const identity = { encoding: 'identity', level: 0 } as const;
  if (isCompressedType(input.sniffedType ?? input.declaredType)) return identity;
  const sample = input.sample.subarray(0, SAMPLE_BYTES);
  if (sample.length < MIN_COMPRESSIBLE_BYTES) return identity;
  // Random-looking bytes (encrypted, already compressed of an unknown type) are told apart by
  // counting alone, without the deflate pass that would cost ~2 ms of CPU per 64 KiB sample.
  if (byteEntropy(sample) >= NO_DEFLATE_ENTROPY_BITS) return identity;
  const ratio = deflateRawSync(sample, { level: 1 }).length / sample.length;
  return ratio > MAX_SAMPLE_RATIO ? identity : AUTO;
}

/**
 * Order-0 entropy in bits per byte (0–8). Above 7.2 even an ideal order-0 coder saves less than
 * 10 %; only long repeats (which deflate finds) could do better, and documents that random-looking
 * seldom have them.
 */
export function byteEntropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i += 1) counts[bytes[i]!]! += 1;
  let bits = 0;
  for (const count of counts) {
    if (count === 0) continue;
    const p = count / bytes.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
