import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signInAsBootstrapAdmin } from '../support/auth';
import { killAll, startServe } from '../support/artstore-process';
import { json, rawUpload } from '../support/http';

afterAll(killAll);

/** Issue 2: with no database URL, `artstore serve` runs on an embedded PostgreSQL under the data dir. */
describe('embedded default (no ARTSTORE_DATABASE_URL, no Redis)', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'artstore-embedded-')), 'data');
    await chmod(join(dataDir, '..'), 0o755);
  });
  afterAll(async () => {
    await killAll();
    await rm(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('starts its own PostgreSQL, keeps data across a clean restart and across kill -9', async () => {
    const first = await startServe(['--data-dir', dataDir], {}, 120_000);
    await signInAsBootstrapAdmin(first.url, dataDir);
    expect((await stat(join(dataDir, 'postgres', 'PG_VERSION'))).isFile()).toBe(true);
    const ready = await json<{ checks: { name: string; ok: boolean }[] }>(
      await fetch(`${first.url}/health/ready`),
    );
    expect(ready.checks).toEqual(expect.arrayContaining([{ name: 'database', ok: true }]));
    const upload = await rawUpload(first.url, Buffer.from('kept'), {
      name: 'kept.txt',
      retention_policy: 'permanent',
    });
    expect(upload.status).toBe(201);
    const { file_id } = await json<{ file_id: string }>(upload);
    expect(await first.stop()).toBe(0);

    const second = await startServe(['--data-dir', dataDir], {}, 120_000);
    // A token's issuer is the URL it was obtained at: a restart on another port needs a new one.
    await signInAsBootstrapAdmin(second.url, dataDir);
    expect(await (await fetch(`${second.url}/api/v1/files/${file_id}/content`)).text()).toBe('kept');
    // A crash leaves the embedded postmaster running; the next start must take over cleanly.
    await second.kill();

    const third = await startServe(['--data-dir', dataDir], {}, 120_000);
    await signInAsBootstrapAdmin(third.url, dataDir);
    expect(await (await fetch(`${third.url}/api/v1/files/${file_id}/content`)).text()).toBe('kept');
    expect(await third.stop()).toBe(0);
  });
});
