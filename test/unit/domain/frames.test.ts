import {
  frameCount,
  frameIndexProblem,
  frameOriginalSize,
  planFrames,
  storedOffset,
  type FrameIndex,
} from '../../../src/domain/document/frames';
import { levelProblem } from '../../../src/domain/document/compression';

// 10 original bytes per frame; a 35-byte file has frames of 10, 10, 10 and 5 original bytes.
const INDEX: FrameIndex = { frameSize: 10, storedSizes: [4, 6, 3, 2] };
const SIZE = 35;

describe('frame index math', () => {
  it('counts frames and their original sizes, the last one shorter', () => {
    expect(frameCount(0, 10)).toBe(0);
    expect(frameCount(1, 10)).toBe(1);
    expect(frameCount(10, 10)).toBe(1);
    expect(frameCount(11, 10)).toBe(2);
    expect([0, 1, 2, 3].map((i) => frameOriginalSize(SIZE, 10, i))).toEqual([10, 10, 10, 5]);
    expect(storedOffset(INDEX, 0)).toBe(0);
    expect(storedOffset(INDEX, 3)).toBe(13);
  });

  it.each([
    [
      'one byte in the first frame',
      { start: 0, end: 0 },
      { first: 0, last: 0, stored: { start: 0, end: 3 }, skip: 0, take: 1 },
    ],
    [
      'the last byte',
      { start: 34, end: 34 },
      { first: 3, last: 3, stored: { start: 13, end: 14 }, skip: 4, take: 1 },
    ],
    [
      'a whole middle frame',
      { start: 10, end: 19 },
      { first: 1, last: 1, stored: { start: 4, end: 9 }, skip: 0, take: 10 },
    ],
    [
      'across a frame boundary',
      { start: 9, end: 10 },
      { first: 0, last: 1, stored: { start: 0, end: 9 }, skip: 9, take: 2 },
    ],
    [
      'across three frames',
      { start: 15, end: 31 },
      { first: 1, last: 3, stored: { start: 4, end: 14 }, skip: 5, take: 17 },
    ],
  ])('plans %s', (_name, range, plan) => {
    expect(planFrames(INDEX, SIZE, range)).toMatchObject(plan);
  });

  it('plans a whole read as every frame, with each frame’s sizes', () => {
    expect(planFrames(INDEX, SIZE)).toEqual({
      first: 0,
      last: 3,
      stored: { start: 0, end: 14 },
      storedSizes: [4, 6, 3, 2],
      originalSizes: [10, 10, 10, 5],
      skip: 0,
      take: 35,
    });
    expect(planFrames({ frameSize: 10, storedSizes: [] }, 0)).toBeNull();
  });

  it('refuses a range outside the file', () => {
    expect(() => planFrames(INDEX, SIZE, { start: 30, end: 35 })).toThrow(RangeError);
    expect(() => planFrames(INDEX, SIZE, { start: 5, end: 4 })).toThrow(RangeError);
  });

  it('checks an index against the sizes it describes', () => {
    expect(frameIndexProblem(INDEX, SIZE, 15)).toBeNull();
    expect(frameIndexProblem({ frameSize: 10, storedSizes: [] }, 0, 0)).toBeNull();
    expect(frameIndexProblem(INDEX, SIZE, 16)).toMatch(/add up to 15/u);
    expect(frameIndexProblem(INDEX, 41, 15)).toMatch(/5 needed/u);
    expect(frameIndexProblem({ frameSize: 0, storedSizes: [] }, 0, 0)).toMatch(/positive/u);
    expect(frameIndexProblem({ frameSize: 10, storedSizes: [15, 0] }, 20, 15)).toMatch(/positive/u);
  });

  it('checks codec levels', () => {
    expect(levelProblem('gzip', 9)).toBeNull();
    expect(levelProblem('gzip', 0)).toMatch(/1 to 9/u);
    expect(levelProblem('br', 11)).toBeNull();
    expect(levelProblem('br', 12)).toMatch(/0 to 11/u);
    expect(levelProblem('br', 1.5)).toMatch(/integer/u);
    expect(levelProblem('identity', 3)).toBeNull();
    expect(levelProblem('br', undefined)).toBeNull();
  });
});
