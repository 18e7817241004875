import { join } from 'node:path';
import type { WalDamage, WalIntent, WriteAheadLog } from '../../application/ports/write-ahead-log';
import { DirectorySync } from '../blob-store/durable-fs';
import { failpoint } from '../system/failpoints';
import { nodeFileSystem, type FileSystem, type FsHandle } from '../system/file-system';
import { encodeRecord, readSegment, type WalRecord } from './wal-records';

interface Pending {
  readonly line: string;
  readonly durable: boolean;
  /** Runs once the record is written, before anything else reads the open set. */
  readonly written: (() => void) | null;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const SEGMENT = /^wal-(\d{12})\.log$/u;
const ROTATE_BYTES = 16 * 1024 * 1024;

/**
 * The WAL as checksummed JSON lines (wal-records.ts) in numbered segments on the SE's local disk.
 * Appends are group-committed: records queued while a write + fdatasync runs go out together in
 * the next one. A torn last line (crash mid-append) is ignored on open; a damaged record is skipped
 * and reported (damaged()); new records always go to a fresh segment. A failed write
 * or fdatasync (a full disk, an I/O error) fails every record of its batch and cuts the segment
 * back to where the batch began, so no torn or unacknowledged record stays for later records to
 * be appended to; when the cut-back fails too, the next append tries it again before writing.
 */
export class FileWriteAheadLog implements WriteAheadLog {
  private readonly open = new Map<string, WalIntent>();
  private readonly damage: WalDamage[] = [];
  private readonly queue: Pending[] = [];
  private flushScheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private handle: FsHandle | null = null;
  private segment = 0;
  private segmentBytes = 0;
  /** Set when a failed batch could not be cut off: nothing more is appended until a cut-back succeeds. */
  private broken: Error | null = null;
  private readonly dirs: DirectorySync;

  private constructor(
    private readonly dir: string,
    private readonly fs: FileSystem,
  ) {
    this.dirs = new DirectorySync(fs);
  }

  static async openAt(dir: string, fs: FileSystem = nodeFileSystem): Promise<FileWriteAheadLog> {
    const wal = new FileWriteAheadLog(dir, fs);
    await wal.load();
    return wal;
  }

  private async load(): Promise<void> {
    await this.fs.mkdir(this.dir);
    for (const segment of await this.segments()) {
      this.segment = Math.max(this.segment, segment);
      for (const entry of readSegment(await this.fs.readFile(this.segmentPath(segment)))) {
        if ('record' in entry) this.apply(entry.record);
        else {
          this.damage.push({ segment: segmentName(segment), ...entry.damage });
          // The damaged record may have been the commit or abort of any transaction open so far.
          for (const [txn, intent] of this.open) this.open.set(txn, { ...intent, doubtful: true });
        }
      }
    }
    await this.startSegment(this.segment + 1);
  }

  private apply(record: WalRecord): void {
    if (record.t === 'begin')
      this.open.set(record.txn, { txn: record.txn, op: record.op, fileId: record.file_id, key: record.key });
    else this.open.delete(record.txn);
  }

  private async segments(): Promise<number[]> {
    return (await this.fs.readdir(this.dir))
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private segmentPath(n: number): string {
    return join(this.dir, segmentName(n));
  }

  private async startSegment(n: number): Promise<void> {
    const handle = await this.fs.open(this.segmentPath(n), 'a', 0o644);
    await this.dirs.sync(this.dir);
    const previous = this.handle;
    this.handle = handle;
    this.segment = n;
    this.segmentBytes = 0;
    if (previous) {
      await previous.datasync();
      await previous.close();
    }
  }

  /** Open from now on, so a rotation meanwhile carries it; a begin that failed never opened. */
  async begin(intent: WalIntent): Promise<void> {
    this.open.set(intent.txn, intent);
    try {
      await this.append(
        { t: 'begin', txn: intent.txn, op: intent.op, file_id: intent.fileId, key: intent.key },
        true,
        null,
      );
    } catch (error) {
      this.open.delete(intent.txn);
      throw error;
    }
  }

  /** Finished once its record is written: a commit or abort that failed leaves the transaction open. */
  commit(txn: string): Promise<void> {
    return this.append({ t: 'commit', txn }, false, () => this.open.delete(txn));
  }

  /** Durable, unlike a commit: a write reported as failed must not be finished by a later replay. */
  abort(txn: string): Promise<void> {
    return this.append({ t: 'abort', txn }, true, () => this.open.delete(txn));
  }

  async unfinished(): Promise<WalIntent[]> {
    return [...this.open.values()];
  }

  damaged(): readonly WalDamage[] {
    return this.damage;
  }

  private append(record: WalRecord, durable: boolean, written: (() => void) | null): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line: encodeRecord(record), durable, written, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        void this.serially(() => this.flushQueued());
      }
    });
  }

  /** Runs file operations one at a time: appends, rotation and close never interleave. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.chain.then(task);
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Everything queued while the previous write + fdatasync ran goes out in one write + one fdatasync. */
  private async flushQueued(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue.splice(0);
    try {
      await this.writeRecords(
        batch.map((p) => p.line).join(''),
        batch.some((p) => p.durable),
      );
    } catch (error) {
      batch.forEach((p) => p.reject(error));
      return;
    }
    batch.forEach((p) => p.written?.());
    batch.forEach((p) => p.resolve());
    if (this.segmentBytes > ROTATE_BYTES) await this.rotate().catch(() => undefined);
  }

  /**
   * Appends `chunk` to the current segment in full (a write may take fewer bytes than asked, e.g.
   * at the last free block), then fdatasyncs when `durable`. On failure the segment is truncated
   * back to its previous end; if even that fails, the log stops taking records.
   */
  private async writeRecords(chunk: string, durable: boolean): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new Error('the write-ahead log is closed');
    if (this.broken) {
      // The fault that stopped the cut-back may have passed (a transient I/O error): try again.
      const broken = this.broken;
      await handle.truncate(this.segmentBytes).catch(() => {
        throw broken;
      });
      this.broken = null;
    }
    const bytes = Buffer.from(chunk);
    const start = this.segmentBytes;
    try {
      failpoint('wal.before_append');
      for (let offset = 0; offset < bytes.length;) {
        offset += (await handle.write(bytes, offset)).bytesWritten;
      }
      failpoint('wal.after_append');
      if (durable) {
        failpoint('wal.before_fsync');
        await handle.datasync();
        failpoint('wal.after_fsync');
      }
    } catch (error) {
      await handle.truncate(start).catch((cause: unknown) => {
        this.broken = new Error(
          'the write-ahead log could not be cut back after a failed append; restart the storage element',
          { cause },
        );
      });
      throw error;
    }
    this.segmentBytes = start + bytes.length;
  }

  compact(): Promise<void> {
    return this.serially(() => this.rotate());
  }

  /**
   * Starts a new segment holding the begin records of still-open transactions, then deletes the
   * older segments: finished transactions leave no trace.
   */
  private async rotate(): Promise<void> {
    const old = await this.segments();
    const carried = [...this.open.values()]
      .map((i) => encodeRecord({ t: 'begin', txn: i.txn, op: i.op, file_id: i.fileId, key: i.key }))
      .join('');
    const next = this.segment + 1;
    await this.startSegment(next);
    // Should this fail, the older segments stay: they still hold every open transaction's begin.
    if (carried) await this.writeRecords(carried, true);
    await Promise.all(old.filter((n) => n < next).map((n) => this.fs.rm(this.segmentPath(n))));
    await this.dirs.sync(this.dir);
  }

  close(): Promise<void> {
    return this.serially(async () => {
      const handle = this.handle;
      this.handle = null;
      if (handle) {
        await handle.datasync();
        await handle.close();
      }
    });
  }
}

function segmentName(n: number): string {
  return `wal-${String(n).padStart(12, '0')}.log`;
}
