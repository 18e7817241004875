import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIER } from './tier';

/** Where every campaign of one jest run appends its figures; test/chaos/table.mjs prints them. */
export const FIGURES_FILE = join(__dirname, '..', '..', '..', '.chaos-figures.jsonl');

/** One measured figure of a campaign, with its target when it has one (`0 lost`, `≤ 5 s`). */
export interface Figure {
  readonly name: string;
  readonly value: number | string;
  readonly target?: string;
  /** Whether the value meets the target; leave out for figures without a target. */
  readonly ok?: boolean;
}

/**
 * Records a campaign's figures: printed at once (visible in the jest output) and appended to
 * FIGURES_FILE, from which `node test/chaos/table.mjs` prints the table of the whole run.
 */
export function recordFigures(campaign: string, figures: readonly Figure[]): void {
  const line = { campaign, tier: TIER, at: new Date().toISOString(), figures };
  appendFileSync(FIGURES_FILE, `${JSON.stringify(line)}\n`);
  const text = figures
    .map(
      (f) =>
        `  ${f.name}: ${f.value}${f.target ? ` (target ${f.target}${f.ok === false ? ', MISSED' : ''})` : ''}`,
    )
    .join('\n');
  process.stdout.write(`\n[chaos tier ${TIER}] ${campaign}\n${text}\n`);
}
