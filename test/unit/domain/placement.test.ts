import { rankCandidates, type PlacementRequest } from '../../../src/domain/placement/placement';
import type { StorageElementDescriptor } from '../../../src/domain/storage-element/storage-element';
import { aStorageElement, T0 } from '../../support/builders';

const request = (overrides: Partial<PlacementRequest> = {}): PlacementRequest => ({
  mode: 'rw',
  size: 100,
  now: T0,
  staleAfterMs: 15_000,
  ...overrides,
});

const ids = (elements: StorageElementDescriptor[]): string[] => elements.map((se) => se.id);

describe('rankCandidates', () => {
  it.each([
    ['edit', ['e-1']],
    ['rw', ['rw-1']],
    ['ro', []],
    ['ar', []],
  ] as const)('offers only SEs of the requested writable mode (%s)', (mode, expected) => {
    const elements = [
      aStorageElement({ id: 'e-1', mode: 'edit' }),
      aStorageElement({ id: 'rw-1', mode: 'rw' }),
      aStorageElement({ id: 'ro-1', mode: 'ro' }),
      aStorageElement({ id: 'ar-1', mode: 'ar' }),
    ];
    expect(ids(rankCandidates(elements, request({ mode })))).toEqual(expected);
  });

  it.each<[string, number, boolean]>([
    ['seen now', 0, true],
    ['seen exactly staleAfterMs ago', 15_000, true],
    ['seen 1 ms too long ago', 15_001, false],
  ])('keeps an SE %s: %s', (_label, ageMs, kept) => {
    const se = aStorageElement({ lastSeenAt: new Date(T0.getTime() - ageMs) });
    expect(rankCandidates([se], request())).toHaveLength(kept ? 1 : 0);
  });

  it.each<[string, number | null, number, boolean]>([
    ['fits with room to spare', 100, 1_000, true],
    ['fits exactly', 1_000, 1_000, true],
    ['one byte too large', 1_001, 1_000, false],
    ['unknown size counts as 0 on an empty-ish SE', null, 1, true],
    ['unknown size on a full SE still fits (0 bytes)', null, 0, true],
    ['zero bytes on a full SE', 0, 0, true],
  ])('capacity: %s', (_label, size, free, kept) => {
    const se = aStorageElement({ capacity: { totalBytes: 10_000, usedBytes: 10_000 - free } });
    expect(rankCandidates([se], request({ size }))).toHaveLength(kept ? 1 : 0);
  });

  it('treats an over-used SE (used > total) as having no room', () => {
    const se = aStorageElement({ capacity: { totalBytes: 100, usedBytes: 200 } });
    expect(rankCandidates([se], request({ size: 1 }))).toEqual([]);
  });

  it('orders by priority (lower first), then free space (more first), then id', () => {
    const cap = (free: number) => ({ totalBytes: 1_000_000, usedBytes: 1_000_000 - free });
    const elements = [
      aStorageElement({ id: 'z-low-prio-big', priority: 200, capacity: cap(900_000) }),
      aStorageElement({ id: 'c-small', priority: 100, capacity: cap(1_000) }),
      aStorageElement({ id: 'b-big', priority: 100, capacity: cap(500_000) }),
      aStorageElement({ id: 'd-tie', priority: 100, capacity: cap(10_000) }),
      aStorageElement({ id: 'a-tie', priority: 100, capacity: cap(10_000) }),
      aStorageElement({ id: 'y-first', priority: 0, capacity: cap(500) }),
    ];
    expect(ids(rankCandidates(elements, request()))).toEqual([
      'y-first',
      'b-big',
      'a-tie',
      'd-tie',
      'c-small',
      'z-low-prio-big',
    ]);
  });

  it('applies every filter at once and leaves the input untouched', () => {
    const elements = [
      aStorageElement({ id: 'stale', lastSeenAt: new Date(T0.getTime() - 60_000) }),
      aStorageElement({ id: 'full', capacity: { totalBytes: 100, usedBytes: 100 } }),
      aStorageElement({ id: 'frozen', mode: 'ro' }),
      aStorageElement({ id: 'ok' }),
    ];
    const before = ids(elements);
    expect(ids(rankCandidates(elements, request()))).toEqual(['ok']);
    expect(ids(elements)).toEqual(before);
  });
});
