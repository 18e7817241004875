import { CachingFileIndex } from '../../../src/adapters/cache/caching-file-index';
import { MemoryFileIndex } from '../../../src/adapters/memory/memory-file-index';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import { aDocument } from '../../support/builders';

/** A memory index whose reads wait until the test lets them go, to interleave writes with a read. */
class GatedIndex extends MemoryFileIndex {
  reads = 0;
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.gate = null;
  }

  override async get(seId: string, fileId: string): Promise<DocumentAttributes | null> {
    this.reads += 1;
    const answer = await super.get(seId, fileId);
    if (this.gate) await this.gate;
    return answer;
  }
}

describe('CachingFileIndex', () => {
  it('answers repeated reads from memory and a miss from the index every time', async () => {
    const inner = new GatedIndex();
    const index = new CachingFileIndex(inner, 10);
    const file = aDocument();
    await inner.upsert('se-1', file);
    expect(await index.get('se-1', file.fileId)).toEqual(file);
    expect(await index.get('se-1', file.fileId)).toEqual(file);
    expect(inner.reads).toBe(1);
    expect(await index.get('se-1', 'missing')).toBeNull();
    expect(await index.get('se-1', 'missing')).toBeNull();
    expect(inner.reads).toBe(3);
  });

  it('never serves a removed file, even when a read of it was in flight during the removal', async () => {
    const inner = new GatedIndex();
    const index = new CachingFileIndex(inner, 10);
    const file = aDocument();
    await index.upsert('se-1', file);
    index['cache'].forgetWhere(() => true);
    inner.hold();
    const reading = index.get('se-1', file.fileId);
    await index.remove('se-1', file.fileId);
    inner.open();
    expect(await reading).toEqual(file);
    expect(await index.get('se-1', file.fileId)).toBeNull();
  });

  it('serves the newest version after an upsert that raced a read of the old one', async () => {
    const inner = new GatedIndex();
    const index = new CachingFileIndex(inner, 10);
    const v1 = { ...aDocument(), attrVersion: 1 };
    const v2 = { ...v1, attrVersion: 2 };
    await inner.upsert('se-1', v1);
    inner.hold();
    const reading = index.get('se-1', v1.fileId);
    await index.upsert('se-1', v2);
    inner.open();
    expect((await reading)?.attrVersion).toBe(1);
    expect((await index.get('se-1', v1.fileId))?.attrVersion).toBe(2);
  });

  it('forgets one storage element on clear and keeps the others', async () => {
    const inner = new GatedIndex();
    const index = new CachingFileIndex(inner, 10);
    const file = aDocument();
    await index.upsert('se-1', file);
    await index.upsert('se-2', file);
    await index.clear('se-1');
    expect(await index.get('se-1', file.fileId)).toBeNull();
    const before = inner.reads;
    expect(await index.get('se-2', file.fileId)).toEqual(file);
    expect(inner.reads).toBe(before);
  });
});
