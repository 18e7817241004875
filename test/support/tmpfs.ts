import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Real ENOSPC needs a small tmpfs, and mounting one needs root (as on the CI machines). Where it
 * cannot be mounted the tests that need one fail with the reason; ARTSTORE_TEST_NO_TMPFS=1 skips
 * them instead.
 */
export const NO_TMPFS = process.env.ARTSTORE_TEST_NO_TMPFS === '1';

export async function mountTmpfs(dir: string, bytes: number): Promise<void> {
  const hint = 'set ARTSTORE_TEST_NO_TMPFS=1 to skip the real-ENOSPC tests';
  if (process.getuid?.() !== 0) {
    throw new Error(`a small tmpfs is needed for real ENOSPC and mounting one needs root: ${hint}`);
  }
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  } catch (error) {
    throw new Error(`mount -t tmpfs at ${dir} failed (${(error as Error).message.trim()}): ${hint}`);
  }
}

export async function unmountTmpfs(dir: string): Promise<void> {
  await execFileAsync('umount', [dir]);
}

/** Every file below `dir` (temp files too), relative to it; none when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}
