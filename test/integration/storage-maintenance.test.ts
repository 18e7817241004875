import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, truncate, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Orm } from '../../src/adapters/persistence/database';
import { MikroOrmFixityLog } from '../../src/adapters/persistence/mikro-orm-fixity-log';
import { StorageElementService } from '../../src/application/storage/storage-element-service';
import { sidecarKeyFor } from '../../src/domain/document/blob-key';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { aDraft } from '../support/builders';
import { openTestOrm } from '../support/database';
import { RecordingObserver } from '../support/fakes';
import { openLocalElement, type LocalElement } from '../support/local-element';

/** Reconcile, scrub and verified reads on the real adapters: damage is made on disk, by hand. */
describe('storage element maintenance on local FS + WAL + PostgreSQL', () => {
  let orm: Orm;
  let done: () => Promise<void>;
  let root: string;
  let element: LocalElement;
  let se: StorageElementService;
  let observer: RecordingObserver;

  beforeAll(async () => {
    ({ orm, done } = await openTestOrm());
  });
  afterAll(() => done());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-maint-'));
    observer = new RecordingObserver();
    element = await openLocalElement(root, orm, {
      initialMode: 'rw',
      verifyOnReadMaxBytes: 64 * 1024,
      staleTempAfterMs: 60 * 60 * 1000,
      observer,
    });
    se = element.service;
  });
  afterEach(async () => {
    await element.close();
    await rm(root, { recursive: true, force: true });
  });

  const pathOf = (key: string): string => join(root, 'blobs', ...key.split('/'));
  const store = (name: string, content: Buffer): Promise<DocumentAttributes> =>
    se.put(aDraft({ name }), Readable.from([content]), { size: content.length });

  async function flipByte(key: string, at: number): Promise<void> {
    const handle = await open(pathOf(key), 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, at);
      byte[0]! ^= 0x20;
      await handle.write(byte, 0, 1, at);
    } finally {
      await handle.close();
    }
  }

  async function quarantinedFiles(): Promise<string[]> {
    const names = await readdir(join(root, 'blobs', 'quarantine'), { recursive: true }).catch(() => []);
    return names.filter((name) => /\.(bin|json)$/u.test(name)).map((name) => name.replace(/^[^/]+\//u, ''));
  }

  it('detects and repairs every kind of damage made on disk, then finds the SE clean', async () => {
    const intact = await store('intact.bin', randomBytes(10_000));
    const flipped = await store('flipped.bin', randomBytes(10_000));
    const torn = await store('torn.bin', randomBytes(10_000));
    const lost = await store('lost.bin', randomBytes(10_000));
    const unindexed = await store('unindexed.bin', randomBytes(10_000));
    await flipByte(flipped.stored.key, 5_000);
    await truncate(pathOf(sidecarKeyFor(torn.stored.key)), 40);
    await unlink(pathOf(lost.stored.key));
    await orm.em
      .fork()
      .getConnection()
      .execute('delete from se_files where se_id = ? and file_id = ?', [se.id, unindexed.fileId]);
    const dayDir = join(root, 'blobs', ...intact.stored.key.split('/').slice(0, 3));
    const orphan = `${intact.stored.key.split('/').slice(0, 3).join('/')}/stray_0190f1a2-0000-7000-8000-0000000000aa.bin`;
    await writeFile(pathOf(orphan), 'nobody knows me');
    const staleTemp = join(dayDir, '.old_0190f1a2-0000-7000-8000-0000000000bb.bin.0123456789ab.tmp');
    const freshTemp = join(dayDir, '.new_0190f1a2-0000-7000-8000-0000000000cc.bin.ba9876543210.tmp');
    await writeFile(staleTemp, 'left by a crash long ago');
    await writeFile(freshTemp, 'a write in progress');
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(staleTemp, longAgo, longAgo);

    const dry = await se.reconcile({ repair: false, checksums: true });
    expect(Object.fromEntries(Object.entries(dry.counts).filter(([, n]) => n > 0))).toEqual({
      checksum_mismatch: 1,
      corrupt_sidecar: 1,
      missing_blob: 1,
      missing_row: 1,
      orphan_blob: 1,
      stale_temp: 1,
    });
    expect(dry.findings.every((f) => f.action === 'reported')).toBe(true);

    const repaired = await se.reconcile({ repair: true, checksums: true });
    const byKind = Object.fromEntries(repaired.findings.map((f) => [f.kind, [f.fileId, f.action]]));
    expect(byKind).toEqual({
      checksum_mismatch: [flipped.fileId, 'quarantined'],
      corrupt_sidecar: [torn.fileId, 'repaired'],
      missing_blob: [lost.fileId, 'quarantined'],
      missing_row: [unindexed.fileId, 'repaired'],
      orphan_blob: ['0190f1a2-0000-7000-8000-0000000000aa', 'quarantined'],
      stale_temp: ['0190f1a2-0000-7000-8000-0000000000bb', 'removed'],
    });
    expect((await quarantinedFiles()).sort()).toEqual(
      [flipped.stored.key, sidecarKeyFor(flipped.stored.key), sidecarKeyFor(lost.stored.key), orphan].sort(),
    );
    expect((await readdir(dayDir)).filter((n) => n.endsWith('.tmp'))).toEqual([
      '.new_0190f1a2-0000-7000-8000-0000000000cc.bin.ba9876543210.tmp',
    ]);
    await expect(se.head(torn.fileId)).resolves.toEqual(torn);
    await expect(se.head(unindexed.fileId)).resolves.toEqual(unindexed);
    for (const gone of [flipped, lost])
      await expect(se.head(gone.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect(observer.quarantines.map((q) => q.fileId).sort()).toEqual(
      [flipped.fileId, lost.fileId, '0190f1a2-0000-7000-8000-0000000000aa'].sort(),
    );

    const again = await se.reconcile({ repair: true, checksums: true });
    expect(again.findings).toEqual([]);
    expect(again.scanned).toEqual({ objects: 6, sidecars: 3, rows: 3 });
    expect((await se.info()).fileCount).toBe(3);
  });

  it('scrubs with a rate set (the pacing itself: scrub-pacer.test.ts), keeps a fixity history per file in PostgreSQL, and quarantines rot', async () => {
    const files = [];
    for (let i = 0; i < 4; i += 1) files.push(await store(`s-${i}.bin`, randomBytes(200_000)));
    await flipByte(files[2]!.stored.key, 123_456);
    const started = await se.startScrub({ rateBytesPerSecond: 400 * 1024 * 1024 });
    expect(started).toMatchObject({ state: 'running', rateBytesPerSecond: 400 * 1024 * 1024 });
    const fixity = new MikroOrmFixityLog(orm);
    // The scrub runs in the background: its status says when it has finished.
    const deadline = Date.now() + 20_000;
    while ((await se.scrubStatus()).state === 'running' && Date.now() < deadline)
      await new Promise((resolve) => setImmediate(resolve));
    expect(await se.scrubStatus()).toMatchObject({
      state: 'finished',
      filesTotal: 4,
      filesChecked: 4,
      bytesChecked: 800_000,
      failureCount: 1,
      failures: [{ fileId: files[2]!.fileId, problem: 'checksum differs from the sidecar' }],
    });
    expect(await fixity.history(files[2]!.fileId, { limit: 10 })).toEqual([
      expect.objectContaining({ seId: se.id, ok: false, trigger: 'scrub' }),
    ]);
    expect(await fixity.history(files[0]!.fileId, { limit: 10 })).toEqual([
      expect.objectContaining({ seId: se.id, ok: true, detail: null, trigger: 'scrub' }),
    ]);
    expect(await quarantinedFiles()).toEqual(
      expect.arrayContaining([files[2]!.stored.key, sidecarKeyFor(files[2]!.stored.key)]),
    );
    expect((await se.info()).health.status).toBe('degraded');
  });

  it('never hands out a complete corrupt copy: small reads fail up front, large ones before their end', async () => {
    const small = await store('small.bin', randomBytes(60 * 1024));
    const large = await store('large.bin', randomBytes(5 * 1024 * 1024 + 17));
    await flipByte(small.stored.key, 100);
    await flipByte(large.stored.key, large.size - 1);

    await expect(se.open(small.fileId)).rejects.toMatchObject({ code: 'file_corrupt' });
    const opened = await se.open(large.fileId);
    let received = 0;
    await expect(
      (async () => {
        for await (const chunk of opened.stream) received += (chunk as Buffer).length;
      })(),
    ).rejects.toMatchObject({ code: 'file_corrupt' });
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(large.size);
    for (const file of [small, large])
      await expect(se.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });
});
