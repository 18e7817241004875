import { mkdir, open, opendir, readdir, readFile, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * The file-system calls the storage element's local adapters make (blob store, WAL, state file),
 * as a narrow port so that a test double can stand in for the disk: the chaos campaigns use one
 * that records every write, fsync and rename and produces what a power loss or an I/O error
 * leaves (test/chaos/support/simulated-fs.ts). In production it is node:fs/promises itself.
 */
export interface FsHandle {
  writeFile(data: Buffer | string): Promise<void>;
  write(buffer: Buffer, offset: number): Promise<{ bytesWritten: number }>;
  writev(buffers: Buffer[]): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /** Reads the inclusive range and closes the handle at the end. */
  createReadStream(options: { start?: number; end?: number; highWaterMark: number }): Readable;
}

export interface FsEntry {
  readonly name: string;
  isFile(): boolean;
  isDirectory(): boolean;
}

export interface FileSystem {
  open(path: string, flags: 'r' | 'wx' | 'a', mode?: number): Promise<FsHandle>;
  /** mkdir -p; resolves to the first directory it created, undefined when all existed. */
  mkdir(path: string): Promise<string | undefined>;
  readdir(path: string): Promise<string[]>;
  opendir(path: string): Promise<AsyncIterable<FsEntry>>;
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing one is not an error. */
  rm(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  stat(path: string): Promise<{ size: number; mtime: Date; isFile(): boolean }>;
  statfs(path: string): Promise<{ blocks: number; bsize: number; bavail: number }>;
}

export const nodeFileSystem: FileSystem = {
  open: (path, flags, mode) => open(path, flags, mode),
  mkdir: (path) => mkdir(path, { recursive: true }),
  readdir: (path) => readdir(path),
  opendir: (path) => opendir(path),
  readFile: (path) => readFile(path),
  rename: (from, to) => rename(from, to),
  rm: (path) => rm(path, { force: true }),
  unlink: (path) => unlink(path),
  stat: (path) => stat(path),
  statfs: (path) => statfs(path),
};
