#!/usr/bin/env node
/**
 * `npm test`: the four tiers (unit, contract, integration, e2e) on parallel workers, then the chaos
 * campaigns on their own, one at a time — their figures (restart times, latency bounds, the soak's
 * peak) mean nothing with other tests competing for the same cores.
 *
 * Arguments go to both runs (a path filter selects from both). `--outputFile F` (with `--json`)
 * writes one report: the two runs' results merged into F. With `--selectProjects` it is one plain
 * jest run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const JEST = ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js'];
const args = process.argv.slice(2);

function jest(extra) {
  const run = spawnSync(process.execPath, [...JEST, ...extra], { stdio: 'inherit' });
  return run.status ?? 1;
}

/** The --outputFile value and the other arguments. */
function splitOutput(list) {
  const rest = [];
  let output = null;
  for (let i = 0; i < list.length; i++) {
    const arg = list[i];
    if (arg === '--outputFile') output = list[++i];
    else if (arg.startsWith('--outputFile=')) output = arg.slice('--outputFile='.length);
    else rest.push(arg);
  }
  return { output, rest };
}

/** A run that died before writing its report counts as a failed suite, so the summary cannot look green. */
function merge(files, into) {
  const reports = files
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')));
  const missing = files.length - reports.length;
  if (reports.length === 0) return;
  const merged = { ...reports[0], testResults: [] };
  for (const key of Object.keys(merged)) {
    if (key.startsWith('num')) merged[key] = reports.reduce((sum, r) => sum + (r[key] ?? 0), 0);
  }
  merged.numRuntimeErrorTestSuites += missing;
  merged.numFailedTestSuites += missing;
  merged.numFailedTests += missing;
  merged.success = missing === 0 && reports.every((r) => r.success);
  merged.startTime = Math.min(...reports.map((r) => r.startTime));
  merged.testResults = reports.flatMap((r) => r.testResults);
  writeFileSync(into, JSON.stringify(merged));
  for (const file of files) rmSync(file, { force: true });
}

if (args.some((arg) => arg === '--selectProjects' || arg.startsWith('--selectProjects='))) {
  process.exit(jest(args));
}

const { output, rest } = splitOutput(args);
if (output) rmSync(output, { force: true });
const phases = [
  {
    name: 'tiers',
    args: [
      '--selectProjects',
      'unit',
      'contract',
      'integration',
      'e2e',
      `--maxWorkers=${Math.max(2, availableParallelism())}`,
    ],
  },
  { name: 'chaos', args: ['--selectProjects', 'chaos', '--runInBand'] },
];
let status = 0;
const reports = [];
for (const phase of phases) {
  const report = output ? `${output}.${phase.name}` : null;
  const code = jest([
    ...phase.args,
    '--passWithNoTests',
    ...rest,
    ...(report ? [`--outputFile=${report}`] : []),
  ]);
  if (report) reports.push(report);
  if (code !== 0) status = code;
}
if (output) merge(reports, output);
process.exit(status);
