/**
 * Chaos campaigns run in two tiers (issue 7): tier 1 inside `npm test` (CI, the whole chaos project
 * within 15 minutes), tier 2 with `npm run test:chaos` (CHAOS_TIER=2: thousands of injections, an
 * hour of soak). A campaign sizes itself with `byTier`.
 */
export const TIER: 1 | 2 = process.env.CHAOS_TIER === '2' ? 2 : 1;

export function byTier<T>(tier1: T, tier2: T): T {
  return TIER === 2 ? tier2 : tier1;
}
