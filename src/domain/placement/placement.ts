import { fits, freeBytes, type StorageElementDescriptor } from '../storage-element/storage-element';
import { isOperationAllowed, type StorageMode } from '../storage-mode/storage-mode';

export interface PlacementRequest {
  readonly mode: StorageMode;
  /** Known size of the content, or null when it arrives without a length. */
  readonly size: number | null;
  readonly now: Date;
  /** An SE not heard from for longer than this is not healthy. */
  readonly staleAfterMs: number;
}

/**
 * ARCHITECTURE §3.4: writable, healthy SEs of the mode the retention needs, sequential fill by
 * priority (lower first), then by free space (more first). SEs that cannot take the size are skipped.
 */
export function rankCandidates(
  elements: readonly StorageElementDescriptor[],
  request: PlacementRequest,
): StorageElementDescriptor[] {
  return elements
    .filter((se) => se.mode === request.mode && isOperationAllowed(se.mode, 'create'))
    .filter((se) => request.now.getTime() - se.lastSeenAt.getTime() <= request.staleAfterMs)
    .filter((se) => fits(se.capacity, request.size ?? 0))
    .sort(
      (a, b) =>
        a.priority - b.priority || freeBytes(b.capacity) - freeBytes(a.capacity) || a.id.localeCompare(b.id),
    );
}

/**
 * The next SE for another copy (§3.4): the best-ranked one in a data centre that holds no copy
 * yet, else the best-ranked one left. `remaining` is in rank order and holds no SE with a copy.
 */
export function nextCopyTarget<T extends Pick<StorageElementDescriptor, 'dc'>>(
  remaining: readonly T[],
  usedDcs: ReadonlySet<string>,
): T | null {
  return remaining.find((se) => !usedDcs.has(se.dc)) ?? remaining[0] ?? null;
}
