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
      ingesterEnv: { ARTSTORE_REPLICATION_PERMANENT: '2' },
      storageElements: [
        // Lower priority first: every upload is offered to edit-a before edit-b.
        {
          id: 'edit-a',
          mode: 'edit',
          env: { ARTSTORE_SE_PRIORITY: '10', ARTSTORE_FAILPOINTS: 'fs.write=kill@3' },
        },
        { id: 'edit-b', mode: 'edit', env: { ARTSTORE_SE_PRIORITY: '20' } },
        // Permanent files: two copies written at once, on rw-a and rw-b (distinct dcs) first.
        {
          id: 'rw-a',
          mode: 'rw',
          env: { ARTSTORE_SE_PRIORITY: '10', ARTSTORE_SE_DC: 'dc1', ARTSTORE_FAILPOINTS: 'fs.write=kill@3' },
        },
        { id: 'rw-b', mode: 'rw', env: { ARTSTORE_SE_PRIORITY: '20', ARTSTORE_SE_DC: 'dc2' } },
        { id: 'rw-c', mode: 'rw', env: { ARTSTORE_SE_PRIORITY: '30', ARTSTORE_SE_DC: 'dc3' } },
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

  it('a permanent upload whose copies are written at once loses one SE mid-write: the two copies end on the others', async () => {
    const content = randomBytes(6 * 1024 * 1024 + 5);
    const auth = { authorization: `Bearer ${split.adminToken}` };
    const response = await rawUpload(
      split.ingester.url,
      content,
      { name: 'record.bin', retention_policy: 'permanent' },
      auth,
    );
    const body = await json<{ file_id: string; sha256: string }>(response);
    expect(response.status).toBe(201);
    expect(body.sha256).toBe(sha256Hex(content));
    expect((await split.storage.get('rw-a')!.exited).signal).toBe('SIGKILL');
    const copies = await fetch(`${split.admin.url}/api/v1/sagas?file_id=${body.file_id}`, { headers: auth });
    const [saga] = (
      await json<{ items: { status: string; payload: { copies: { seId: string }[] } }[] }>(copies)
    ).items;
    expect(saga?.status).toBe('done');
    expect(saga?.payload.copies.map((c) => c.seId).sort()).toEqual(['rw-b', 'rw-c']);
    const fetched = await download(split.query.url, body.file_id, auth);
    expect(sha256Hex(fetched.body)).toBe(sha256Hex(content));
  }, 120_000);
});
