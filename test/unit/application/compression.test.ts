import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { byteEntropy, decideEncoding, isCompressedType } from '../../../src/application/ingester/compression';
import { DEFAULT_LEVELS } from '../../../src/domain/document/compression';

const TEXT = Buffer.from(
  Array.from({ length: 2000 }, (_, i) => `line ${i}: the archive keeps documents for a defined time\n`).join(
    '',
  ),
);
const RANDOM = randomBytes(64 * 1024);
const input = (sample: Buffer, declaredType = 'text/plain', sniffedType: string | null = null) => ({
  declaredType,
  sniffedType,
  sample,
});

describe('decideEncoding', () => {
  it('stores as it is under none, whatever the content', () => {
    expect(decideEncoding('none', input(TEXT))).toEqual({ encoding: 'identity', level: 0 });
  });

  it('uses the forced codec at its default level, even for compressed content', () => {
    expect(decideEncoding('gzip', input(RANDOM, 'image/jpeg'))).toEqual({
      encoding: 'gzip',
      level: DEFAULT_LEVELS.gzip,
    });
    expect(decideEncoding('br', input(TEXT))).toEqual({ encoding: 'br', level: DEFAULT_LEVELS.br });
  });

  it('compresses text-like content under auto', () => {
    const decided = decideEncoding('auto', input(TEXT));
    expect(decided.encoding).not.toBe('identity');
    expect(decided.level).toBeGreaterThanOrEqual(0);
  });

  it.each([
    'image/jpeg',
    'image/png',
    'video/mp4',
    'audio/mpeg',
    'application/zip',
    'application/gzip',
    'application/x-7z-compressed',
    'application/zstd',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.oasis.opendocument.text',
    'font/woff2',
  ])('keeps %s as it is under auto, even when the sample would compress', (type) => {
    expect(decideEncoding('auto', input(TEXT, type))).toEqual({ encoding: 'identity', level: 0 });
  });

  it.each(['image/bmp', 'image/tiff', 'image/svg+xml', 'audio/wav'])('samples raw media %s', (type) => {
    expect(isCompressedType(type)).toBe(false);
    expect(decideEncoding('auto', input(TEXT, type)).encoding).not.toBe('identity');
  });

  it('trusts the sniffed type over the declared one', () => {
    expect(decideEncoding('auto', input(TEXT, 'text/plain', 'application/zip')).encoding).toBe('identity');
    expect(decideEncoding('auto', input(TEXT, 'image/jpeg', 'text/plain')).encoding).not.toBe('identity');
    expect(isCompressedType('IMAGE/JPEG; q=1')).toBe(true);
  });

  it('keeps content whose sample does not compress as it is', () => {
    expect(decideEncoding('auto', input(RANDOM, 'application/octet-stream'))).toEqual({
      encoding: 'identity',
      level: 0,
    });
    const gzipped = gzipSync(Buffer.concat([TEXT, RANDOM]));
    expect(decideEncoding('auto', input(gzipped, 'application/octet-stream')).encoding).toBe('identity');
  });

  it('still tries deflate on middling entropy: repeats it can find are compressed', () => {
    // Hex text: 4 bits per byte by counting, and deflate shrinks it.
    const hex = Buffer.from(RANDOM.subarray(0, 16 * 1024).toString('hex'));
    expect(byteEntropy(hex)).toBeCloseTo(4, 1);
    expect(decideEncoding('auto', input(hex, 'application/octet-stream')).encoding).not.toBe('identity');
    // Random bytes are near 8 bits per byte: kept as they are without a deflate pass.
    expect(byteEntropy(RANDOM)).toBeGreaterThan(7.9);
    expect(byteEntropy(TEXT)).toBeLessThan(5);
    expect(byteEntropy(Buffer.alloc(4096))).toBe(0);
  });

  it('keeps tiny files as they are (a frame costs more than it saves)', () => {
    expect(decideEncoding('auto', input(TEXT.subarray(0, 500))).encoding).toBe('identity');
    expect(decideEncoding('auto', input(Buffer.alloc(0))).encoding).toBe('identity');
  });
});
