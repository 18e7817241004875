import type {
  CatalogSearch,
  SearchFilters,
  SearchSort,
  SortOrder,
} from '../../src/application/ports/file-catalog';
import type { DocumentAttributes } from '../../src/domain/document/document';
import { decideRetention } from '../../src/domain/retention/retention';
import { aDocument } from '../support/builders';
import type { FileCatalogHarness } from './file-catalog.contract';

const T0 = new Date('2026-03-01T00:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const at = (days: number): Date => new Date(T0.getTime() + days * DAY);

interface Spec {
  name: string;
  size: number;
  day: number;
  collection?: string;
  contentType?: string;
  tags?: string[];
  uploader?: string;
  permanent?: boolean;
  ttlDays?: number;
  status?: 'active' | 'deleted' | 'expired';
  se?: string;
}

function aFile(spec: Spec): DocumentAttributes {
  const uploadedAt = at(spec.day);
  const file = aDocument(Buffer.alloc(spec.size, 1), {
    name: spec.name,
    uploadedAt,
    collection: spec.collection ?? 'default',
    contentType: spec.contentType ?? 'application/pdf',
    tags: spec.tags ?? [],
    uploader: spec.uploader ?? 'svc-a',
    retention: spec.permanent
      ? decideRetention({ policy: 'permanent' }, uploadedAt)
      : decideRetention({ policy: 'temporary', ttlDays: spec.ttlDays ?? 30 }, uploadedAt),
  });
  return { ...file, status: spec.status ?? 'active' };
}

/** Ten files whose attributes vary independently, every name holding the word "ledger". */
const FILES: Spec[] = [
  { name: 'ledger-01.pdf', size: 100, day: 1, tags: ['finance', 'q1'], se: 'se-a' },
  { name: 'ledger-02.pdf', size: 250, day: 2, tags: ['finance'], uploader: 'svc-b', se: 'se-b' },
  { name: 'ledger-03.csv', size: 50, day: 3, contentType: 'text/csv', tags: ['q1'], ttlDays: 5, se: 'se-a' },
  { name: 'ledger-04.csv', size: 900, day: 4, contentType: 'text/csv', permanent: true, se: 'se-b' },
  { name: 'ledger-05.png', size: 10, day: 5, contentType: 'image/png', collection: 'photos', se: 'se-a' },
  { name: 'ledger-06.pdf', size: 400, day: 6, collection: 'secret', permanent: true, se: 'se-b' },
  { name: 'ledger-07.pdf', size: 700, day: 7, tags: ['finance', 'q2'], permanent: true, se: 'se-a' },
  { name: 'ledger-08.pdf', size: 300, day: 8, status: 'deleted', se: 'se-a' },
  { name: 'ledger-09.pdf', size: 20, day: 9, status: 'expired', tags: ['q1'], se: 'se-b' },
  { name: 'ledger-10.pdf', size: 600, day: 10, uploader: 'svc-b', ttlDays: 1, se: 'se-a' },
];

/** Filters, sorts, paging by every sort and facets: the search behaviour every FileCatalog must have. */
export function describeCatalogSearchContract(name: string, open: () => Promise<FileCatalogHarness>): void {
  describe(`FileCatalog search contract: ${name}`, () => {
    let h: FileCatalogHarness;
    beforeEach(async () => {
      h = await open();
      for (const spec of FILES)
        await h.catalog.add({ file: aFile(spec), copies: [{ seId: spec.se!, key: spec.name }] });
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const search = (overrides: Partial<CatalogSearch> = {}): CatalogSearch => ({
      text: 'ledger',
      limit: 100,
      cursor: null,
      sort: 'name',
      ...overrides,
    });
    const numbers = async (q: CatalogSearch): Promise<number[]> =>
      (await h.catalog.search(q)).items.map((hit) => Number(/\d+/u.exec(hit.file.name)?.[0]));

    it.each<[string, SearchFilters, number[]]>([
      ['active only by default', {}, [1, 2, 3, 4, 5, 6, 7, 10]],
      ['statuses', { statuses: ['deleted', 'expired'] }, [8, 9]],
      ['collections', { collections: ['photos', 'secret'] }, [5, 6]],
      ['content types', { contentTypes: ['text/csv', 'image/png'] }, [3, 4, 5]],
      ['all of some tags', { tagsAll: ['finance', 'q1'] }, [1]],
      ['any of some tags', { tagsAny: ['q1', 'q2'] }, [1, 3, 7]],
      ['uploader', { uploader: 'svc-b' }, [2, 10]],
      ['a size range, inclusive', { sizeMin: 100, sizeMax: 400 }, [1, 2, 6]],
      ['an upload date range, inclusive', { uploadedFrom: at(3), uploadedTo: at(5) }, [3, 4, 5]],
      ['retention', { retention: 'permanent' }, [4, 6, 7]],
      ['an expiry window', { expiresFrom: at(0), expiresTo: at(12) }, [3, 10]],
      ['a storage element', { seId: 'se-b' }, [2, 4, 6]],
      [
        'several at once',
        {
          contentTypes: ['application/pdf'],
          tagsAny: ['finance'],
          sizeMin: 200,
          statuses: ['active', 'deleted'],
        },
        [2, 7],
      ],
      ['nothing matching', { uploader: 'nobody' }, []],
    ])('filters by %s', async (_label, filters, expected) => {
      expect(await numbers(search({ filters }))).toEqual(expected);
      // The same filters without text.
      expect(await numbers(search({ text: '', filters }))).toEqual(expected);
    });

    it.each<[SearchSort, SortOrder | undefined, number[]]>([
      ['name', undefined, [1, 2, 3, 4, 5, 6, 7, 10]],
      ['name', 'desc', [10, 7, 6, 5, 4, 3, 2, 1]],
      ['date', undefined, [10, 7, 6, 5, 4, 3, 2, 1]],
      ['date', 'asc', [1, 2, 3, 4, 5, 6, 7, 10]],
      ['size', undefined, [4, 7, 10, 6, 2, 1, 3, 5]],
      ['size', 'asc', [5, 3, 1, 2, 6, 10, 7, 4]],
    ])('sorts by %s %s, and pages through that order one file at a time', async (sort, order, expected) => {
      expect(await numbers(search({ sort, order }))).toEqual(expected);
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let round = 0; round < 20; round += 1) {
        const page = await h.catalog.search(search({ sort, order, limit: 3, cursor }));
        seen.push(...page.items.map((hit) => Number(/\d+/u.exec(hit.file.name)?.[0])));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual(expected);
    });

    it('pages by relevance: best first, ties by file id, every match once', async () => {
      await h.catalog.add({
        file: aFile({ name: 'ledger-11.pdf', size: 1, day: 11, tags: ['ledger'] }),
        copies: [],
      });
      const all = (await h.catalog.search(search({ sort: 'relevance' }))).items;
      expect(all[0]?.file.name).toBe('ledger-11.pdf'); // name and a tag
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let round = 0; round < 20; round += 1) {
        const page = await h.catalog.search(search({ sort: 'relevance', limit: 2, cursor }));
        seen.push(...page.items.map((hit) => hit.file.fileId));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual(all.map((hit) => hit.file.fileId));
      expect(new Set(seen).size).toBe(9);
    });

    it('counts matches by content type and retention under the same filters and grants', async () => {
      await expect(h.catalog.facets(search())).resolves.toEqual({
        contentType: [
          { value: 'application/pdf', count: 5 },
          { value: 'text/csv', count: 2 },
          { value: 'image/png', count: 1 },
        ],
        retention: [
          { value: 'temporary', count: 5 },
          { value: 'permanent', count: 3 },
        ],
      });
      await expect(
        h.catalog.facets(search({ collectionPatterns: ['default', 'photo*'], filters: { sizeMax: 500 } })),
      ).resolves.toEqual({
        contentType: [
          { value: 'application/pdf', count: 2 },
          { value: 'image/png', count: 1 },
          { value: 'text/csv', count: 1 },
        ],
        retention: [{ value: 'temporary', count: 4 }],
      });
      await expect(h.catalog.facets(search({ collectionPatterns: [] }))).resolves.toEqual({
        contentType: [],
        retention: [],
      });
    });

    it('applies grants to every result of every page', async () => {
      const names: string[] = [];
      let cursor: string | null = null;
      for (let round = 0; round < 20; round += 1) {
        const page = await h.catalog.search(search({ collectionPatterns: ['default'], limit: 2, cursor }));
        names.push(...page.items.map((hit) => `${hit.file.collection}/${hit.file.name}`));
        cursor = page.nextCursor;
        if (cursor === null) break;
      }
      expect(names).toHaveLength(6);
      expect(names.every((n) => n.startsWith('default/'))).toBe(true);
    });
  });
}
