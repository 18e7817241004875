import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** e2e tests run the built CLI: rebuild dist/ when a source file is newer than the last build. */
export function ensureBuilt(repo: string): void {
  let built = 0;
  try {
    built = statSync(join(repo, 'dist', '.tsbuildinfo')).mtimeMs;
  } catch {
    built = 0;
  }
  const sources = Math.max(newestMtime(join(repo, 'src')), newestMtime(join(repo, 'migrations')));
  if (sources > built)
    execFileSync(
      process.execPath,
      [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: repo, stdio: 'inherit' },
    );
}
