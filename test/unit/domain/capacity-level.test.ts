import {
  capacityLevel,
  DEFAULT_THRESHOLDS,
  switchesToReadOnly,
  type CapacityLevel,
  type ThresholdsByMode,
} from '../../../src/domain/storage-element/capacity-level';
import type { StorageMode } from '../../../src/domain/storage-mode/storage-mode';

const GiB = 2 ** 30;
const THRESHOLDS: ThresholdsByMode = {
  edit: {
    warning: { percent: 20, bytes: 0 },
    critical: { percent: 10, bytes: 0 },
    full: { percent: 2, bytes: 0 },
  },
  rw: {
    warning: { percent: 15, bytes: 50 * GiB },
    critical: { percent: 5, bytes: 20 * GiB },
    full: { percent: 1, bytes: 5 * GiB },
  },
};
const of = (totalGiB: number, freeGiB: number) => ({
  totalBytes: totalGiB * GiB,
  usedBytes: (totalGiB - freeGiB) * GiB,
});

describe('capacityLevel: free space against max(percent of total, bytes) per mode', () => {
  it.each<[StorageMode, number, number, CapacityLevel]>([
    ['rw', 1000, 400, 'ok'],
    ['rw', 1000, 150, 'warning'], // 15 % of 1000 GiB
    ['rw', 1000, 50, 'critical'], // 5 %
    ['rw', 1000, 10, 'full'], // 1 %
    ['rw', 100, 49, 'warning'], // the 50 GiB floor is above 15 % of a small disk
    ['rw', 100, 20, 'critical'],
    ['rw', 100, 5, 'full'],
    ['rw', 100, 5.5, 'critical'],
    ['edit', 100, 20, 'warning'],
    ['edit', 100, 10, 'critical'],
    ['edit', 100, 2, 'full'],
    ['edit', 100, 21, 'ok'],
    ['ro', 100, 0, 'ok'],
    ['ar', 100, 0, 'ok'],
  ])('%s SE, %d GiB total, %d GiB free → %s', (mode, total, free, level) => {
    expect(capacityLevel(mode, of(total, free), THRESHOLDS)).toBe(level);
  });

  it('only a full rw SE switches itself to ro', () => {
    expect(switchesToReadOnly('rw', 'full')).toBe(true);
    for (const level of ['ok', 'warning', 'critical'] as const)
      expect(switchesToReadOnly('rw', level)).toBe(false);
    for (const mode of ['edit', 'ro', 'ar'] as const) expect(switchesToReadOnly(mode, 'full')).toBe(false);
  });

  it('has defaults in which every floor lies below the previous one', () => {
    for (const mode of ['edit', 'rw'] as const) {
      const t = DEFAULT_THRESHOLDS[mode];
      expect(t.warning.percent).toBeGreaterThan(t.critical.percent);
      expect(t.critical.percent).toBeGreaterThan(t.full.percent);
    }
  });
});
