import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { StagedWriter, StagingArea } from '../../application/ports/staging-area';

const KEY = /^[A-Za-z0-9_-]{1,128}$/u;

/**
 * Partial uploads as plain files in one directory every ingester replica mounts. Each request's
 * bytes are written at their offset (positional writes), so a tail left by a crashed request is
 * simply overwritten by the next one.
 */
export class FsStagingArea implements StagingArea {
  private ready: Promise<unknown> | null = null;

  constructor(private readonly dir: string) {}

  private path(key: string): string {
    if (!KEY.test(key)) throw new Error(`'${key}' is not a staging key`);
    return join(this.dir, key);
  }

  async create(key: string): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const handle = await open(this.path(key), 'w');
    await handle.close();
  }

  async open(key: string): Promise<StagedWriter> {
    // r+ never creates: bytes for an upload whose staged file was removed (terminated, expired) fail.
    const handle = await open(this.path(key), 'r+');
    return {
      write: async (chunk, position) => {
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
          done += bytesWritten;
        }
      },
      sync: () => handle.datasync(),
      truncate: async (length) => {
        await handle.truncate(length);
        await handle.datasync();
      },
      close: () => handle.close(),
    };
  }

  read(key: string, length: number): Readable {
    if (length === 0) return Readable.from([]);
    return createReadStream(this.path(key), { start: 0, end: length - 1, highWaterMark: 1 << 20 });
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  /** Removes files last written before `before` (leftovers of requests cut short by a crash). */
  async removeOlderThan(before: Date): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names) {
      if (!KEY.test(name)) continue;
      const info = await stat(join(this.dir, name)).catch(() => null);
      if (info?.isFile() && info.mtime < before) {
        await rm(join(this.dir, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(
      () => true,
      () => false,
    );
  }
}
