import { dirname, join, posix, sep } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BlobNotFound,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type IncompleteWrite,
} from '../../application/ports/blob-store';
import { isSidecarKey } from '../../domain/document/blob-key';
import { failpoint } from '../system/failpoints';
import { nodeFileSystem, type FileSystem } from '../system/file-system';
import {
  DirectorySync,
  discardTemp,
  ensureDirectory,
  isTempName,
  isTempOf,
  targetOfTemp,
  tempNameFor,
  writeStream,
} from './durable-fs';

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * BlobStore on a local directory. Every put is temp file in the same directory → fsync →
 * rename → fsync directory (§4), so a crash leaves either the old object or the new one, plus
 * at most a temp file that discardIncomplete (and the WAL replay) removes.
 */
export class LocalFsBlobStore implements BlobStore {
  private readonly dirs: DirectorySync;
  private spaceCache: { at: number; value: { totalBytes: number; freeBytes: number } } | null = null;

  constructor(
    private readonly root: string,
    private readonly fs: FileSystem = nodeFileSystem,
  ) {
    this.dirs = new DirectorySync(fs);
  }

  private pathOf(key: string): string {
    const parts = key.split('/');
    if (
      key.length === 0 ||
      key.includes('\\') ||
      key.includes('\0') ||
      parts.some((p) => p === '' || p === '.' || p === '..')
    ) {
      throw new Error(`invalid blob key '${key}'`);
    }
    return join(this.root, ...parts);
  }

  async put(key: string, source: Readable | Buffer): Promise<BlobStat> {
    const target = this.pathOf(key);
    await ensureDirectory(dirname(target), this.dirs);
    const temp = tempNameFor(target);
    const handle = await this.fs.open(temp, 'wx', 0o644);
    // The sidecar's rename is what makes a file exist (§4.1); the crash tests tell it from the blob's.
    const object = isSidecarKey(key) ? 'sidecar' : 'blob';
    let size = 0;
    try {
      if (Buffer.isBuffer(source)) {
        failpoint('fs.write');
        await handle.writeFile(source);
        size = source.length;
      } else {
        size = await writeStream(handle, source);
      }
      failpoint('fs.before_data_fsync');
      await handle.datasync();
      failpoint('fs.after_data_fsync');
      await handle.close();
      failpoint('fs.before_rename');
      failpoint(`${object}.before_rename`);
      await this.fs.rename(temp, target);
      failpoint('fs.after_rename');
      failpoint(`${object}.after_rename`);
    } catch (error) {
      await discardTemp(this.fs, handle, temp);
      throw error;
    }
    failpoint('fs.before_dir_fsync');
    await this.dirs.sync(dirname(target));
    failpoint('fs.after_dir_fsync');
    return { size };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      const handle = await this.fs.open(path, 'r');
      return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFound(key);
      throw error;
    }
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await this.fs.readFile(this.pathOf(key));
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFound(key);
      throw error;
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const info = await this.fs.stat(this.pathOf(key));
      return info.isFile() ? { size: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await this.fs.unlink(path);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await this.dirs.sync(dirname(path));
  }

  async *list(prefix = ''): AsyncIterable<string> {
    for await (const entry of this.walk(this.root, '', prefix)) if (!entry.temp) yield entry.key;
  }

  async *listIncomplete(): AsyncIterable<IncompleteWrite> {
    for await (const entry of this.walk(this.root, '', '')) {
      if (!entry.temp) continue;
      const info = await this.fs.stat(join(this.root, ...entry.key.split('/'))).catch(() => null);
      // A temp file that vanished meanwhile was renamed or removed by its own put.
      if (info) {
        const dir = posix.dirname(entry.key);
        const target = targetOfTemp(posix.basename(entry.key));
        yield { key: dir === '.' ? target : posix.join(dir, target), startedAt: info.mtime };
      }
    }
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.pathOf(from);
    const target = this.pathOf(to);
    await ensureDirectory(dirname(target), this.dirs);
    try {
      await this.fs.rename(source, target);
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFound(from);
      throw error;
    }
    await this.dirs.sync(dirname(target));
    await this.dirs.sync(dirname(source));
  }

  /** Every file under `dir` whose key can start with `prefix`; temp files flagged. */
  private async *walk(
    dir: string,
    relative: string,
    prefix: string,
  ): AsyncIterable<{ key: string; temp: boolean }> {
    let handle;
    try {
      handle = await this.fs.opendir(dir);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for await (const entry of handle) {
      const key = relative ? posix.join(relative, entry.name) : entry.name;
      if (entry.isDirectory()) {
        // Descend only where keys with the prefix can live.
        if (prefix.startsWith(`${key}/`) || key.startsWith(prefix))
          yield* this.walk(join(dir, entry.name), key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        yield { key, temp: isTempName(entry.name) };
      }
    }
  }

  async discardIncomplete(key: string): Promise<void> {
    const target = this.pathOf(key);
    let names: string[];
    try {
      names = await this.fs.readdir(dirname(target));
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const temps = names.filter((name) => isTempOf(name, target));
    await Promise.all(temps.map((name) => this.fs.rm(join(dirname(target), name))));
    if (temps.length > 0) await this.dirs.sync(dirname(target));
  }

  async space(): Promise<{ totalBytes: number; freeBytes: number }> {
    const now = Date.now();
    if (this.spaceCache && now - this.spaceCache.at < 500) return this.spaceCache.value;
    await ensureDirectory(this.root, this.dirs);
    const info = await this.fs.statfs(this.root);
    const value = { totalBytes: info.blocks * info.bsize, freeBytes: info.bavail * info.bsize };
    this.spaceCache = { at: now, value };
    return value;
  }

  toString(): string {
    return `LocalFsBlobStore(${this.root}${sep})`;
  }
}
