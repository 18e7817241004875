import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStateStore } from '../../src/adapters/memory/memory-state-store';
import { FileStateStore } from '../../src/adapters/wal/file-state-store';
import { describeStateStoreContract } from './storage-element-state.contract';

describeStateStoreContract('FileStateStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'artstore-state-'));
  const path = join(dir, 'state.json');
  return {
    store: new FileStateStore(path),
    reopen: async () => new FileStateStore(path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStateStoreContract('MemoryStateStore', async () => {
  const store = new MemoryStateStore();
  return { store, reopen: async () => store, cleanup: async () => undefined };
});

describe('FileStateStore specifics', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-state-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('leaves only the state file behind after saving (no temp files)', async () => {
    const store = new FileStateStore(join(dir, 'state.json'));
    await Promise.all([store.save({ mode: 'rw' }), store.save({ mode: 'ro' })]);
    await store.save({ mode: 'ar' });
    expect(await readdir(dir)).toEqual(['state.json']);
    await expect(new FileStateStore(join(dir, 'state.json')).load()).resolves.toEqual({ mode: 'ar' });
  });
});
