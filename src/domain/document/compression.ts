import type { StoredEncoding } from './document';

/**
 * How an upload asks its content to be stored (§3.1): `auto` lets the ingester decide from the
 * content type and a sample, `none` stores the bytes as they are, `gzip`/`br` force that codec.
 */
export const COMPRESSION_POLICIES = ['auto', 'none', 'gzip', 'br'] as const;
export type CompressionPolicy = (typeof COMPRESSION_POLICIES)[number];

export type Codec = Exclude<StoredEncoding, 'identity'>;

/** The levels each codec accepts (zlib: 1–9, brotli quality: 0–11). */
export const LEVEL_RANGES: Readonly<Record<Codec, { readonly min: number; readonly max: number }>> = {
  gzip: { min: 1, max: 9 },
  br: { min: 0, max: 11 },
};

/**
 * Levels of an explicit `gzip` or `br` (the caller asked for compression, so more ratio than
 * `auto`'s level): zlib's own default 6, and brotli 4, which reaches gzip 6's ratio at least as
 * fast (bench/README.md, "Compression"). Brotli's own default (11) runs below 1 MB/s.
 */
export const DEFAULT_LEVELS: Readonly<Record<Codec, number>> = { gzip: 6, br: 4 };

/** Original bytes per stored frame (bench/README.md: index size vs ratio vs range cost). */
export const FRAME_SIZE = 1024 * 1024;

/** Why `level` does not suit `encoding`, or null when it does (identity ignores its level). */
export function levelProblem(encoding: StoredEncoding, level: number | undefined): string | null {
  if (level === undefined || encoding === 'identity') return null;
  const { min, max } = LEVEL_RANGES[encoding];
  return Number.isInteger(level) && level >= min && level <= max
    ? null
    : `the ${encoding} level must be an integer from ${min} to ${max}`;
}
