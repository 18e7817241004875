import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { brotliCompressSync, constants, createGzip, gzipSync } from 'node:zlib';
import { BOMB_GRACE_BYTES, contentCoding, decodeBody } from '../../../src/adapters/http/content-decoding';
import { HttpError } from '../../../src/adapters/http/problem';
import { readAll } from '../../support/fakes';

const TEXT = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(2000));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `total` zero bytes, gzip-compressed as they are pulled: never held in memory whole. */
function zeroBomb(total: number): Readable {
  let left = total;
  const zeros = Buffer.alloc(1 << 20);
  const source = new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(zeros.subarray(0, n));
    },
  });
  return source.pipe(createGzip({ level: 9 }));
}

describe('contentCoding', () => {
  it.each<[string, 'gzip' | 'br' | null]>([
    ['', null],
    ['identity', null],
    ['gzip', 'gzip'],
    [' GZIP ', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br', 'br'],
  ])('reads %j as %s', (header, coding) => {
    expect(contentCoding(header)).toBe(coding);
  });

  it.each(['deflate', 'zstd', 'compress', 'gzip, br', 'br;q=1'])(
    'refuses %j with unsupported_content_encoding',
    (header) => {
      expect(() => contentCoding(header)).toThrow(
        expect.objectContaining({ code: 'unsupported_content_encoding' }) as Error,
      );
    },
  );
});

describe('decodeBody', () => {
  it.each<['gzip' | 'br', Buffer]>([
    ['gzip', gzipSync(TEXT)],
    ['br', brotliCompressSync(TEXT)],
  ])('decodes a %s body', async (coding, encoded) => {
    const decoded = decodeBody(Readable.from([encoded]), coding, {});
    expect(await readAll(decoded.stream)).toEqual(TEXT);
    expect(decoded.violation()).toBeNull();
  });

  it('checks header digests against the encoded bytes', async () => {
    const encoded = gzipSync(TEXT);
    const ok = decodeBody(Readable.from([encoded]), 'gzip', { sha256: sha256(encoded) });
    expect(await readAll(ok.stream)).toEqual(TEXT);
    const wrong = decodeBody(Readable.from([encoded]), 'gzip', { sha256: sha256(TEXT) });
    await expect(readAll(wrong.stream)).rejects.toMatchObject({ code: 'digest_mismatch' });
    expect(wrong.violation()).toMatchObject({ code: 'digest_mismatch' });
  });

  it('refuses a corrupt body as malformed', async () => {
    const corrupt = gzipSync(TEXT);
    corrupt.fill(0x55, 20, 60);
    const decoded = decodeBody(Readable.from([corrupt]), 'gzip', {});
    await expect(readAll(decoded.stream)).rejects.toBeDefined();
    expect(decoded.violation()).toBeInstanceOf(HttpError);
    expect(decoded.violation()).toMatchObject({ code: 'malformed_request' });
  });

  it('lets a highly compressible file through the first MiB', async () => {
    const zeros = Buffer.alloc(BOMB_GRACE_BYTES);
    const decoded = decodeBody(Readable.from([gzipSync(zeros)]), 'gzip', {});
    expect((await readAll(decoded.stream)).length).toBe(BOMB_GRACE_BYTES);
  });

  it.each<['gzip' | 'br', () => Readable]>([
    ['gzip', () => zeroBomb(10 * 2 ** 30)],
    [
      'br',
      () =>
        Readable.from([
          brotliCompressSync(Buffer.alloc(64 * 2 ** 20), { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }),
        ]),
    ],
  ])('stops a %s bomb soon after the first MiB, with bounded memory', async (coding, bomb) => {
    const before = process.memoryUsage().rss;
    const decoded = decodeBody(bomb(), coding, {});
    let received = 0;
    const drained = (async () => {
      for await (const chunk of decoded.stream) received += (chunk as Buffer).length;
    })();
    await expect(drained).rejects.toMatchObject({ code: 'decompression_bomb' });
    expect(decoded.violation()).toMatchObject({ code: 'decompression_bomb' });
    expect(received).toBeLessThan(4 * BOMB_GRACE_BYTES);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);
  });
});
