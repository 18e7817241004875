// Per-tier test timeout (jest's testTimeout is global only). Tier 2 campaigns run for up to an hour.
jest.setTimeout(process.env.CHAOS_TIER === '2' ? 2 * 60 * 60 * 1000 : 10 * 60 * 1000);
