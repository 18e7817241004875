import { rankCopies, type ReadPreference } from '../../../src/domain/placement/read-preference';
import { aStorageElement, T0 } from '../../support/builders';

const STALE_AFTER = 15_000;
const fresh = T0;
const stale = new Date(T0.getTime() - STALE_AFTER - 1);

const elements = [
  aStorageElement({ id: 'near-busy', dc: 'dc-a', lastSeenAt: fresh }),
  aStorageElement({ id: 'near-idle', dc: 'dc-a', lastSeenAt: fresh }),
  aStorageElement({ id: 'far', dc: 'dc-b', lastSeenAt: fresh }),
  aStorageElement({ id: 'near-silent', dc: 'dc-a', lastSeenAt: stale }),
  aStorageElement({ id: 'near-archive', dc: 'dc-a', mode: 'ar', lastSeenAt: fresh }),
];
const copy = (seId: string) => ({ seId, key: `2026/03/01/x_${seId}` });
const loads: Record<string, number> = { 'near-busy': 3, 'near-idle': 1, far: 0 };

function ranked(ids: string[], preference: Partial<ReadPreference> = {}): string[] {
  return rankCopies(ids.map(copy), elements, {
    dc: 'dc-a',
    now: T0,
    staleAfterMs: STALE_AFTER,
    load: (seId) => loads[seId] ?? 0,
    ...preference,
  }).map((c) => c.seId);
}

describe('rankCopies (§3.4: healthy, same dc, least loaded)', () => {
  it("orders healthy copies in the reader's dc by load, then other dcs, then stale, archived and unknown SEs", () => {
    expect(ranked(['unknown', 'near-archive', 'near-silent', 'far', 'near-busy', 'near-idle'])).toEqual([
      'near-idle',
      'near-busy',
      'far',
      'near-silent',
      'near-archive',
      'unknown',
    ]);
  });

  it('prefers no dc when the reader has none: load decides, then the catalog order', () => {
    expect(ranked(['near-busy', 'far', 'near-idle'], { dc: null })).toEqual([
      'far',
      'near-idle',
      'near-busy',
    ]);
    expect(ranked(['near-idle', 'far'], { dc: null, load: () => 0 })).toEqual(['near-idle', 'far']);
  });

  it('keeps every copy, even when none is healthy', () => {
    expect(ranked(['near-silent', 'unknown'])).toEqual(['near-silent', 'unknown']);
    expect(ranked([])).toEqual([]);
  });
});
