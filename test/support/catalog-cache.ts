import type { CacheObserver } from '../../src/adapters/cache/caching-file-catalog';
import { Metrics } from '../../src/adapters/telemetry/metrics';

/** The production observer over a real prom-client registry; `count` reads one counter back. */
export function countingObserver(): {
  observer: CacheObserver;
  count: (kind: 'hits' | 'misses', cache: 'metadata' | 'search', level: 'l1' | 'l2') => Promise<number>;
  errors: () => Promise<number>;
} {
  const metrics = new Metrics();
  const observer: CacheObserver = {
    hit: (cache, level) => metrics.cacheHits.inc({ cache, level }),
    miss: (cache, level) => metrics.cacheMisses.inc({ cache, level }),
    undecodable: () => metrics.cacheErrors.inc({ operation: 'decode' }),
  };
  const valueOf = async (
    counter: Metrics['cacheHits'] | Metrics['cacheErrors'],
    labels: Record<string, string>,
  ): Promise<number> => {
    const { values } = await counter.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
      .reduce((sum, v) => sum + v.value, 0);
  };
  return {
    observer,
    count: (kind, cache, level) =>
      valueOf(kind === 'hits' ? metrics.cacheHits : metrics.cacheMisses, { cache, level }),
    errors: () => valueOf(metrics.cacheErrors, {}),
  };
}

/** A promise with its resolver, to hold a load at a chosen point. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
