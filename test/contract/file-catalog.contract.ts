import { randomUUID } from 'node:crypto';
import { InvalidCursor, encodeCursor } from '../../src/adapters/memory/cursor';
import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  FileCopy,
} from '../../src/application/ports/file-catalog';
import type { DocumentAttributes, FileStatus } from '../../src/domain/document/document';
import { decideRetention } from '../../src/domain/retention/retention';
import { FixedClock, aDocument } from '../support/builders';

export interface FileCatalogHarness {
  readonly catalog: FileCatalog;
  cleanup(): Promise<void>;
}

function aFile(name: string, overrides: Parameters<typeof aDocument>[1] = {}): DocumentAttributes {
  return aDocument(Buffer.from(name), { name, ...overrides });
}

function anEntry(file: DocumentAttributes, seIds: readonly string[] = ['se-1']): CatalogEntry {
  return { file, copies: seIds.map((seId) => ({ seId, key: `${seId}/${file.stored.key}` })) };
}

function withStatus(file: DocumentAttributes, status: FileStatus): DocumentAttributes {
  return { ...file, status };
}

/** Copies are a set: the port promises no order. */
function sortedCopies(copies: readonly FileCopy[]): FileCopy[] {
  return [...copies].sort((a, b) => a.seId.localeCompare(b.seId));
}

function query(text: string, overrides: Partial<CatalogSearch> = {}): CatalogSearch {
  return { text, limit: 100, cursor: null, ...overrides };
}

/** The behaviour every FileCatalog adapter must have (the admin's catalog, ARCHITECTURE §2). */
export function describeFileCatalogContract(name: string, open: () => Promise<FileCatalogHarness>): void {
  describe(`FileCatalog contract: ${name}`, () => {
    let h: FileCatalogHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const names = async (q: CatalogSearch): Promise<string[]> =>
      (await h.catalog.search(q)).items.map((hit) => hit.file.name);

    it('returns an added file with its copies, field for field', async () => {
      const uploadedAt = new Date('2026-03-01T10:00:00.123Z');
      const file = aFile('Договор №7.pdf', {
        description: 'signed',
        tags: ['legal'],
        metadata: { party: 'ООО «Ромашка»' },
        uploadedAt,
        retention: decideRetention({ policy: 'permanent' }, uploadedAt),
      });
      const entry = anEntry(file, ['se-b', 'se-a']);
      await h.catalog.add(entry);

      const got = await h.catalog.get(file.fileId);
      expect(got?.file).toEqual(file);
      expect(got?.file.uploadedAt).toBeInstanceOf(Date);
      expect(sortedCopies(got?.copies ?? [])).toEqual(sortedCopies(entry.copies));
    });

    it('counts the active files of an SE that have fewer copies than required', async () => {
      const se = `se-${randomUUID().slice(0, 8)}`;
      const other = `se-${randomUUID().slice(0, 8)}`;
      await h.catalog.add(anEntry(aFile('one-copy.pdf'), [se]));
      await h.catalog.add(anEntry(aFile('two-copies.pdf'), [se, other]));
      await h.catalog.add(anEntry(withStatus(aFile('deleted.pdf'), 'deleted'), [se]));
      await h.catalog.add(anEntry(aFile('elsewhere.pdf'), [other]));
      expect(await h.catalog.countUnderReplicated(se, 2)).toBe(1);
      expect(await h.catalog.countUnderReplicated(se, 3)).toBe(2);
      expect(await h.catalog.countUnderReplicated(se, 1)).toBe(0);
      expect(await h.catalog.countUnderReplicated(other, 2)).toBe(1);
    });

    it('answers null for an unknown file', async () => {
      await expect(h.catalog.get(randomUUID())).resolves.toBeNull();
    });

    it('refuses to add the same file id twice and keeps the first entry whole', async () => {
      const file = aFile('first.pdf');
      await h.catalog.add(anEntry(file, ['se-1']));
      await expect(
        h.catalog.add(anEntry({ ...file, name: 'second.pdf' }, ['se-2', 'se-3'])),
      ).rejects.toThrow();
      const got = await h.catalog.get(file.fileId);
      expect(got?.file).toEqual(file);
      expect(got?.copies).toEqual(anEntry(file, ['se-1']).copies);
    });

    it('restore replaces the file and all of its copies', async () => {
      const file = aFile('before.pdf');
      await h.catalog.add(anEntry(file, ['se-1', 'se-2']));
      const restored: DocumentAttributes = {
        ...file,
        name: 'after.pdf',
        description: 'rebuilt from the sidecar',
        attrVersion: 3,
        updatedAt: new Date(file.updatedAt.getTime() + 1_000),
      };
      await h.catalog.restore(anEntry(restored, ['se-3']));

      const got = await h.catalog.get(file.fileId);
      expect(got).toEqual(anEntry(restored, ['se-3']));
      expect(await names(query('before'))).toEqual([]);
      expect(await names(query('after'))).toEqual(['after.pdf']);
    });

    it('restore of a file it does not know adds it', async () => {
      const file = aFile('only-on-disk.pdf');
      await h.catalog.restore(anEntry(file, ['se-1']));
      await expect(h.catalog.get(file.fileId)).resolves.toEqual(anEntry(file, ['se-1']));
    });

    it('update replaces the attributes of a catalogued file and keeps its copies', async () => {
      const uploadedAt = new Date('2026-03-01T10:00:00.000Z');
      const file = aFile('held.pdf', {
        uploadedAt,
        retention: decideRetention({ policy: 'permanent' }, uploadedAt),
      });
      await h.catalog.add(anEntry(file, ['se-1', 'se-2']));
      const changed: DocumentAttributes = {
        ...file,
        description: 'changed',
        tags: ['a', 'b'],
        metadata: { case: '42', ключ: 'значение' },
        retention: {
          policy: 'permanent',
          retainUntil: new Date('2040-01-01T00:00:00.000Z'),
          legalHold: true,
        },
        attrVersion: file.attrVersion + 1,
        updatedAt: new Date(file.updatedAt.getTime() + 1_000),
      };
      await expect(h.catalog.update(changed)).resolves.toBe(true);

      const got = await h.catalog.get(file.fileId);
      expect(got?.file).toEqual(changed);
      expect(sortedCopies(got?.copies ?? [])).toEqual(sortedCopies(anEntry(file, ['se-1', 'se-2']).copies));
      expect((await h.catalog.search(query('held'))).items.map((hit) => hit.file)).toEqual([changed]);
    });

    it('update ignores a version not newer than the one it holds (a late or retried step)', async () => {
      const file = aFile('versions.txt');
      await h.catalog.add(anEntry(file));
      const v3: DocumentAttributes = { ...file, description: 'third', attrVersion: 3 };
      await h.catalog.update(v3);
      await expect(h.catalog.update({ ...file, description: 'second', attrVersion: 2 })).resolves.toBe(true);
      await expect(h.catalog.update({ ...v3, description: 'third again' })).resolves.toBe(true);
      expect((await h.catalog.get(file.fileId))?.file).toEqual(v3);
    });

    it('update of a file it does not know answers false and adds nothing', async () => {
      const file = aFile('unknown.txt');
      await expect(h.catalog.update({ ...file, attrVersion: 2 })).resolves.toBe(false);
      await expect(h.catalog.get(file.fileId)).resolves.toBeNull();
    });

    it('finds files by the words of their name, case-insensitively, in any script', async () => {
      for (const name of ['Annual REPORT 2026.pdf', 'report-draft.docx', 'Отчёт за МАРТ.pdf', 'photo.jpg'])
        await h.catalog.add(anEntry(aFile(name)));
      expect((await names(query('report'))).sort()).toEqual(['Annual REPORT 2026.pdf', 'report-draft.docx']);
      expect(await names(query('ОТЧЁТ'))).toEqual(['Отчёт за МАРТ.pdf']);
      expect(await names(query('март'))).toEqual(['Отчёт за МАРТ.pdf']);
      expect(await names(query('PHOTO.JPG'))).toEqual(['photo.jpg']);
      expect(await names(query('nothing like it'))).toEqual([]);
    });

    it('splits names into words at _ - . and at case and digit changes', async () => {
      await h.catalog.add(anEntry(aFile('AnnualReport_2024-v2.pdf')));
      await h.catalog.add(anEntry(aFile('a_b.txt')));
      await h.catalog.add(anEntry(aFile('axb.txt')));
      for (const text of ['annual', 'Report', '2024', 'v2', 'pdf', 'annual report 2024'])
        expect(await names(query(text))).toEqual(['AnnualReport_2024-v2.pdf']);
      expect(await names(query('a_b'))).toEqual(['a_b.txt']);
    });

    it('matches the last word as a prefix while it is typed, earlier words whole', async () => {
      for (const name of ['quarterly-statement.pdf', 'quartz.png', 'statement-quartet.txt'])
        await h.catalog.add(anEntry(aFile(name)));
      expect((await names(query('quar'))).sort()).toEqual([
        'quarterly-statement.pdf',
        'quartz.png',
        'statement-quartet.txt',
      ]);
      expect((await names(query('quarterly stat'))).sort()).toEqual(['quarterly-statement.pdf']);
      expect(await names(query('quar statement'))).toEqual([]);
      expect(await names(query('"quar"'))).toEqual([]);
    });

    it('reads quotes as phrases, -word as exclusion and or as either', async () => {
      await h.catalog.add(anEntry(aFile('annual report.pdf')));
      await h.catalog.add(anEntry(aFile('report annual.pdf')));
      await h.catalog.add(anEntry(aFile('annual report draft.pdf')));
      await h.catalog.add(anEntry(aFile('budget.xlsx')));
      expect((await names(query('"annual report"'))).sort()).toEqual([
        'annual report draft.pdf',
        'annual report.pdf',
      ]);
      expect((await names(query('annual report -draft'))).sort()).toEqual([
        'annual report.pdf',
        'report annual.pdf',
      ]);
      expect((await names(query('"report annual" or budget'))).sort()).toEqual([
        'budget.xlsx',
        'report annual.pdf',
      ]);
      expect(await names(query('-annual'))).toEqual(['budget.xlsx']);
    });

    it('searches description, tags and metadata values too', async () => {
      await h.catalog.add(anEntry(aFile('a.pdf', { description: 'Signed lease for the warehouse' })));
      await h.catalog.add(anEntry(aFile('b.pdf', { tags: ['warehouse', 'legal'] })));
      await h.catalog.add(anEntry(aFile('c.pdf', { metadata: { site: 'North warehouse' } })));
      await h.catalog.add(anEntry(aFile('d.pdf', { metadata: { warehouse: 'key, not value' } })));
      expect((await names(query('warehouse'))).sort()).toEqual(['a.pdf', 'b.pdf', 'c.pdf']);
      expect(await names(query('lease'))).toEqual(['a.pdf']);
      expect(await names(query('legal'))).toEqual(['b.pdf']);
    });

    it('ranks a match in the name above description, tags and metadata, and marks it in a snippet', async () => {
      await h.catalog.add(anEntry(aFile('m.pdf', { metadata: { topic: 'invoice' } })));
      await h.catalog.add(anEntry(aFile('t.pdf', { tags: ['invoice'] })));
      await h.catalog.add(anEntry(aFile('d.pdf', { description: 'an invoice' })));
      await h.catalog.add(anEntry(aFile('invoice & co.pdf')));
      const page = await h.catalog.search(query('invoice'));
      expect(page.items.map((hit) => hit.file.name)).toEqual(['invoice & co.pdf', 'd.pdf', 't.pdf', 'm.pdf']);
      const ranks = page.items.map((hit) => hit.rank ?? 0);
      expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
      expect(ranks.at(-1)).toBeGreaterThan(0);
      // Plain text escaped for HTML, the match inside <mark>.
      expect(page.items[0]?.snippet).toContain('<mark>invoice</mark> &amp; co');
      expect(page.items[1]?.snippet).toContain('an <mark>invoice</mark>');
    });

    it('without text lists every file the filters let through, newest first, with no rank or snippet', async () => {
      const clock = new FixedClock();
      for (const name of ['one.txt', 'two.txt']) {
        clock.advance(1_000);
        await h.catalog.add(anEntry(aFile(name, { uploadedAt: clock.now() })));
      }
      const page = await h.catalog.search(query(''));
      expect(page.items.map((hit) => [hit.file.name, hit.rank, hit.snippet])).toEqual([
        ['two.txt', null, null],
        ['one.txt', null, null],
      ]);
    });

    it('finds only active files', async () => {
      await h.catalog.add(anEntry(aFile('contract-active.pdf')));
      await h.catalog.add(anEntry(withStatus(aFile('contract-deleted.pdf'), 'deleted')));
      await h.catalog.add(anEntry(withStatus(aFile('contract-expired.pdf'), 'expired')));
      expect(await names(query('contract'))).toEqual(['contract-active.pdf']);
    });

    describe('narrowed to collections', () => {
      beforeEach(async () => {
        await h.catalog.add(anEntry(aFile('plan-a.pdf', { collection: 'alpha' })));
        await h.catalog.add(anEntry(aFile('plan-b.pdf', { collection: 'beta' })));
        await h.catalog.add(anEntry(aFile('plan-d.pdf', { collection: 'default' })));
      });

      it('takes LIKE wildcards in a pattern literally', async () => {
        await h.catalog.add(anEntry(aFile('lit-1.pdf', { collection: 'a_b' })));
        await h.catalog.add(anEntry(aFile('lit-2.pdf', { collection: 'axb' })));
        expect(await names(query('lit', { collectionPatterns: ['a_b'] }))).toEqual(['lit-1.pdf']);
      });

      it('searches every collection when none are given', async () => {
        expect((await names(query('plan'))).sort()).toEqual(['plan-a.pdf', 'plan-b.pdf', 'plan-d.pdf']);
      });

      it.each([
        [['beta'], ['plan-b.pdf']],
        [
          ['alpha', 'default'],
          ['plan-a.pdf', 'plan-d.pdf'],
        ],
        [['gamma'], []],
        [[], []],
        [['al*'], ['plan-a.pdf']],
        [
          ['?eta', 'def*'],
          ['plan-b.pdf', 'plan-d.pdf'],
        ],
        [['*'], ['plan-a.pdf', 'plan-b.pdf', 'plan-d.pdf']],
      ])('finds only files of collections matching %j', async (collectionPatterns, expected) => {
        expect((await names(query('plan', { collectionPatterns }))).sort()).toEqual(expected);
      });
    });

    it('pages newest first with a keyset cursor: every match once, in order, then a null cursor', async () => {
      const clock = new FixedClock();
      const files: DocumentAttributes[] = [];
      for (let i = 0; i < 23; i += 1) {
        clock.advance(60_000 + i); // distinct, irregular upload times
        files.push(aFile(`scan-${i}.tiff`, { uploadedAt: clock.now() }));
      }
      // Insertion order must not matter.
      for (const file of [...files].reverse().filter((_, i) => i % 2 === 0))
        await h.catalog.add(anEntry(file));
      for (const file of [...files].reverse().filter((_, i) => i % 2 === 1))
        await h.catalog.add(anEntry(file));
      await h.catalog.add(anEntry(aFile('unrelated.txt', { uploadedAt: clock.now() })));

      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page = await h.catalog.search(query('scan-', { sort: 'date', limit: 10, cursor }));
        pages.push(page.items.map((hit) => hit.file.name));
        cursor = page.nextCursor;
      } while (cursor !== null && pages.length < 10);
      expect(pages.map((p) => p.length)).toEqual([10, 10, 3]);
      expect(pages.flat()).toEqual(files.map((f) => f.name).reverse());
    });

    it('orders files uploaded in the same millisecond by file id, stably across pages', async () => {
      const at = new Date('2026-03-02T08:00:00.000Z');
      const tied = Array.from({ length: 7 }, (_, i) =>
        aFile(`tie-${i}.txt`, { uploadedAt: at, fileId: randomUUID() }),
      );
      const older = aFile('tie-older.txt', { uploadedAt: new Date(at.getTime() - 1) });
      const newer = aFile('tie-newer.txt', { uploadedAt: new Date(at.getTime() + 1) });
      for (const file of [...tied, older, newer]) await h.catalog.add(anEntry(file));
      const expected = [
        newer,
        ...[...tied].sort((a, b) => (a.fileId < b.fileId ? 1 : a.fileId > b.fileId ? -1 : 0)),
        older,
      ].map((f) => f.fileId);

      const seen: string[] = [];
      let cursor: string | null = null;
      for (let round = 0; round < 10; round += 1) {
        const page = await h.catalog.search(query('tie-', { sort: 'date', limit: 2, cursor }));
        seen.push(...page.items.map((hit) => hit.file.fileId));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual(expected);
      expect(cursor).toBeNull();
    });

    it('ends with a null cursor when the last page is exactly full', async () => {
      const clock = new FixedClock();
      for (let i = 0; i < 4; i += 1) {
        clock.advance(1_000);
        await h.catalog.add(anEntry(aFile(`even-${i}.txt`, { uploadedAt: clock.now() })));
      }
      const first = await h.catalog.search(query('even-', { sort: 'date', limit: 2 }));
      expect(first.nextCursor).not.toBeNull();
      const second = await h.catalog.search(
        query('even-', { sort: 'date', limit: 2, cursor: first.nextCursor }),
      );
      expect(second.items.map((hit) => hit.file.name)).toEqual(['even-1.txt', 'even-0.txt']);
      expect(second.nextCursor).toBeNull();
      await expect(h.catalog.search(query('even-', { limit: 4 }))).resolves.toMatchObject({
        nextCursor: null,
      });
    });

    it('rejects a cursor it never issued with InvalidCursor', async () => {
      await h.catalog.add(anEntry(aFile('x.txt')));
      for (const cursor of ['not a cursor', encodeCursor([1]), encodeCursor([1, 'a', 'b'])]) {
        await expect(h.catalog.search(query('x', { cursor }))).rejects.toBeInstanceOf(InvalidCursor);
      }
    });

    it.each([
      ['a time that is not a number', { s: 'date', o: 'desc', k: 'yesterday', id: randomUUID() }],
      ['a file id that is not a UUID', { s: 'date', o: 'desc', k: 1_700_000_000_000, id: 'not-a-uuid' }],
      ['no sort', { k: 1_700_000_000_000, id: randomUUID() }],
    ])('rejects a well-formed cursor holding %s with InvalidCursor', async (_label, key) => {
      await h.catalog.add(anEntry(aFile('x.txt')));
      const cursor = Buffer.from(JSON.stringify(key)).toString('base64url');
      await expect(h.catalog.search(query('x', { sort: 'date', cursor }))).rejects.toBeInstanceOf(
        InvalidCursor,
      );
    });

    it('refuses a cursor of another sort or order, saying so', async () => {
      for (const name of ['c1.txt', 'c2.txt', 'c3.txt']) await h.catalog.add(anEntry(aFile(name)));
      const { nextCursor } = await h.catalog.search(query('', { sort: 'name', limit: 1 }));
      expect(nextCursor).not.toBeNull();
      for (const other of [
        { sort: 'date' as const },
        { sort: 'name' as const, order: 'desc' as const },
        {},
      ]) {
        const attempt = h.catalog.search(query('', { ...other, limit: 1, cursor: nextCursor }));
        await expect(attempt).rejects.toBeInstanceOf(InvalidCursor);
        await expect(attempt).rejects.toThrow(/sorted by name asc/u);
      }
    });
  });
}
