import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function packageVersion(): string {
  // src/bootstrap in tests, dist/src/bootstrap when built: search upwards for package.json.
  for (const up of ['../..', '../../..']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      // try the next level
    }
  }
  return '0.0.0';
}

export const VERSION = packageVersion();
