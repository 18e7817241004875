import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { MikroOrmFileCatalog } from '../../src/adapters/persistence/mikro-orm-file-catalog';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import type { CatalogSearch, SearchHit, SearchSort } from '../../src/application/ports/file-catalog';
import type { Page } from '../../src/application/ports/file-index';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { aDocument } from '../support/builders';
import { useSharedTestOrm } from '../support/shared-test-orm';

/** What only PostgreSQL does: morphology, stemmed phrases, real ranking, concurrency. */
describe('catalog full-text search on PostgreSQL', () => {
  const db = useSharedTestOrm();
  let catalog: MikroOrmFileCatalog;
  beforeEach(() => {
    catalog = new MikroOrmFileCatalog(db.orm, new JsonSidecarCodec());
  });
  afterEach(() => db.truncate('files', 'file_copies'));

  let clock = Date.parse('2026-03-01T00:00:00Z');
  function aFile(name: string, overrides: Parameters<typeof aDocument>[1] = {}): DocumentAttributes {
    clock += 1_000;
    return aDocument(Buffer.from(name), { name, uploadedAt: new Date(clock), ...overrides });
  }
  const add = (file: DocumentAttributes) => catalog.add({ file, copies: [] });
  const query = (text: string, overrides: Partial<CatalogSearch> = {}): CatalogSearch => ({
    text,
    limit: 100,
    cursor: null,
    ...overrides,
  });
  const names = async (text: string, overrides: Partial<CatalogSearch> = {}) =>
    (await catalog.search(query(text, overrides))).items.map((hit) => hit.file.name).sort();

  it('finds Russian words in any form: «договоры» finds «договор», «отчётов» finds «Отчет»', async () => {
    await add(aFile('Договор поставки.pdf'));
    await add(aFile('scan.pdf', { description: 'Подписанные договоры аренды' }));
    await add(aFile('Отчет за март.docx'));
    await add(aFile('Приказ.pdf'));
    expect(await names('договоры')).toEqual(['scan.pdf', 'Договор поставки.pdf']);
    expect(await names('договора')).toEqual(['scan.pdf', 'Договор поставки.pdf']);
    expect(await names('отчётов')).toEqual(['Отчет за март.docx']);
    expect(await names('аренда')).toEqual(['scan.pdf']);
  });

  it('finds English words in any form: "reports" finds "report", "signing" finds "signed"', async () => {
    await add(aFile('Annual report 2026.pdf'));
    await add(aFile('contract.pdf', { description: 'signed by both parties' }));
    await add(aFile('photo.jpg', { tags: ['reporting'] }));
    expect(await names('reports')).toEqual(['Annual report 2026.pdf', 'photo.jpg']);
    expect(await names('signing')).toEqual(['contract.pdf']);
    expect(await names('"annual reports"')).toEqual(['Annual report 2026.pdf']);
    expect(await names('reports -annual')).toEqual(['photo.jpg']);
    expect(await names('договоры or reports')).toEqual(['Annual report 2026.pdf', 'photo.jpg']);
  });

  it('splits names into words, so parts of a compound name are found by their stems', async () => {
    await add(aFile('AnnualReport_2024-v2.pdf'));
    await add(aFile('ДоговорПоставки№7.docx'));
    expect(await names('annual reports')).toEqual(['AnnualReport_2024-v2.pdf']);
    expect(await names('v2 2024')).toEqual(['AnnualReport_2024-v2.pdf']);
    expect(await names('поставка')).toEqual(['ДоговорПоставки№7.docx']);
  });

  it('matches a word being typed as a prefix, in both scripts', async () => {
    await add(aFile('Договор поставки.pdf'));
    await add(aFile('Доверенность.pdf'));
    await add(aFile('Quarterly statement.pdf'));
    expect(await names('дог')).toEqual(['Договор поставки.pdf']);
    expect(await names('до')).toEqual(['Доверенность.pdf', 'Договор поставки.pdf']);
    expect(await names('договор пост')).toEqual(['Договор поставки.pdf']);
    expect(await names('quarterly stat')).toEqual(['Quarterly statement.pdf']);
    expect(await names('"quarterly stat"')).toEqual([]);
  });

  it('ranks name > description > tags > metadata, in Russian as in English', async () => {
    await add(aFile('m.pdf', { metadata: { тема: 'счета за свет' } }));
    await add(aFile('t.pdf', { tags: ['счета'] }));
    await add(aFile('d.pdf', { description: 'Все счета за квартал' }));
    await add(aFile('Счет №12.pdf'));
    const page = await catalog.search(query('счёт'));
    expect(page.items.map((hit) => hit.file.name)).toEqual(['Счет №12.pdf', 'd.pdf', 't.pdf', 'm.pdf']);
    const ranks = page.items.map((hit) => hit.rank!);
    for (let i = 1; i < ranks.length; i += 1) expect(ranks[i - 1]!).toBeGreaterThan(ranks[i]!);
    expect(page.items[1]?.snippet).toContain('<mark>счета</mark>');
  });

  it('ranks only the newest matches past the window, says so, and pages that same window while files arrive', async () => {
    const windowed = new MikroOrmFileCatalog(db.orm, new JsonSidecarCodec(), 4);
    // Six matches; the best (a name match) is the oldest, so it falls outside the window of 4.
    const best = aFile('ledger.pdf');
    await add(best);
    const rest = [1, 2, 3, 4, 5].map((i) => aFile(`note-${i}.txt`, { description: `ledger copy ${i}` }));
    for (const file of rest) await add(file);
    const first = await windowed.search(query('ledger', { limit: 2 }));
    expect(first.items.map((h) => h.file.name)).toEqual(['note-5.txt', 'note-4.txt']);
    expect(first.relevanceWindow).toEqual({ size: 4, uploadedFrom: rest[1]!.uploadedAt });
    // A newer match arrives between pages: the window keeps its floor and takes it in.
    await add(aFile('ledger-new.pdf'));
    const second = await windowed.search(query('ledger', { limit: 10, cursor: first.nextCursor }));
    expect(second.items.map((h) => h.file.name)).toEqual(['note-3.txt', 'note-2.txt']);
    expect(second.relevanceWindow).toEqual(first.relevanceWindow);
    expect(second.nextCursor).toBeNull();
    // Fewer matches than the window: every one is ranked, and nothing is said.
    const all = await catalog.search(query('ledger'));
    expect(all.items[0]?.file.name).toBe('ledger-new.pdf');
    expect(all.items.map((h) => h.file.name)).toContain('ledger.pdf');
    expect(all.relevanceWindow).toBeNull();
  });

  it('never fails on any text a person (or a fuzzer) can type', async () => {
    await add(aFile("O'Brien & Co: «договор» (v2).pdf"));
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40, unit: 'grapheme' }), async (text) => {
        const page = await catalog.search(query(text, { limit: 5 }));
        expect(page.items.length).toBeLessThanOrEqual(1);
        await catalog.facets(query(text));
      }),
      { numRuns: 150 },
    );
  });

  it.each<[SearchSort, string]>([
    ['date', ''],
    ['relevance', 'invoice'],
    ['name', 'invoice'],
    ['size', ''],
  ])(
    'pages by %s while rows are being inserted: no duplicates, every pre-existing row once',
    async (sort, text) => {
      const existing: string[] = [];
      for (let i = 0; i < 40; i += 1) {
        const file = aFile(`invoice ${String(i).padStart(2, '0')} ${'invoice '.repeat(i % 3)}.pdf`, {
          description: i % 2 ? 'invoice copy' : null,
        });
        existing.push(file.fileId);
        await add(file);
      }
      let inserted = 0;
      // Newer rows spread over every sort position: any name, size and rank; always the newest date.
      const insertSome = async () => {
        for (let j = 0; j < 3; j += 1) {
          inserted += 1;
          const prefix = randomUUID().slice(0, 4);
          await add(
            aFile(`${prefix} invoice new-${inserted}.pdf`, {
              description: inserted % 2 ? 'invoice' : null,
            }),
          );
        }
      };
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let round = 0; round < 100; round += 1) {
        const [page]: [Page<SearchHit>, unknown] = await Promise.all([
          catalog.search(query(text, { sort, limit: 6, cursor })),
          insertSome(),
        ]);
        seen.push(...page.items.map((hit) => hit.file.fileId));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(cursor).toBeNull();
      expect(inserted).toBeGreaterThan(20);
      expect(new Set(seen).size).toBe(seen.length);
      const seenSet = new Set(seen);
      expect(existing.filter((id) => !seenSet.has(id))).toEqual([]);
    },
  );
});
