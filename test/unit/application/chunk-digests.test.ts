import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ChunkDamaged,
  ChunkHasher,
  digestOf,
  verifiedChunks,
} from '../../../src/application/storage/chunk-digests';
import { chunkCount, planChunks, type ChunkDigests } from '../../../src/domain/document/chunks';
import { documentText, interestingRanges } from '../../support/documents';

const CHUNK = 1000;
const CONTENT = documentText(7 * CHUNK + 321);

/** Cuts `content` into pieces of uneven sizes, as a disk or socket would deliver it. */
function pieces(content: Buffer, size = 377): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, n = 0; at < content.length; n += 1) {
    const length = size + ((n * 131) % 509);
    out.push(content.subarray(at, at + length));
    at += length;
  }
  return out;
}

function digestsOf(content: Buffer, chunkSize = CHUNK): ChunkDigests {
  const hasher = new ChunkHasher(chunkSize);
  for (const piece of pieces(content)) hasher.update(piece);
  return hasher.result();
}

/** Reads `span` of `stored` the way the SE does: only the covering chunks, from uneven pieces. */
function reader(stored: Buffer, chunks: ChunkDigests, span: { start: number; end: number }) {
  const plan = planChunks(chunks.chunkSize, stored.length, span);
  const source = Readable.from(pieces(stored.subarray(plan.stored.start, plan.stored.end + 1)));
  return verifiedChunks(source, chunks, plan);
}

/** Everything a reader yields, and the error that ended it (if one did). */
async function drain(chunks: AsyncGenerator<Buffer>): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const part of chunks) parts.push(part);
    return { bytes: Buffer.concat(parts), error: null };
  } catch (error) {
    return { bytes: Buffer.concat(parts), error };
  }
}

describe('ChunkHasher', () => {
  it('records the first 16 bytes of the SHA-256 of every chunk, the last one shorter', () => {
    const chunks = digestsOf(CONTENT);
    expect(chunks).toMatchObject({ chunkSize: CHUNK, algorithm: 'sha256-128' });
    const raw = Buffer.from(chunks.digests, 'base64');
    expect(raw).toHaveLength(chunkCount(CONTENT.length, CHUNK) * 16);
    for (let i = 0; i < chunkCount(CONTENT.length, CHUNK); i += 1) {
      const chunk = CONTENT.subarray(i * CHUNK, (i + 1) * CHUNK);
      const expected = createHash('sha256').update(chunk).digest().subarray(0, 16);
      expect(raw.subarray(i * 16, (i + 1) * 16)).toEqual(expected);
      // digestOf decodes only the base64 around digest i, at every alignment of 16 to 3.
      expect(digestOf(chunks, i)).toEqual(expected);
    }
  });

  it('records nothing for empty content, and the same whatever the piece sizes', () => {
    expect(new ChunkHasher(CHUNK).result().digests).toBe('');
    const whole = new ChunkHasher(CHUNK);
    whole.update(CONTENT);
    expect(whole.result()).toEqual(digestsOf(CONTENT));
  });
});

describe('verifiedChunks', () => {
  const chunks = digestsOf(CONTENT);

  it('yields exactly the asked bytes of intact content, for any range', async () => {
    for (const span of interestingRanges(CONTENT.length, 60)) {
      const { bytes, error } = await drain(reader(CONTENT, chunks, span));
      expect(error).toBeNull();
      expect(bytes.equals(CONTENT.subarray(span.start, span.end + 1))).toBe(true);
    }
  });

  describe('over content with one byte flipped in chunk 4', () => {
    const at = 4 * CHUNK + 500;
    const damaged = Buffer.from(CONTENT);
    damaged[at] = damaged[at]! ^ 0x01;

    it('fails a range inside the damaged chunk before yielding anything', async () => {
      const bytes = reader(damaged, chunks, { start: at - 10, end: at + 10 });
      await expect(bytes.next()).rejects.toThrow(ChunkDamaged);
      await expect(reader(damaged, chunks, { start: at, end: at }).next()).rejects.toThrow(/chunk 4/u);
    });

    it('fails a longer read at the damaged chunk: every byte before it intact, none of it sent', async () => {
      const { bytes, error } = await drain(reader(damaged, chunks, { start: 1234, end: CONTENT.length - 1 }));
      expect(error).toBeInstanceOf(ChunkDamaged);
      expect(bytes.equals(CONTENT.subarray(1234, 4 * CHUNK))).toBe(true);
    });

    it('serves a range of undamaged chunks, which it never reads', async () => {
      for (const span of [
        { start: 0, end: 4 * CHUNK - 1 },
        { start: 5 * CHUNK, end: CONTENT.length - 1 },
        { start: 3 * CHUNK + 999, end: 3 * CHUNK + 999 },
      ]) {
        const { bytes, error } = await drain(reader(damaged, chunks, span));
        expect(error).toBeNull();
        expect(bytes.equals(CONTENT.subarray(span.start, span.end + 1))).toBe(true);
      }
    });
  });

  it('fails content that ends early instead of yielding an unchecked tail', async () => {
    const plan = planChunks(CHUNK, CONTENT.length, { start: 0, end: CONTENT.length - 1 });
    const short = verifiedChunks(Readable.from([CONTENT.subarray(0, CONTENT.length - 5)]), chunks, plan);
    const drained = await drain(short);
    expect(drained.error).toBeInstanceOf(ChunkDamaged);
    expect((drained.error as Error).message).toMatch(/ends 5 bytes early/u);
    // The complete chunks before the cut were served; the cut one was not.
    expect(drained.bytes.equals(CONTENT.subarray(0, 7 * CHUNK))).toBe(true);
  });
});
