import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  SearchFacets,
  SearchHit,
} from '../../application/ports/file-catalog';
import { effectiveSort } from '../../application/ports/file-catalog';
import type { Page } from '../../application/ports/file-index';
import { collectionMatches } from '../../domain/access/principal';
import type { DocumentAttributes } from '../../domain/document/document';
import { parseSearchText } from '../../domain/search/search-text';
import { compareKeys, countBy, highlight, passesFilters, rankOf, sortKey } from './memory-search';
import { decodeSearchCursor, encodeSearchCursor } from './search-cursor';

export class MemoryFileCatalog implements FileCatalog {
  private readonly entries = new Map<string, CatalogEntry>();

  async add(entry: CatalogEntry): Promise<void> {
    if (this.entries.has(entry.file.fileId))
      throw new Error(`file ${entry.file.fileId} is already catalogued`);
    this.entries.set(entry.file.fileId, entry);
  }

  async restore(entry: CatalogEntry): Promise<void> {
    this.entries.set(entry.file.fileId, entry);
  }

  async update(file: DocumentAttributes): Promise<boolean> {
    const entry = this.entries.get(file.fileId);
    if (!entry) return false;
    if (entry.file.attrVersion < file.attrVersion) this.entries.set(file.fileId, { ...entry, file });
    return true;
  }

  async get(fileId: string): Promise<CatalogEntry | null> {
    return this.entries.get(fileId) ?? null;
  }

  async countUnderReplicated(seId: string, required: number): Promise<number> {
    return [...this.entries.values()].filter(
      (e) =>
        e.file.status === 'active' &&
        e.copies.some((c) => c.seId === seId) &&
        new Set(e.copies.map((c) => c.seId)).size < required,
    ).length;
  }

  /** The matching entries with their rank, grants and filters applied, in no order. */
  private matching(query: CatalogSearch): { file: DocumentAttributes; rank: number | null }[] {
    const expression = parseSearchText(query.text);
    const hasText = query.text.trim() !== '';
    const seId = query.filters?.seId;
    const found: { file: DocumentAttributes; rank: number | null }[] = [];
    for (const entry of this.entries.values()) {
      const file = entry.file;
      if (
        query.collectionPatterns &&
        !query.collectionPatterns.some((p) => collectionMatches(p, file.collection))
      )
        continue;
      if (!passesFilters(file, query.filters)) continue;
      if (seId !== undefined && !entry.copies.some((c) => c.seId === seId)) continue;
      const rank = hasText ? rankOf(expression, file) : null;
      if (hasText && rank === null) continue;
      found.push({ file, rank });
    }
    return found;
  }

  async search(query: CatalogSearch): Promise<Page<SearchHit>> {
    const { sort, order } = effectiveSort(query);
    const after = query.cursor ? decodeSearchCursor(query.cursor, sort, order) : null;
    const expression = parseSearchText(query.text);
    const keyed = this.matching(query)
      .map((m) => ({ ...m, key: sortKey(sort, m.file, m.rank), fileId: m.file.fileId }))
      .sort((a, b) => compareKeys(order, a, b))
      .filter((m) => !after || compareKeys(order, m, after) > 0);
    const page = keyed.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((m) => ({
        file: m.file,
        rank: m.rank,
        snippet: m.rank === null ? null : highlight(expression, m.file),
      })),
      nextCursor: keyed.length > query.limit && last ? encodeSearchCursor(sort, order, last) : null,
    };
  }

  async facets(query: CatalogSearch): Promise<SearchFacets> {
    const files = this.matching(query).map((m) => m.file);
    return {
      contentType: countBy(files.map((f) => f.contentType)),
      retention: countBy(files.map((f) => f.retention.policy)),
    };
  }
}
