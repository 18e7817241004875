import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { signInAsBootstrapAdmin } from '../support/auth';
import { killAll, startServe } from '../support/artstore-process';
import { createTestDatabase } from '../support/database';
import { download, expectProblem, json, multipartUpload, rawUpload } from '../support/http';

afterAll(killAll);

/** §4: the sidecars alone rebuild every SE cache and the catalog, with zero differences. */
describe('rebuilding the catalog and the SE caches from the sidecars (--role all)', () => {
  it('restores every active file exactly as it was after its tables were emptied', async () => {
    const db = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'artstore-rebuild-'));
    try {
      const first = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
      await signInAsBootstrapAdmin(first.url, dataDir);
      const word = `rebuild${randomBytes(3).toString('hex')}`;
      const contents = [randomBytes(10_000), randomBytes(1), Buffer.alloc(0)];
      const uploads = [
        rawUpload(first.url, contents[0]!, {
          name: `${word}-permanent.pdf`,
          retention_policy: 'permanent',
          tags: 'finance,q3',
          collection: 'records',
        }),
        rawUpload(first.url, contents[1]!, { name: `${word}-draft.txt`, ttl_days: '7' }),
        multipartUpload(first.url, contents[2]!, `${word}-empty.pdf`, { retention_policy: 'permanent' }),
      ];
      const ids: string[] = [];
      for (const response of await Promise.all(uploads)) {
        expect(response.status).toBe(201);
        ids.push((await json<{ file_id: string }>(response)).file_id);
      }
      const before = await Promise.all(
        ids.map(async (id) => json(await fetch(`${first.url}/api/v1/files/${id}`))),
      );
      expect(await first.stop()).toBe(0);

      const client = new Client({ connectionString: db.url });
      await client.connect();
      await client.query('truncate files, file_copies, se_files');
      await client.end();

      const second = await startServe(['--data-dir', dataDir], { ARTSTORE_DATABASE_URL: db.url });
      await signInAsBootstrapAdmin(second.url, dataDir);
      await expectProblem(await fetch(`${second.url}/api/v1/files/${ids[0]}`), 404, 'file_not_found');
      const rebuilt = await fetch(`${second.url}/api/v1/admin/catalog/rebuild`, { method: 'POST' });
      expect(rebuilt.status).toBe(200);
      const report = await json<{ files: number; storage_elements: Record<string, { indexed: number }> }>(
        rebuilt,
      );
      expect(report.files).toBe(3);
      expect(report.storage_elements['edit-1']!.indexed + report.storage_elements['rw-1']!.indexed).toBe(3);

      const after = await Promise.all(
        ids.map(async (id) => json(await fetch(`${second.url}/api/v1/files/${id}`))),
      );
      expect(after).toEqual(before);
      for (const [i, id] of ids.entries()) {
        const { response, body } = await download(second.url, id);
        expect(response.status).toBe(200);
        expect(body.equals(contents[i]!)).toBe(true);
      }
      const found = await json<{ items: { file_id: string }[] }>(
        await fetch(`${second.url}/api/v1/search?q=${word}`),
      );
      expect(found.items.map((f) => f.file_id).sort()).toEqual([...ids].sort());
      expect(await second.stop()).toBe(0);
    } finally {
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
