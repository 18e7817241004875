import { randomUUID } from 'node:crypto';
import { InvalidCursor, encodeCursor } from '../../src/adapters/memory/cursor';
import type { FileIndex } from '../../src/application/ports/file-index';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { decideRetention } from '../../src/domain/retention/retention';
import { T0, aDocument } from '../support/builders';

export interface FileIndexHarness {
  readonly index: FileIndex;
  cleanup(): Promise<void>;
}

/** A document with every optional field filled, so a round trip that drops one shows. */
function aRichDocument(overrides: Parameters<typeof aDocument>[1] = {}): DocumentAttributes {
  const uploadedAt = new Date('2026-03-01T10:00:00.123Z');
  return aDocument(Buffer.from('rich content'), {
    name: 'Отчёт "итог" 100%_v2.pdf',
    description: 'квартальный отчёт',
    tags: ['finance', 'q1'],
    metadata: { department: 'бухгалтерия', 'x-ref': '42' },
    uploadedAt,
    retention: decideRetention(
      { policy: 'permanent', retainUntil: new Date('2036-03-01T00:00:00Z') },
      uploadedAt,
    ),
    ...overrides,
  });
}

async function listAll(index: FileIndex, seId: string, limit: number): Promise<DocumentAttributes[][]> {
  const pages: DocumentAttributes[][] = [];
  let cursor: string | null = null;
  do {
    const page = await index.list(seId, { cursor, limit });
    pages.push(page.items);
    cursor = page.nextCursor;
    if (pages.length > 100) throw new Error('list never ends');
  } while (cursor !== null);
  return pages;
}

/** The behaviour every FileIndex adapter must have (the SE metadata cache, ARCHITECTURE §4). */
export function describeFileIndexContract(name: string, open: () => Promise<FileIndexHarness>): void {
  describe(`FileIndex contract: ${name}`, () => {
    let h: FileIndexHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('returns what was upserted, field for field, with dates as Date', async () => {
      const temporary = aDocument(Buffer.from('t'), { name: 'draft.txt', contentType: 'text/plain' });
      const permanent = aRichDocument();
      await h.index.upsert('se-1', temporary);
      await h.index.upsert('se-1', permanent);

      const got = await h.index.get('se-1', permanent.fileId);
      expect(got).toEqual(permanent);
      expect(got?.uploadedAt).toBeInstanceOf(Date);
      expect(got?.updatedAt).toBeInstanceOf(Date);
      await expect(h.index.get('se-1', temporary.fileId)).resolves.toEqual(temporary);
    });

    it('answers null for a file it does not hold', async () => {
      await expect(h.index.get('se-1', randomUUID())).resolves.toBeNull();
      await expect(h.index.get('no-such-se', randomUUID())).resolves.toBeNull();
    });

    it('replaces a file on a second upsert', async () => {
      const first = aRichDocument();
      await h.index.upsert('se-1', first);
      const second: DocumentAttributes = {
        ...first,
        name: 'renamed.pdf',
        description: null,
        tags: [],
        metadata: { a: 'b' },
        attrVersion: first.attrVersion + 1,
        updatedAt: new Date(first.updatedAt.getTime() + 60_000),
      };
      await h.index.upsert('se-1', second);
      await expect(h.index.get('se-1', first.fileId)).resolves.toEqual(second);
      await expect(h.index.stats('se-1')).resolves.toEqual({ files: 1, bytes: first.size });
    });

    it('removes a file, and removing a missing one is a no-op', async () => {
      const kept = aDocument();
      const removed = aDocument();
      await h.index.upsert('se-1', kept);
      await h.index.upsert('se-1', removed);
      await h.index.remove('se-1', removed.fileId);
      await expect(h.index.get('se-1', removed.fileId)).resolves.toBeNull();
      await expect(h.index.get('se-1', kept.fileId)).resolves.toEqual(kept);
      await expect(h.index.remove('se-1', removed.fileId)).resolves.toBeUndefined();
      await expect(h.index.remove('se-1', randomUUID())).resolves.toBeUndefined();
    });

    it('keeps storage elements apart, even for the same file id', async () => {
      const onOne = aDocument(Buffer.from('one'), { name: 'one.txt' });
      const onTwo: DocumentAttributes = { ...onOne, name: 'two.txt', size: 1234 };
      await h.index.upsert('se-1', onOne);
      await h.index.upsert('se-2', onTwo);
      await expect(h.index.get('se-1', onOne.fileId)).resolves.toEqual(onOne);
      await expect(h.index.get('se-2', onOne.fileId)).resolves.toEqual(onTwo);

      await h.index.remove('se-1', onOne.fileId);
      await expect(h.index.get('se-1', onOne.fileId)).resolves.toBeNull();
      await expect(h.index.get('se-2', onOne.fileId)).resolves.toEqual(onTwo);
      expect((await h.index.list('se-1', { cursor: null, limit: 10 })).items).toEqual([]);
      expect((await h.index.list('se-2', { cursor: null, limit: 10 })).items).toEqual([onTwo]);
    });

    it('lists every file exactly once in file id order with a keyset cursor', async () => {
      // Random (v4) ids inserted in random order: the order must come from the adapter.
      const files = Array.from({ length: 25 }, (_, i) =>
        aDocument(Buffer.alloc(i + 1), { fileId: randomUUID(), name: `f${i}.bin` }),
      );
      for (const file of files) await h.index.upsert('se-1', file);
      await h.index.upsert('se-other', aDocument());
      const byId = [...files].sort((a, b) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0));

      const pages = await listAll(h.index, 'se-1', 10);
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pages.flat()).toEqual(byId);
    });

    it('ends with a null cursor when the last page is exactly full, and on an empty SE', async () => {
      const files = Array.from({ length: 20 }, () => aDocument(Buffer.from('x'), { fileId: randomUUID() }));
      for (const file of files) await h.index.upsert('se-1', file);
      const pages = await listAll(h.index, 'se-1', 10);
      expect(pages.map((p) => p.length)).toEqual([10, 10]);
      await expect(h.index.list('se-empty', { cursor: null, limit: 10 })).resolves.toEqual({
        items: [],
        nextCursor: null,
      });
    });

    it('does not skip or repeat a file when the listed page changes under the cursor', async () => {
      const ids = Array.from({ length: 6 }, () => randomUUID()).sort();
      const files = ids.map((fileId) => aDocument(Buffer.from('x'), { fileId }));
      for (const file of files) await h.index.upsert('se-1', file);
      const first = await h.index.list('se-1', { cursor: null, limit: 3 });
      expect(first.items).toEqual(files.slice(0, 3));
      // The last file of the first page disappears before the next page is read.
      await h.index.remove('se-1', ids[2]!);
      const second = await h.index.list('se-1', { cursor: first.nextCursor, limit: 3 });
      expect(second).toEqual({ items: files.slice(3), nextCursor: null });
    });

    it('rejects a cursor it never issued with InvalidCursor', async () => {
      await h.index.upsert('se-1', aDocument());
      for (const cursor of ['not a cursor', encodeCursor(['a', 'b']), encodeCursor([])]) {
        await expect(h.index.list('se-1', { cursor, limit: 10 })).rejects.toBeInstanceOf(InvalidCursor);
      }
    });

    it.each([
      ['a string that is not a UUID', 'not-a-uuid'],
      ['a number', 42],
    ])('rejects a well-formed cursor whose key is %s with InvalidCursor', async (_label, key) => {
      await h.index.upsert('se-1', aDocument());
      await expect(h.index.list('se-1', { cursor: encodeCursor([key]), limit: 10 })).rejects.toBeInstanceOf(
        InvalidCursor,
      );
    });

    it('counts the files and stored bytes of one storage element (what its capacity holds)', async () => {
      await expect(h.index.stats('se-1')).resolves.toEqual({ files: 0, bytes: 0 });
      const big = 5 * 1024 ** 3; // beyond 32 bits
      await h.index.upsert('se-1', aDocument(Buffer.alloc(10)));
      const compressed = aDocument(Buffer.alloc(1));
      await h.index.upsert('se-1', {
        ...compressed,
        size: 20 * 1024 ** 3,
        stored: { ...compressed.stored, size: big },
      });
      await h.index.upsert('se-2', aDocument(Buffer.alloc(7)));
      await expect(h.index.stats('se-1')).resolves.toEqual({ files: 2, bytes: 10 + big });
      await expect(h.index.stats('se-2')).resolves.toEqual({ files: 1, bytes: 7 });
    });

    it('clears one storage element and leaves the others', async () => {
      const kept = aDocument(Buffer.from('kept'));
      await h.index.upsert('se-1', aDocument());
      await h.index.upsert('se-1', aDocument());
      await h.index.upsert('se-2', kept);
      await h.index.clear('se-1');
      await expect(h.index.stats('se-1')).resolves.toEqual({ files: 0, bytes: 0 });
      expect((await h.index.list('se-1', { cursor: null, limit: 10 })).items).toEqual([]);
      await expect(h.index.get('se-2', kept.fileId)).resolves.toEqual(kept);
      await h.index.upsert('se-1', kept);
      await expect(h.index.stats('se-1')).resolves.toEqual({ files: 1, bytes: kept.size });
    });

    it('keeps the time of day to the millisecond', async () => {
      const file = aDocument(Buffer.from('ms'), { uploadedAt: new Date(T0.getTime() + 999) });
      await h.index.upsert('se-1', file);
      const got = await h.index.get('se-1', file.fileId);
      expect(got?.uploadedAt.getTime()).toBe(T0.getTime() + 999);
    });
  });
}
