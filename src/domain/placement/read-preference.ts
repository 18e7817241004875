import type { StorageElementDescriptor } from '../storage-element/storage-element';
import { isOperationAllowed } from '../storage-mode/storage-mode';

export interface ReadPreference {
  /** The reader's data centre; null when it has none (no copy is nearer than another). */
  readonly dc: string | null;
  readonly now: Date;
  /** An SE not heard from for longer than this is not healthy. */
  readonly staleAfterMs: number;
  /** Reads this process has in flight on an SE (its load as far as this reader can tell). */
  readonly load: (seId: string) => number;
}

/**
 * §3.4: the order in which to try the copies of a file. Healthy SEs (known to the registry and
 * heard from lately) whose mode serves content come first, then the rest (they may still answer:
 * the registry can lag); inside each group the reader's own data centre first, then the least
 * loaded, then the catalog's order. Every copy stays in the list: a poor copy is a last resort,
 * never skipped.
 */
export function rankCopies<C extends { readonly seId: string }>(
  copies: readonly C[],
  elements: readonly StorageElementDescriptor[],
  preference: ReadPreference,
): C[] {
  const known = new Map(elements.map((se) => [se.id, se]));
  const tier = (copy: C): number => {
    const se = known.get(copy.seId);
    if (!se) return 3;
    if (!isOperationAllowed(se.mode, 'read')) return 2;
    return preference.now.getTime() - se.lastSeenAt.getTime() <= preference.staleAfterMs ? 0 : 1;
  };
  const far = (copy: C): number =>
    preference.dc !== null && known.get(copy.seId)?.dc === preference.dc ? 0 : 1;
  return copies
    .map((copy, order) => ({
      copy,
      order,
      tier: tier(copy),
      far: far(copy),
      load: preference.load(copy.seId),
    }))
    .sort((a, b) => a.tier - b.tier || a.far - b.far || a.load - b.load || a.order - b.order)
    .map(({ copy }) => copy);
}
