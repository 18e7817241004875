import { Readable } from 'node:stream';
import {
  BlobNotFound,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type IncompleteWrite,
} from '../../application/ports/blob-store';

/** BlobStore in memory, for unit tests and as the contract suite's reference. */
export class MemoryBlobStore implements BlobStore {
  readonly objects = new Map<string, Buffer>();

  constructor(private readonly totalBytes: number | null = null) {}

  async put(key: string, source: Readable | Buffer): Promise<BlobStat> {
    let content: Buffer;
    if (Buffer.isBuffer(source)) {
      content = source;
    } else {
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(chunk as Buffer);
      content = Buffer.concat(chunks);
    }
    this.objects.set(key, content);
    return { size: content.length };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const content = this.objects.get(key);
    if (!content) throw new BlobNotFound(key);
    return Readable.from([range ? content.subarray(range.start, range.end + 1) : content]);
  }

  async read(key: string): Promise<Buffer> {
    const content = this.objects.get(key);
    if (!content) throw new BlobNotFound(key);
    return content;
  }

  async stat(key: string): Promise<BlobStat | null> {
    const content = this.objects.get(key);
    return content ? { size: content.length } : null;
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for (const key of [...this.objects.keys()]) if (key.startsWith(prefix)) yield key;
  }

  async discardIncomplete(): Promise<void> {}

  /** A memory put is never half-done. */
  async *listIncomplete(): AsyncIterable<IncompleteWrite> {}

  async move(from: string, to: string): Promise<void> {
    const content = this.objects.get(from);
    if (!content) throw new BlobNotFound(from);
    this.objects.set(to, content);
    this.objects.delete(from);
  }

  async space(): Promise<{ totalBytes: number; freeBytes: number } | null> {
    if (this.totalBytes === null) return null;
    let used = 0;
    for (const content of this.objects.values()) used += content.length;
    return { totalBytes: this.totalBytes, freeBytes: Math.max(0, this.totalBytes - used) };
  }
}
