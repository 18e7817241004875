import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { failpoint } from '../system/failpoints';
import { nodeFileSystem, type FileSystem, type FsHandle } from '../system/file-system';

async function fsyncPath(fs: FileSystem, path: string): Promise<void> {
  failpoint('fs.dir_fsync');
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface Round {
  inFlight: Promise<void> | null;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * Group commit for directory fsyncs: a caller whose rename happened while a directory fsync was
 * already running waits for the next one, and every caller that arrived meanwhile shares it.
 * Many concurrent writes into one day-directory cost a handful of fsyncs instead of one each.
 */
export class DirectorySync {
  private readonly rounds = new Map<string, Round>();
  /** Directories known to exist durably (see ensureDirectory). */
  readonly known = new Set<string>();
  /** Directories made here whose entry in their parent is not yet known to be fsynced. */
  readonly unsynced = new Set<string>();

  constructor(readonly fs: FileSystem = nodeFileSystem) {}

  sync(dir: string): Promise<void> {
    let round = this.rounds.get(dir);
    if (!round) {
      round = { inFlight: null, waiters: [] };
      this.rounds.set(dir, round);
    }
    const promise = new Promise<void>((resolve, reject) => round.waiters.push({ resolve, reject }));
    if (!round.inFlight) this.startRound(dir, round);
    return promise;
  }

  private startRound(dir: string, round: Round): void {
    const waiters = round.waiters.splice(0);
    round.inFlight = fsyncPath(this.fs, dir).then(
      () => waiters.forEach((w) => w.resolve()),
      (error: unknown) => waiters.forEach((w) => w.reject(error)),
    );
    void round.inFlight.then(() => {
      round.inFlight = null;
      if (round.waiters.length > 0) this.startRound(dir, round);
      else this.rounds.delete(dir);
    });
  }
}

/**
 * mkdir -p, then fsync the parent of every directory it created, so the new path survives a crash.
 * A directory whose parent fsync failed, or is still running for a concurrent caller, stays in
 * `unsynced`: the next caller fsyncs it again rather than taking its existence as durable.
 */
export async function ensureDirectory(dir: string, dirs: DirectorySync): Promise<void> {
  if (dirs.known.has(dir)) return;
  const first = await dirs.fs.mkdir(dir);
  if (first !== undefined) {
    for (let created = dir; ; created = dirname(created)) {
      dirs.unsynced.add(created);
      if (created === first) break;
    }
  }
  const chain: string[] = [];
  for (let created = dir; dirs.unsynced.has(created); created = dirname(created)) {
    await dirs.sync(dirname(created));
    chain.push(created);
  }
  chain.forEach((created) => dirs.unsynced.delete(created));
  dirs.known.add(dir);
}

export function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** The object name a temp file was being written for (see tempNameFor). */
export function targetOfTemp(name: string): string {
  return name.slice(1, -'.tmp'.length).replace(/\.[0-9a-f]{12}$/u, '');
}

export function isTempOf(name: string, target: string): boolean {
  return isTempName(name) && name.startsWith(`.${basename(target)}.`);
}

/**
 * After a failed write or fsync: the temp file goes, and the caller's error is the one reported
 * (a storage_full must not turn into an unlink error). A temp file that cannot be removed now is
 * removed by discardIncomplete when the write is rolled back.
 */
export async function discardTemp(fs: FileSystem, handle: FsHandle, temp: string): Promise<void> {
  await handle.close().catch(() => undefined);
  await fs.rm(temp).catch(() => undefined);
}

/** Small whole-file writes (state, sidecars): temp → fsync → rename → fsync directory. */
export async function writeFileDurably(
  target: string,
  data: Buffer | string,
  dirs: DirectorySync,
): Promise<void> {
  await ensureDirectory(dirname(target), dirs);
  const temp = tempNameFor(target);
  const handle = await dirs.fs.open(temp, 'wx', 0o644);
  try {
    failpoint('fs.write');
    await handle.writeFile(data);
    failpoint('fs.before_data_fsync');
    await handle.datasync();
    failpoint('fs.after_data_fsync');
    await handle.close();
    failpoint('fs.before_rename');
    await dirs.fs.rename(temp, target);
    failpoint('fs.after_rename');
  } catch (error) {
    await discardTemp(dirs.fs, handle, temp);
    throw error;
  }
  failpoint('fs.before_dir_fsync');
  await dirs.sync(dirname(target));
  failpoint('fs.after_dir_fsync');
}

const BATCH_BYTES = 1 << 20;

async function writeFully(handle: FsHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    failpoint('fs.write');
    const { bytesWritten } = await handle.writev(rest);
    // Regular files rarely take less than asked; when they do, continue from where it stopped.
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const buffer of rest) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        next.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    rest = next;
  }
}

/**
 * Streams `source` into the file with one writev per ~1 MiB, the next batch filling while the
 * previous one is written. A failed write (a full disk) destroys `source` at once, so the upload
 * ends then, not whenever its next chunk arrives. (A FileHandle write stream with autoClose: false
 * keeps the handle referenced and its close() never resolves, so the stream API does not fit
 * fsync-then-close.)
 */
export async function writeStream(handle: FsHandle, source: Readable): Promise<number> {
  let size = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      batch.push(chunk);
      batchBytes += chunk.length;
      size += chunk.length;
      if (batchBytes >= BATCH_BYTES) {
        await writing;
        writing = writeFully(handle, batch);
        writing.catch((error: unknown) => source.destroy(error as Error));
        batch = [];
        batchBytes = 0;
      }
    }
  } catch (error) {
    await writing.catch(() => undefined);
    throw error;
  }
  await writing;
  if (batch.length > 0) await writeFully(handle, batch);
  return size;
}
