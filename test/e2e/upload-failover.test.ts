import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, json, rawUpload, sha256Hex } from '../support/http';
import { startSplit, type SplitDeployment } from '../support/split';

afterAll(killAll);

/**
 * §3.4: a direct upload larger than the 64 KiB the ingester holds in memory, whose storage
 * process dies part-way through the write (SIGKILL at its third chunk write), is moved to the next
 * SE without the client noticing: the body is replayed from the ingester's spool.
 */
describe('a large direct upload whose SE dies mid-write moves to the next SE', () => {
  let db: TestDatabase;
  let dataDir: string;
  let split: SplitDeployment;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-failover-'));
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [
        // Lower priority first: every upload is offered to edit-a before edit-b.
        {
          id: 'edit-a',
          mode: 'edit',
          env: { ARTSTORE_SE_PRIORITY: '10', ARTSTORE_FAILPOINTS: 'fs.write=kill@3' },
        },
        { id: 'edit-b', mode: 'edit', env: { ARTSTORE_SE_PRIORITY: '20' } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await killAll();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 201 with the content stored whole on the other SE, and no spool left behind', async () => {
    const content = randomBytes(8 * 1024 * 1024 + 17);
    const auth = { authorization: `Bearer ${split.adminToken}` };
    const response = await rawUpload(
      split.ingester.url,
      content,
      { name: 'big.bin', retention_policy: 'temporary' },
      auth,
    );
    const body = await json<{ file_id: string; size: number; sha256: string }>(response);
    expect(response.status).toBe(201);
    expect(body).toMatchObject({ size: content.length, sha256: sha256Hex(content) });
    // The first SE really died part-way (its failpoint killed it).
    const killed = await split.storage.get('edit-a')!.exited;
    expect(killed.signal).toBe('SIGKILL');

    const fetched = await download(split.query.url, body.file_id, auth);
    expect(fetched.response.status).toBe(200);
    expect(sha256Hex(fetched.body)).toBe(sha256Hex(content));
    const saga = await fetch(`${split.admin.url}/api/v1/sagas?file_id=${body.file_id}`, { headers: auth });
    const sagas = await json<{ items: { kind: string; status: string }[] }>(saga);
    expect(sagas.items).toEqual([expect.objectContaining({ kind: 'upload', status: 'done' })]);
    expect(await readdir(join(dataDir, 'ingester', 'staging', 'spool'))).toEqual([]);
  }, 120_000);
});
