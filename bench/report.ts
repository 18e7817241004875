/** Result rows: per-round figures of a baseline and ArtStore, their ratios and the goal. */
import type { Errors } from './client';
import { fmt, fmtRatio, median, minMax } from './stats';

export interface Goal {
  /** 'min': the ratio must be at least `value` (throughput); 'max': at most (latency). */
  readonly kind: 'min' | 'max';
  readonly value: number;
}

export class Row {
  readonly baseline: number[] = [];
  readonly artstore: number[] = [];
  readonly notes: string[] = [];

  constructor(
    readonly id: string,
    readonly name: string,
    readonly unit: string,
    readonly baselineName: string,
    readonly goal: Goal,
  ) {}

  /** Records one paired round (NaN marks a failed measurement) and prints it. */
  add(baseline: number, artstore: number, detail = ''): void {
    this.baseline.push(baseline);
    this.artstore.push(artstore);
    const round = this.baseline.length;
    process.stdout.write(
      `  [${this.id}] round ${round}: ${this.baselineName} ${fmt(baseline)} ${this.unit}, ` +
        `ArtStore ${fmt(artstore)} ${this.unit}, ratio ${fmtRatio(artstore / baseline)}` +
        `${detail ? `  (${detail})` : ''}\n`,
    );
  }

  ratios(): number[] {
    return this.baseline.map((b, i) => this.artstore[i]! / b).filter((r) => Number.isFinite(r));
  }

  meets(): boolean | null {
    const ratios = this.ratios();
    if (ratios.length === 0) return null;
    const m = median(ratios);
    return this.goal.kind === 'min' ? m >= this.goal.value : m <= this.goal.value;
  }

  line(): string {
    const finite = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));
    const show = (xs: number[]): string => (finite(xs).length ? fmt(median(finite(xs))) : 'n/a');
    const ratios = this.ratios();
    const ratio = ratios.length ? fmtRatio(median(ratios)) : 'n/a';
    const range = ratios.length
      ? `[${fmtRatio(minMax(ratios).min)}–${fmtRatio(minMax(ratios).max)}]`
      : '[n/a]';
    const goal = `${this.goal.kind === 'min' ? '≥' : '≤'} ${this.goal.value}`;
    const verdict = this.meets() === null ? 'n/a' : this.meets() ? 'meets' : 'MISSES';
    return [
      `${this.id.length >= 3 ? `${this.id} ` : this.id.padEnd(3)}${this.name.padEnd(40)}`,
      `${this.baselineName.padEnd(13)}${show(this.baseline).padStart(8)}`,
      `${show(this.artstore).padStart(9)} ${this.unit.padEnd(8)}`,
      `${ratio.padStart(5)} ${range.padEnd(12)}`,
      `${goal.padEnd(7)}${verdict}`,
    ].join(' ');
  }
}

export const HEADER = [
  `${'#'.padEnd(3)}${'scenario'.padEnd(40)}`,
  `${'baseline'.padEnd(13)}${'figure'.padStart(8)}`,
  `${'ArtStore'.padStart(9)} ${'unit'.padEnd(8)}`,
  `${'ratio'.padStart(5)} ${'min–max'.padEnd(12)}`,
  `${'goal'.padEnd(7)}verdict`,
].join(' ');

export function reportErrors(label: string, errors: Errors): void {
  if (errors.count > 0)
    process.stdout.write(`  !! ${label}: ${errors.count} failed requests: ${errors.describe()}\n`);
}
