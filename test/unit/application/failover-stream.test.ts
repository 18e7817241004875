import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ByteRange } from '../../../src/application/ports/blob-store';
import { failoverStream } from '../../../src/application/query/failover-stream';
import { sha256 } from '../../support/builders';
import { readAll } from '../../support/fakes';

const CONTENT = randomBytes(200_000);
const CHUNK = 16 * 1024;

/** A copy's stream of `range`, in chunks; it fails (or ends early) after `breakAfter` bytes. */
function copyStream(
  range: ByteRange,
  options: { breakAfter?: number; ends?: boolean; content?: Buffer; extra?: number } = {},
): Readable {
  const content = options.content ?? CONTENT;
  const bytes = content.subarray(range.start, range.end + 1 + (options.extra ?? 0));
  const limit = options.breakAfter ?? bytes.length;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let at = 0; at < Math.min(limit, bytes.length); at += CHUNK)
      yield bytes.subarray(at, Math.min(at + CHUNK, limit));
    if (limit < bytes.length && !options.ends) throw new Error('socket hang up');
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Copies tried in order, each serving what it is asked as its plan says (break, end early, send more). */
function copies(plans: { breakAfter?: number; ends?: boolean; content?: Buffer; extra?: number }[]) {
  const asked: ByteRange[] = [];
  let next = 1;
  const open = (range: ByteRange): Readable => {
    asked.push(range);
    return copyStream(range, plans[asked.length - 1] ?? {});
  };
  return {
    asked,
    first: (range: ByteRange) => open(range),
    next: (rest: ByteRange): Promise<Readable> => {
      next += 1;
      if (next > plans.length) return Promise.reject(new Error('no copy left'));
      return Promise.resolve(open(rest));
    },
  };
}

function stream(span: ByteRange, c: ReturnType<typeof copies>, whole = false): Readable {
  return failoverStream({
    span,
    first: c.first(span),
    next: c.next,
    sha256: whole ? sha256(CONTENT) : null,
    fileId: 'f-1',
  });
}

const WHOLE = { start: 0, end: CONTENT.length - 1 };

describe('failoverStream', () => {
  it('passes one good copy through unchanged', async () => {
    const c = copies([{}]);
    expect((await readAll(stream(WHOLE, c, true))).equals(CONTENT)).toBe(true);
    expect(c.asked).toEqual([WHOLE]);
  });

  it.each([
    ['fails', false],
    ['ends early', true],
  ])('continues from the next copy at the byte where the first one %s', async (_name, ends) => {
    const c = copies([{ breakAfter: 70_000, ends }, {}]);
    expect((await readAll(stream(WHOLE, c, true))).equals(CONTENT)).toBe(true);
    expect(c.asked).toEqual([WHOLE, { start: 70_000, end: CONTENT.length - 1 }]);
  });

  it('continues a range through several copies, asking each for the rest of the range only', async () => {
    const span = { start: 1_000, end: 150_000 };
    const c = copies([{ breakAfter: 20_000 }, { breakAfter: 33_333 }, {}]);
    const bytes = await readAll(stream(span, c));
    expect(bytes.equals(CONTENT.subarray(1_000, 150_001))).toBe(true);
    expect(c.asked).toEqual([span, { start: 21_000, end: 150_000 }, { start: 54_333, end: 150_000 }]);
  });

  it('fails when the copies run out, after delivering only true bytes', async () => {
    const c = copies([{ breakAfter: 50_000 }]);
    const received: Buffer[] = [];
    const s = stream({ start: 0, end: 99_999 }, c);
    s.on('data', (chunk: Buffer) => received.push(chunk));
    await expect(new Promise((resolve, reject) => s.on('end', resolve).on('error', reject))).rejects.toThrow(
      'no copy left',
    );
    const got = Buffer.concat(received);
    expect(got.equals(CONTENT.subarray(0, got.length))).toBe(true);
    expect(got.length).toBeLessThanOrEqual(50_000);
  });

  it('treats a copy that sends more than asked as failed before the extra bytes go out', async () => {
    const span = { start: 0, end: 99_999 };
    const c = copies([{ extra: 10 }, {}]);
    const bytes = await readAll(stream(span, c));
    expect(bytes.equals(CONTENT.subarray(0, 100_000))).toBe(true);
    expect(c.asked).toHaveLength(2);
  });

  it("never completes a whole read whose bytes do not hash to the file's SHA-256", async () => {
    const damaged = Buffer.from(CONTENT);
    damaged.writeUInt8(damaged.readUInt8(123_456) ^ 0xff, 123_456);
    const c = copies([{ breakAfter: 100_000 }, { content: damaged }]);
    const received: Buffer[] = [];
    const s = stream(WHOLE, c, true);
    s.on('data', (chunk: Buffer) => received.push(chunk));
    await expect(
      new Promise((resolve, reject) => s.on('end', resolve).on('error', reject)),
    ).rejects.toMatchObject({ code: 'file_corrupt' });
    // The last chunk was held back: the reader has a short body, never a complete one.
    expect(Buffer.concat(received).length).toBeLessThan(CONTENT.length);
  });

  it('releases the current copy when the reader goes away', async () => {
    const first = copyStream(WHOLE);
    const s = failoverStream({
      span: WHOLE,
      first,
      next: () => Promise.reject(new Error('unused')),
      sha256: null,
      fileId: 'f-1',
    });
    s.destroy();
    await new Promise((resolve) => first.once('close', resolve));
    expect(first.destroyed).toBe(true);
  });
});
