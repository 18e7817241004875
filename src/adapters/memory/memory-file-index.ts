import type { FileIndex, Page } from '../../application/ports/file-index';
import type { DocumentAttributes } from '../../domain/document/document';
import { decodeCursor, encodeCursor } from './cursor';

export class MemoryFileIndex implements FileIndex {
  private readonly rows = new Map<string, Map<string, DocumentAttributes>>();

  private of(seId: string): Map<string, DocumentAttributes> {
    let rows = this.rows.get(seId);
    if (!rows) {
      rows = new Map();
      this.rows.set(seId, rows);
    }
    return rows;
  }

  async upsert(seId: string, file: DocumentAttributes): Promise<void> {
    this.of(seId).set(file.fileId, file);
  }

  async get(seId: string, fileId: string): Promise<DocumentAttributes | null> {
    return this.of(seId).get(fileId) ?? null;
  }

  async remove(seId: string, fileId: string): Promise<void> {
    this.of(seId).delete(fileId);
  }

  async list(
    seId: string,
    options: { cursor: string | null; limit: number },
  ): Promise<Page<DocumentAttributes>> {
    const after = options.cursor ? String(decodeCursor(options.cursor, ['uuid'])[0]) : '';
    const sorted = [...this.of(seId).values()]
      .filter((f) => f.fileId > after)
      .sort((a, b) => a.fileId.localeCompare(b.fileId));
    const items = sorted.slice(0, options.limit);
    const last = items.at(-1);
    return { items, nextCursor: sorted.length > options.limit && last ? encodeCursor([last.fileId]) : null };
  }

  async stats(seId: string): Promise<{ files: number; bytes: number }> {
    let bytes = 0;
    // Stored bytes: what capacity counts.
    for (const file of this.of(seId).values()) bytes += file.stored.size;
    return { files: this.of(seId).size, bytes };
  }

  async clear(seId: string): Promise<void> {
    this.rows.delete(seId);
  }
}
