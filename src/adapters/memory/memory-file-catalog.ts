import type { CatalogEntry, CatalogSearch, FileCatalog } from '../../application/ports/file-catalog';
import type { Page } from '../../application/ports/file-index';
import { collectionMatches } from '../../domain/access/principal';
import type { DocumentAttributes } from '../../domain/document/document';
import { decodeCursor, encodeCursor } from './cursor';

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

  async search(query: CatalogSearch): Promise<Page<DocumentAttributes>> {
    const needle = query.text.toLowerCase();
    const after = query.cursor ? decodeCursor(query.cursor, ['millis', 'uuid']) : null;
    const matches = [...this.entries.values()]
      .map((e) => e.file)
      .filter((f) => f.status === 'active' && f.name.toLowerCase().includes(needle))
      .filter(
        (f) =>
          !query.collectionPatterns ||
          query.collectionPatterns.some((p) => collectionMatches(p, f.collection)),
      )
      .sort((a, b) => b.uploadedAt.getTime() - a.uploadedAt.getTime() || b.fileId.localeCompare(a.fileId))
      .filter(
        (f) =>
          !after ||
          f.uploadedAt.getTime() < Number(after[0]) ||
          (f.uploadedAt.getTime() === Number(after[0]) && f.fileId < String(after[1])),
      );
    const items = matches.slice(0, query.limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        matches.length > query.limit && last ? encodeCursor([last.uploadedAt.getTime(), last.fileId]) : null,
    };
  }
}
