#!/usr/bin/env node
// Prints the figures every chaos campaign of the last jest run recorded (test/chaos/support/figures.ts).
import { existsSync, readFileSync } from 'node:fs';

const file = new URL('../../.chaos-figures.jsonl', import.meta.url);
if (!existsSync(file)) {
  console.log('no chaos figures recorded (the chaos project did not run)');
  process.exit(0);
}
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const table = [];
for (const { campaign, tier, figures } of rows)
  for (const f of figures)
    table.push([
      `${tier}`,
      campaign,
      f.name,
      String(f.value),
      f.target ?? '',
      f.ok === undefined ? '' : f.ok ? 'meets' : 'MISSES',
    ]);
const header = ['tier', 'campaign', 'figure', 'value', 'target', ''];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (r) =>
  r
    .map((c, i) => c.padEnd(widths[i]))
    .join('  ')
    .trimEnd();
console.log(line(header));
for (const r of table) console.log(line(r));
