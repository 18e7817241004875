import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, statfs, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ApplicationError } from '../../src/application/errors';
import type { StorageElementService } from '../../src/application/storage/storage-element-service';
import { MikroOrmFileIndex } from '../../src/adapters/persistence/mikro-orm-file-index';
import type { Orm } from '../../src/adapters/persistence/database';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import { configureFailpoints } from '../../src/adapters/system/failpoints';
import { FileWriteAheadLog } from '../../src/adapters/wal/file-write-ahead-log';
import type { DocumentDraft } from '../../src/domain/document/document';
import { aDraft, sha256 } from '../support/builders';
import { openTestOrm } from '../support/database';
import { openLocalElement, type LocalElement } from '../support/local-element';
import { filesUnder, mountTmpfs, NO_TMPFS, unmountTmpfs } from '../support/tmpfs';

/**
 * §4: "ENOSPC or an fsync failure during a write fails that write definitely (never a 2xx), leaves
 * no temp file behind and never serves unsynced data as committed." The storage element on its
 * real adapters (local FS, file WAL, PostgreSQL cache), with the disk really full (a small tmpfs,
 * see test/support/tmpfs.ts) or the fault injected by a failpoint.
 */
const MiB = 1024 * 1024;

/** Takes all but `leave` bytes of the file system holding `dir`, as another program filling the disk would. */
async function fillUp(dir: string, leave: number): Promise<void> {
  const { bavail, bsize } = await statfs(dir);
  await writeFile(
    join(dir, `filler-${randomBytes(3).toString('hex')}`),
    Buffer.alloc(bavail * bsize - leave),
  );
}

async function freeBytes(dir: string): Promise<number> {
  const { bavail, bsize } = await statfs(dir);
  return bavail * bsize;
}

/** `content` in 64 KiB chunks; `beforeFirst` runs when the SE reads the first one, after its free-space check. */
function slowly(content: Buffer, beforeFirst: () => Promise<void> = async () => undefined): Readable {
  return Readable.from(
    (async function* () {
      await beforeFirst();
      for (let at = 0; at < content.length; at += 64 * 1024) yield content.subarray(at, at + 64 * 1024);
    })(),
  );
}

/** Where an SE keeps its files: `<root>/blobs` (maybe a symlink to another disk), `<root>/wal`, `<root>/state.json`. */
interface Layout {
  readonly root: string;
  readonly blobs: string;
  readonly wal: string;
}

const layoutAt = (root: string): Layout => ({ root, blobs: join(root, 'blobs'), wal: join(root, 'wal') });

describe('StorageElementService when the disk fills up or an fsync fails', () => {
  let orm: Orm;
  let done: () => Promise<void>;
  let root: string;
  const codec = new JsonSidecarCodec();
  const opened: (LocalElement | FileWriteAheadLog)[] = [];

  beforeAll(async () => {
    ({ orm, done } = await openTestOrm());
  });
  afterAll(() => done());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-faults-'));
  });
  afterEach(async () => {
    configureFailpoints(undefined);
    await closeAll();
    await rm(root, { recursive: true, force: true });
  });

  async function closeAll(): Promise<void> {
    await Promise.all(opened.splice(0).map((o) => o.close().catch(() => undefined)));
  }

  async function openSe(layout: Layout, id?: string): Promise<StorageElementService> {
    // Capacity far above any tmpfs here: what stops an overflowing write is the medium, not the SE's accounting.
    const element = await openLocalElement(layout.root, orm, {
      capacityBytes: 2 ** 40,
      ...(id ? { id } : {}),
    });
    opened.push(element);
    return element.service;
  }

  /** A new instance on the same directories: start() replays the WAL. */
  async function restart(se: StorageElementService, layout: Layout): Promise<StorageElementService> {
    await closeAll();
    return openSe(layout, se.id);
  }

  /** The failed write left nothing: no temp file, no blob or sidecar, no cache row, nothing served, no open WAL record. */
  async function expectNotStored(
    se: StorageElementService,
    layout: Layout,
    draft: DocumentDraft,
  ): Promise<void> {
    const files = [...(await filesUnder(layout.blobs)), ...(await filesUnder(layout.wal))];
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(files.filter((f) => f.includes(draft.fileId))).toEqual([]);
    await expect(new MikroOrmFileIndex(orm, codec).get(se.id, draft.fileId)).resolves.toBeNull();
    await expect(se.head(draft.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(se.open(draft.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect((await se.info()).walPending).toBe(0);
  }

  /** Nothing stored, and the SE's own counters agree with its cache: the failed write is not counted. */
  async function expectNoTrace(
    se: StorageElementService,
    layout: Layout,
    draft: DocumentDraft,
  ): Promise<void> {
    await expectNotStored(se, layout, draft);
    expect((await se.info()).fileCount).toBe((await new MikroOrmFileIndex(orm, codec).stats(se.id)).files);
  }

  async function readBack(se: StorageElementService, fileId: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of (await se.open(fileId)).stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** A write that fits is stored and reads back. */
  async function expectWritable(se: StorageElementService, size = 10_000): Promise<void> {
    const content = randomBytes(size);
    const stored = await se.put(aDraft({ name: 'after.bin' }), slowly(content), { size: null });
    expect(stored.sha256).toBe(sha256(content));
    expect((await readBack(se, stored.fileId)).equals(content)).toBe(true);
  }

  (NO_TMPFS ? describe.skip : describe)('real ENOSPC on a 2 MiB tmpfs', () => {
    let mount: string;
    let mounted = false;

    beforeEach(async () => {
      mount = join(root, 'tmpfs');
      await mkdir(mount);
      await mountTmpfs(mount, 2 * MiB);
      mounted = true;
    });
    afterEach(async () => {
      if (!mounted) return;
      // Nothing may hold a file open on the tmpfs, or umount refuses.
      await closeAll();
      await unmountTmpfs(mount);
      mounted = false;
    });

    /** The SE's root, so its WAL and state, on the tmpfs; its blobs on the ordinary disk. */
    async function walOnTmpfs(): Promise<Layout> {
      const blobs = join(root, 'blobs');
      await mkdir(blobs);
      await symlink(blobs, join(mount, 'blobs'));
      return layoutAt(mount);
    }

    it.each([
      ['mid-data', 256 * 1024, 1 * MiB],
      ['at the sidecar, the blob having taken the last byte', 64 * 1024, 64 * 1024],
    ])(
      'blob root full %s: storage_full, nothing left behind, the space is free again',
      async (_where, leave, size) => {
        const layout = layoutAt(join(root, 'se'));
        await mkdir(layout.root);
        await symlink(mount, layout.blobs);
        const se = await openSe(layout);
        const draft = aDraft({ name: 'overflow.bin' });
        // The disk fills from outside once the SE has checked its free space and begun the write.
        const put = se.put(
          draft,
          slowly(randomBytes(size), () => fillUp(mount, leave)),
          { size: null },
        );
        await expect(put).rejects.toBeInstanceOf(ApplicationError);
        await expect(put).rejects.toMatchObject({ code: 'storage_full', cause: { code: 'ENOSPC' } });
        await expectNoTrace(se, layout, draft);
        expect(await freeBytes(mount)).toBe(leave);
        await expectWritable(se);

        const recovered = await restart(se, layout);
        await expectNoTrace(recovered, layout, draft);
      },
    );

    it('WAL and state full: the write fails before a byte is stored, the log stays readable', async () => {
      const se = await openSe(await walOnTmpfs());
      await fillUp(mount, 0);
      const draft = aDraft({ name: 'no-log.bin' });
      const put = se.put(draft, slowly(randomBytes(10_000)), { size: null });
      // The raw ENOSPC today, storage_full once the service maps it (the failing test below).
      await expect(put).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOSPC|storage_full)$/u) });
      const layout = layoutAt(mount);
      await expectNoTrace(se, layout, draft);

      for (const name of await readdir(mount)) if (name.startsWith('filler-')) await rm(join(mount, name));
      await expectWritable(se);
      const recovered = await restart(se, layout);
      await expectNoTrace(recovered, layout, draft);
      await expectWritable(recovered);
    });

    it('WAL full: the refusal is storage_full (507), so the ingester can try the next SE', async () => {
      const se = await openSe(await walOnTmpfs());
      await fillUp(mount, 0);
      await expect(se.put(aDraft(), slowly(randomBytes(10)), { size: null })).rejects.toMatchObject({
        code: 'storage_full',
      });
    });

    it('WAL segment ending mid-block: a record cut short by the full disk is failed and cut off, never acknowledged', async () => {
      const dir = join(mount, 'wal');
      let wal = await FileWriteAheadLog.openAt(dir);
      opened.push(wal);
      const intent = (n: number) => ({
        txn: `txn-${String(n).padStart(4, '0')}`,
        op: 'create' as const,
        fileId: `0190b3f0-0000-7000-8000-${String(n).padStart(12, '0')}`,
        key: `2026/03/01/doc_${String(n).padStart(12, '0')}.pdf`,
      });
      const lineBytes = Buffer.byteLength(
        `${JSON.stringify({ t: 'begin', txn: intent(0).txn, op: 'create', file_id: intent(0).fileId, key: intent(0).key })}\n`,
      );
      const segment = async (): Promise<string> => {
        const names = (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
        return join(dir, names.at(-1)!);
      };
      // Records up to the last one that fits in the first 4 KiB block; the next one straddles it.
      let n = 0;
      while ((await stat(await segment())).size + lineBytes <= 4096) await wal.begin(intent(n++));
      const acknowledged = n;
      const sizeBefore = (await stat(await segment())).size;
      expect(sizeBefore).toBeLessThan(4096);
      expect(sizeBefore + lineBytes).toBeGreaterThan(4096);
      await fillUp(mount, 0);

      await expect(wal.begin(intent(n))).rejects.toMatchObject({ code: 'ENOSPC' });
      expect((await stat(await segment())).size).toBe(sizeBefore);
      expect((await wal.unfinished()).map((i) => i.txn)).not.toContain(intent(n).txn);

      // Space again: later records follow the last whole one, and a reopened log reads them all.
      for (const name of await readdir(mount)) if (name.startsWith('filler-')) await rm(join(mount, name));
      for (let i = 0; i < acknowledged - 1; i += 1) await wal.commit(intent(i).txn);
      await wal.begin(intent(n + 1));
      await wal.close();
      opened.splice(0);
      wal = await FileWriteAheadLog.openAt(dir);
      opened.push(wal);
      expect((await wal.unfinished()).map((i) => i.txn)).toEqual([
        intent(acknowledged - 1).txn,
        intent(n + 1).txn,
      ]);
    });
  });

  describe('injected faults (failpoints)', () => {
    const big = 3 * MiB;
    const small = 10_000;
    it.each([
      // [failpoint spec, what fails, content size, the error it must surface as]
      ['fs.write=enospc@2', 'ENOSPC mid-data (second 1 MiB batch)', big, 'storage_full'],
      ['fs.write=enospc@2', 'ENOSPC writing the sidecar', small, 'storage_full'],
      ['fs.before_data_fsync=error', 'fsync of the data file', small, 'storage_unavailable'],
      ['fs.before_data_fsync=error@2', 'fsync of the sidecar', small, 'storage_unavailable'],
      ['fs.before_dir_fsync=error', 'directory fsync after the blob rename', small, 'storage_unavailable'],
      [
        'fs.before_dir_fsync=error@2',
        'directory fsync after the sidecar rename',
        small,
        'storage_unavailable',
      ],
      ['wal.before_fsync=error', 'fsync of the WAL begin record', small, 'storage_unavailable'],
      ['wal.after_fsync=error', 'the WAL begin record (error after its fsync)', small, 'storage_unavailable'],
    ])(
      '%s (%s): the write fails, nothing is left or served, before or after a restart',
      async (spec, _what, size, code) => {
        const layout = layoutAt(root);
        const se = await openSe(layout);
        // After start(): the state file and the WAL's first segment are written without faults.
        configureFailpoints(spec);
        const draft = aDraft({ name: 'faulty.bin' });
        const put = se.put(draft, slowly(randomBytes(size)), { size: null });
        await expect(put).rejects.toMatchObject({ code });
        configureFailpoints(undefined);
        await expectNoTrace(se, layout, draft);

        const recovered = await restart(se, layout);
        await expectNoTrace(recovered, layout, draft);
        await expectWritable(recovered);
      },
    );

    it('wal.before_append=enospc@2 (ENOSPC appending the WAL commit record): rolled back, nothing left or served', async () => {
      const layout = layoutAt(root);
      const se = await openSe(layout);
      configureFailpoints('wal.before_append=enospc@2');
      const draft = aDraft({ name: 'uncommitted.bin' });
      await expect(se.put(draft, slowly(randomBytes(small)), { size: null })).rejects.toMatchObject({
        code: 'storage_full',
      });
      configureFailpoints(undefined);
      await expectNotStored(se, layout, draft);
      const recovered = await restart(se, layout);
      await expectNoTrace(recovered, layout, draft);
      await expectWritable(recovered);
    });

    it('a write whose WAL commit failed is not counted in the SE info', async () => {
      const se = await openSe(layoutAt(root));
      configureFailpoints('wal.before_append=enospc@2');
      await expect(se.put(aDraft(), slowly(randomBytes(small)), { size: null })).rejects.toMatchObject({
        code: 'storage_full',
      });
      expect((await se.info()).fileCount).toBe(0);
    });

    it('a commit record that could not be written keeps the transaction open until its abort is', async () => {
      const layout = layoutAt(root);
      const se = await openSe(layout);
      configureFailpoints('wal.before_append=enospc@2+');
      const draft = aDraft({ name: 'stuck.bin' });
      await expect(se.put(draft, slowly(randomBytes(small)), { size: null })).rejects.toMatchObject({
        code: 'storage_full',
      });
      // Rolled back on disk and in the cache, but the abort is not logged: the replay still owes it.
      expect((await se.info()).walPending).toBe(1);
      await expect(se.head(draft.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
      configureFailpoints(undefined);
      await expectNoTrace(await restart(se, layout), layout, draft);
    });

    it('a new directory whose entry failed to fsync is fsynced again by the next write into it', async () => {
      const layout = layoutAt(root);
      const se = await openSe(layout);
      await expectWritable(se);
      const uploadedAt = new Date('2026-04-02T10:00:00.000Z');
      configureFailpoints('fs.dir_fsync=error');
      const first = aDraft({ name: 'first.bin', uploadedAt });
      await expect(se.put(first, slowly(randomBytes(small)), { size: null })).rejects.toMatchObject({
        code: 'storage_unavailable',
      });
      configureFailpoints(undefined);
      await expectNoTrace(se, layout, first);
      // 2026/04/02 exists now, its entry in 2026/04 and that one's in 2026 unsynced. The next write
      // into it syncs both first, so its third directory fsync is the one after the blob's rename,
      // and it fails. Had it taken the directory as durable, it would do two in all and succeed.
      configureFailpoints('fs.dir_fsync=error@3');
      const second = aDraft({ name: 'second.bin', uploadedAt });
      await expect(se.put(second, slowly(randomBytes(small)), { size: null })).rejects.toMatchObject({
        code: 'storage_unavailable',
      });
      configureFailpoints(undefined);
      await expectNoTrace(se, layout, second);
      await expectWritable(se);
    });
  });
});
