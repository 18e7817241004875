import { existsSync, readFileSync } from 'node:fs';
import { FIGURES_FILE, recordFigures } from './support/figures';
import { byTier, TIER } from './support/tier';

describe('chaos harness', () => {
  it('records a campaign’s figures for the run’s table', () => {
    recordFigures('harness', [{ name: 'tier', value: TIER, target: byTier('1', '2'), ok: true }]);
    expect(existsSync(FIGURES_FILE)).toBe(true);
    const last = readFileSync(FIGURES_FILE, 'utf8').trim().split('\n').at(-1)!;
    expect(JSON.parse(last)).toMatchObject({ campaign: 'harness', tier: TIER });
  });
});
