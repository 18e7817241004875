import { chunkDigestsProblem, planChunks } from '../../../src/domain/document/chunks';

describe('planChunks', () => {
  it('covers a span with whole chunks, the last one cut at the stored size', () => {
    expect(planChunks(100, 1050, { start: 250, end: 260 })).toEqual({
      first: 2,
      stored: { start: 200, end: 299 },
      skip: 50,
      take: 11,
    });
    expect(planChunks(100, 1050, { start: 99, end: 1049 })).toEqual({
      first: 0,
      stored: { start: 0, end: 1049 },
      skip: 99,
      take: 951,
    });
    expect(planChunks(100, 1050, { start: 1000, end: 1000 }).stored).toEqual({ start: 1000, end: 1049 });
  });

  it('refuses a span outside the stored bytes', () => {
    expect(() => planChunks(100, 1050, { start: 0, end: 1050 })).toThrow(RangeError);
    expect(() => planChunks(100, 1050, { start: 5, end: 4 })).toThrow(RangeError);
  });
});

describe('chunkDigestsProblem', () => {
  it('needs 16 bytes per chunk, none for empty content', () => {
    expect(chunkDigestsProblem({ chunkSize: 100, digestBytes: 11 * 16 }, 1050)).toBeNull();
    expect(chunkDigestsProblem({ chunkSize: 100, digestBytes: 0 }, 0)).toBeNull();
    expect(chunkDigestsProblem({ chunkSize: 100, digestBytes: 10 * 16 }, 1050)).toMatch(/176 needed/u);
    expect(chunkDigestsProblem({ chunkSize: 0, digestBytes: 0 }, 0)).toMatch(/positive/u);
  });
});
