import type { StorageMode } from '../storage-mode/storage-mode';
import { freeBytes, type Capacity } from './storage-element';

export const CAPACITY_LEVELS = ['ok', 'warning', 'critical', 'full'] as const;
export type CapacityLevel = (typeof CAPACITY_LEVELS)[number];

/** A free-space floor: the level is reached when free space falls to max(percent of total, bytes). */
export interface Threshold {
  readonly percent: number;
  readonly bytes: number;
}

export interface CapacityThresholds {
  readonly warning: Threshold;
  readonly critical: Threshold;
  readonly full: Threshold;
}

/** Per writable mode (§3.3); read-only and archive SEs take no writes, so no level applies. */
export type ThresholdsByMode = Readonly<Record<'edit' | 'rw', CapacityThresholds>>;

export const DEFAULT_THRESHOLDS: ThresholdsByMode = Object.freeze({
  edit: {
    warning: { percent: 20, bytes: 0 },
    critical: { percent: 10, bytes: 0 },
    full: { percent: 2, bytes: 0 },
  },
  rw: {
    warning: { percent: 15, bytes: 0 },
    critical: { percent: 5, bytes: 0 },
    full: { percent: 1, bytes: 0 },
  },
});

const floor = (capacity: Capacity, threshold: Threshold): number =>
  Math.max((capacity.totalBytes * threshold.percent) / 100, threshold.bytes);

/** How full an SE is for its mode; `ok` for modes that take no writes. */
export function capacityLevel(
  mode: StorageMode,
  capacity: Capacity,
  thresholds: ThresholdsByMode,
): CapacityLevel {
  if (mode !== 'edit' && mode !== 'rw') return 'ok';
  const levels = thresholds[mode];
  const free = freeBytes(capacity);
  if (free <= floor(capacity, levels.full)) return 'full';
  if (free <= floor(capacity, levels.critical)) return 'critical';
  if (free <= floor(capacity, levels.warning)) return 'warning';
  return 'ok';
}

/** §3.3: a `rw` SE that reaches *full* stops taking writes by switching itself to `ro`. */
export function switchesToReadOnly(mode: StorageMode, level: CapacityLevel): boolean {
  return mode === 'rw' && level === 'full';
}
