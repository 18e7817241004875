import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, appendFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { StorageElementService } from '../../src/application/storage/storage-element-service';
import { FileWriteAheadLog } from '../../src/adapters/wal/file-write-ahead-log';
import { blobKeyFor, sidecarKeyFor } from '../../src/domain/document/blob-key';
import type { Orm } from '../../src/adapters/persistence/database';
import { aDraft, sha256 } from '../support/builders';
import { openTestOrm } from '../support/database';
import { openLocalElement } from '../support/local-element';

/** The storage element on its real adapters: local FS, file WAL, PostgreSQL cache. */
describe('StorageElementService on local FS + WAL + PostgreSQL', () => {
  let orm: Orm;
  let done: () => Promise<void>;
  let root: string;
  const opened: FileWriteAheadLog[] = [];

  beforeAll(async () => {
    ({ orm, done } = await openTestOrm());
  });
  afterAll(() => done());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-se-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((wal) => wal.close()));
    await rm(root, { recursive: true, force: true });
  });

  async function openSe(
    id = `se-${randomBytes(3).toString('hex')}`,
    initialMode: 'edit' | 'rw' = 'edit',
  ): Promise<StorageElementService> {
    const element = await openLocalElement(root, orm, { id, initialMode });
    opened.push(element.wal);
    return element.service;
  }

  async function restart(se: StorageElementService): Promise<StorageElementService> {
    await Promise.all(opened.splice(0).map((wal) => wal.close()));
    return openSe(se.id, 'rw');
  }

  it('stores blob and pretty sidecar side by side and reads them back', async () => {
    const se = await openSe();
    const content = randomBytes(123_457);
    const stored = await se.put(aDraft({ name: 'Договор №5.pdf' }), Readable.from([content]), {
      size: content.length,
    });
    expect(stored.sha256).toBe(sha256(content));
    const dir = join(root, 'blobs', stored.stored.key.split('/').slice(0, 3).join('/'));
    expect((await readdir(dir)).sort()).toEqual([
      `Договор_5_${stored.fileId}.pdf`,
      `Договор_5_${stored.fileId}.pdf.attr.json`,
    ]);
    const opened = await se.open(stored.fileId, { start: 100, end: 199 });
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(content.subarray(100, 200))).toBe(true);
  });

  it('rebuilds its cache from the sidecars alone: same documents after the rows are gone', async () => {
    const se = await openSe();
    const before = [];
    for (let i = 0; i < 7; i += 1) {
      const content = randomBytes(1_000 + i);
      before.push(
        await se.put(
          aDraft({ name: `doc-${i}.txt`, tags: [`t${i}`], metadata: { n: String(i) } }),
          Readable.from([content]),
          { size: null },
        ),
      );
    }
    await orm.em.fork().getConnection().execute('delete from se_files where se_id = ?', [se.id]);
    expect((await se.listAttributes({ cursor: null, limit: 100 })).items).toEqual([]);
    const report = await se.rebuild();
    expect(report).toMatchObject({ scanned: 7, indexed: 7, removed: 0, problems: [] });
    const after = (await se.listAttributes({ cursor: null, limit: 100 })).items;
    expect(after).toEqual([...before].sort((a, b) => a.fileId.localeCompare(b.fileId)));
    expect((await se.info()).fileCount).toBe(7);
  });

  it('replay rolls a complete, verified create forward and a partial one back, removing its temp file', async () => {
    const se = await openSe();
    const content = randomBytes(4_096);
    // A create that finished on disk but whose WAL commit and cache row were lost (crash after the sidecar).
    const complete = await se.put(aDraft({ name: 'complete.bin' }), Readable.from([content]), { size: null });
    await orm.em
      .fork()
      .getConnection()
      .execute('delete from se_files where se_id = ? and file_id = ?', [se.id, complete.fileId]);
    const wal = opened[0]!;
    await wal.begin({
      txn: 'crash-complete',
      op: 'create',
      fileId: complete.fileId,
      key: complete.stored.key,
    });
    // A create that died mid-blob: WAL begin and a temp file, nothing else.
    const partial = aDraft({ name: 'partial.bin' });
    const partialKey = blobKeyFor(partial.fileId, partial.name, partial.uploadedAt);
    await wal.begin({ txn: 'crash-partial', op: 'create', fileId: partial.fileId, key: partialKey });
    const partialDir = join(root, 'blobs', partialKey.split('/').slice(0, 3).join('/'));
    const partialName = partialKey.split('/').at(-1)!;
    await writeFile(join(partialDir, `.${partialName}.0123456789ab.tmp`), randomBytes(100));
    // A create whose blob is complete but whose sidecar is torn.
    const torn = await se.put(aDraft({ name: 'torn.bin' }), Readable.from([content]), { size: null });
    await truncate(join(root, 'blobs', sidecarKeyFor(torn.stored.key)), 50);
    await wal.begin({ txn: 'crash-torn', op: 'create', fileId: torn.fileId, key: torn.stored.key });

    const recovered = await restart(se);
    expect((await recovered.info()).walPending).toBe(0);
    await expect(recovered.head(complete.fileId)).resolves.toMatchObject({ sha256: sha256(content) });
    await expect(recovered.head(partial.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(recovered.head(torn.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    const names = await readdir(partialDir);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(names.some((n) => n.startsWith('torn_'))).toBe(false);
  });

  it('finishes an interrupted delete on restart', async () => {
    const se = await openSe();
    const stored = await se.put(aDraft({ name: 'gone.txt' }), Readable.from([Buffer.from('bye')]), {
      size: 3,
    });
    await opened[0]!.begin({
      txn: 'crash-delete',
      op: 'delete',
      fileId: stored.fileId,
      key: stored.stored.key,
    });
    const recovered = await restart(se);
    await expect(recovered.head(stored.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    const dir = join(root, 'blobs', stored.stored.key.split('/').slice(0, 3).join('/'));
    expect((await readdir(dir)).filter((n) => n.startsWith('gone_'))).toEqual([]);
  });

  it('ignores a torn final WAL line on restart', async () => {
    const se = await openSe();
    const stored = await se.put(aDraft({ name: 'fine.txt' }), Readable.from([Buffer.from('fine')]), {
      size: 4,
    });
    const walFiles = (await readdir(join(root, 'wal'))).filter((f) => f.endsWith('.log')).sort();
    await appendFile(join(root, 'wal', walFiles.at(-1)!), '{"t":"begin","txn":"torn","op":"cre');
    const recovered = await restart(se);
    await expect(recovered.head(stored.fileId)).resolves.toMatchObject({ name: 'fine.txt' });
    expect((await recovered.info()).walPending).toBe(0);
  });

  it('keeps its mode across restarts: the durable state wins over the configured initial mode', async () => {
    const se = await openSe(undefined, 'rw');
    await se.changeMode('ro', false);
    const recovered = await restart(se);
    expect(recovered.currentMode()).toBe('ro');
    await expect(
      recovered.put(aDraft(), Readable.from([Buffer.from('x')]), { size: 1 }),
    ).rejects.toMatchObject({ code: 'mode_forbids_operation' });
  });
});
