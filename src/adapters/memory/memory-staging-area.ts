import { Readable } from 'node:stream';
import type { StagedWriter, StagingArea } from '../../application/ports/staging-area';

/** Staged bytes in memory, for tests of the resumable-upload use case. */
export class MemoryStagingArea implements StagingArea {
  readonly files = new Map<string, Buffer>();

  async create(key: string): Promise<void> {
    this.files.set(key, Buffer.alloc(0));
  }

  async open(key: string): Promise<StagedWriter> {
    if (!this.files.has(key)) throw Object.assign(new Error(`no staged file ${key}`), { code: 'ENOENT' });
    return {
      write: async (chunk, position) => {
        const current = this.files.get(key) ?? Buffer.alloc(0);
        const next = Buffer.alloc(Math.max(current.length, position + chunk.length));
        current.copy(next);
        chunk.copy(next, position);
        this.files.set(key, next);
      },
      sync: async () => undefined,
      truncate: async (length) => {
        this.files.set(key, (this.files.get(key) ?? Buffer.alloc(0)).subarray(0, length));
      },
      close: async () => undefined,
    };
  }

  read(key: string, length: number): Readable {
    return Readable.from([(this.files.get(key) ?? Buffer.alloc(0)).subarray(0, length)]);
  }

  async remove(key: string): Promise<void> {
    this.files.delete(key);
  }

  async exists(key: string): Promise<boolean> {
    return this.files.has(key);
  }
}
