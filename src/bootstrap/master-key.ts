import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config';

/**
 * The master key that encrypts the signing keys at rest: ARTSTORE_AUTH_MASTER_KEY, else
 * `<data_dir>/master.key`, generated on first use unless `create` is false (null then). The
 * server and the offline `artstore keys` command must read the same key, so both come here.
 */
export async function loadMasterKey(
  config: Pick<Config, 'auth_master_key' | 'data_dir'>,
  options?: { create: true },
): Promise<string>;
export async function loadMasterKey(
  config: Pick<Config, 'auth_master_key' | 'data_dir'>,
  options: { create: boolean },
): Promise<string | null>;
export async function loadMasterKey(
  config: Pick<Config, 'auth_master_key' | 'data_dir'>,
  options: { create: boolean } = { create: true },
): Promise<string | null> {
  if (config.auth_master_key) return config.auth_master_key;
  const path = masterKeyPath(config.data_dir);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (!options.create) return null;
  await mkdir(config.data_dir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  // `wx`: two processes starting at once must not each write a different key.
  await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

export function masterKeyPath(dataDir: string): string {
  return join(dataDir, 'master.key');
}
