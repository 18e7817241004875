import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { combineRanges, parse as parseRange } from 'range-parser';
import { ApplicationError } from '../../application/errors';
import type { ByteRange } from '../../application/ports/blob-store';

/**
 * More ranges than this (after merging overlapping and adjacent ones) are ignored and the whole
 * representation is sent (RFC 9110 §14.2 lets a server ignore Range; many tiny parts would cost
 * more in part headers than in data).
 */
export const MAX_RANGES = 64;

/**
 * The ranges a `Range` header selects from `size` bytes, in the order asked, overlapping and
 * adjacent ones merged; null when the header is to be ignored (another unit, too many ranges).
 * A malformed header or one selecting no byte is `range_not_satisfiable`.
 */
export function selectRanges(header: string, size: number): ByteRange[] | null {
  const parsed = parseRange(size, header);
  if (parsed.type !== 'bytes') return null; // RFC 9110 §14.2: unknown units are ignored
  const unsatisfiable = (why: string): ApplicationError =>
    new ApplicationError('range_not_satisfiable', `'${header}' ${why} of this ${size}-byte file`, {
      size,
      field: 'range',
    });
  if (parsed.code & 1) throw unsatisfiable('is not a valid byte range list for the bytes');
  if (parsed.ranges.length === 0) throw unsatisfiable('selects no bytes');
  const ranges = combineRanges(parsed.ranges).map(({ start, end }) => ({ start, end }));
  return ranges.length > MAX_RANGES ? null : ranges;
}

export interface MultipartBody {
  readonly contentType: string;
  readonly length: number;
  readonly body: Readable;
}

/**
 * RFC 9110 §14.6 `multipart/byteranges`: one part per range, each with its Content-Type and
 * Content-Range. The length is known before a byte is read; each part's content is opened only
 * when the body reaches it (`first` is the first part's, opened already so that a failure to
 * read shows as an error status rather than a broken body).
 */
export function multipartByteranges(
  ranges: readonly ByteRange[],
  size: number,
  type: string,
  first: Readable,
  open: (range: ByteRange) => Promise<Readable>,
): MultipartBody {
  const boundary = randomBytes(16).toString('hex');
  const heads = ranges.map((range) =>
    Buffer.from(
      `--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`,
    ),
  );
  const crlf = Buffer.from('\r\n');
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const length =
    ranges.reduce((sum, r, i) => sum + heads[i]!.length + (r.end - r.start + 1) + crlf.length, 0) +
    tail.length;
  async function* parts(): AsyncGenerator<Buffer> {
    for (const [i, range] of ranges.entries()) {
      yield heads[i]!;
      for await (const chunk of i === 0 ? first : await open(range)) yield chunk as Buffer;
      yield crlf;
    }
    yield tail;
  }
  const body = Readable.from(parts(), { objectMode: false });
  body.once('close', () => first.destroy());
  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, body };
}
