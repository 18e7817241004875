import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFsBlobStore } from '../../src/adapters/blob-store/local-fs-blob-store';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store';
import { describeBlobStoreContract } from './blob-store.contract';

describeBlobStoreContract('LocalFsBlobStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'artstore-blobs-'));
  return {
    store: new LocalFsBlobStore(root),
    reopen: async () => new LocalFsBlobStore(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describeBlobStoreContract('MemoryBlobStore', async () => {
  const store = new MemoryBlobStore();
  return { store, reopen: async () => store, cleanup: async () => undefined };
});

describe('LocalFsBlobStore specifics', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-blobs-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('never lists temp files and discardIncomplete removes those of its key only', async () => {
    const store = new LocalFsBlobStore(root);
    await store.put('2026/01/01/a.bin', Buffer.from('a'));
    const dir = join(root, '2026/01/01');
    await writeFile(join(dir, '.a.bin.0123456789ab.tmp'), 'partial');
    await writeFile(join(dir, '.b.bin.0123456789ab.tmp'), 'partial');
    const listed: string[] = [];
    for await (const key of store.list()) listed.push(key);
    expect(listed).toEqual(['2026/01/01/a.bin']);
    await store.discardIncomplete('2026/01/01/a.bin');
    expect((await readdir(dir)).sort()).toEqual(['.b.bin.0123456789ab.tmp', 'a.bin']);
  });

  it('refuses keys that could leave its directory', async () => {
    const store = new LocalFsBlobStore(root);
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b', '']) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow('invalid blob key');
    }
  });

  it('reports the space of its medium', async () => {
    const space = await new LocalFsBlobStore(root).space();
    expect(space.totalBytes).toBeGreaterThan(0);
    expect(space.freeBytes).toBeGreaterThan(0);
    expect(space.freeBytes).toBeLessThanOrEqual(space.totalBytes);
  });
});
