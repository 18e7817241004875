import type { FileIndex, Page } from '../../application/ports/file-index';
import type { DocumentAttributes } from '../../domain/document/document';
import { ReadThroughCache } from './read-through-cache';

const SEPARATOR = '\u0000';
const keyOf = (seId: string, fileId: string): string => `${seId}${SEPARATOR}${fileId}`;

/**
 * Keeps the most recently read index rows in memory so a read does not query PostgreSQL for a
 * file its storage element already knows. Coherent because an SE's rows are written only by the
 * process that hosts the SE, and every write goes through this object.
 */
export class CachingFileIndex implements FileIndex {
  private readonly cache: ReadThroughCache<DocumentAttributes>;

  constructor(
    private readonly inner: FileIndex,
    maxEntries: number,
  ) {
    this.cache = new ReadThroughCache({ max: maxEntries });
  }

  async upsert(seId: string, file: DocumentAttributes): Promise<void> {
    await this.cache.writing(keyOf(seId, file.fileId), () => this.inner.upsert(seId, file));
    this.cache.set(keyOf(seId, file.fileId), file);
  }

  get(seId: string, fileId: string): Promise<DocumentAttributes | null> {
    return this.cache.read(keyOf(seId, fileId), () => this.inner.get(seId, fileId));
  }

  remove(seId: string, fileId: string): Promise<void> {
    return this.cache.writing(keyOf(seId, fileId), () => this.inner.remove(seId, fileId));
  }

  list(seId: string, options: { cursor: string | null; limit: number }): Promise<Page<DocumentAttributes>> {
    return this.inner.list(seId, options);
  }

  stats(seId: string): Promise<{ files: number; bytes: number }> {
    return this.inner.stats(seId);
  }

  async clear(seId: string): Promise<void> {
    const ofElement = (key: string): boolean => key.startsWith(`${seId}${SEPARATOR}`);
    this.cache.forgetWhere(ofElement);
    try {
      await this.inner.clear(seId);
    } finally {
      this.cache.forgetWhere(ofElement);
    }
  }
}
