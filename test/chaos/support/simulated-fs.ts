import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { FileSystem, FsEntry, FsHandle } from '../../../src/adapters/system/file-system';
import { seeded } from '../../support/documents';

/**
 * An in-memory disk for the power-loss and I/O-error campaigns, behind the adapters' FileSystem
 * port. It keeps two states: what the running program sees (volatile) and what would survive a
 * power loss (durable). File bytes become durable at fsync/fdatasync of the file; a directory's
 * entries (create, rename, unlink, mkdir) become durable at fsync of that directory — the POSIX
 * contract, taken at its most pessimistic (a crash reverts every entry change not yet fsynced).
 *
 * Every call (of the file system or of an open handle) is numbered. `crashAt(n)` makes the nth call
 * the moment the power goes: it and every later call fail, and nothing changes any more.
 * `failAt(n, persistent)` makes the nth call after now fail with EIO (or every call from it on).
 * `afterPowerLoss(mode)` then builds the disk a reboot would find.
 */
interface FileNode {
  readonly kind: 'file';
  data: Buffer;
  durable: Buffer;
  mtime: Date;
}
interface DirNode {
  readonly kind: 'dir';
  entries: Map<string, Node>;
  durable: Map<string, Node>;
}
type Node = FileNode | DirNode;

/**
 * What a power loss keeps: `drop` only the fsynced state; `torn` also a random prefix of bytes
 * appended since a file's last fsync (a torn write); `journaled` keeps every directory entry (the
 * file system journaled its metadata) but only the fsynced bytes plus a random prefix.
 */
export type PowerLossMode = 'drop' | 'torn' | 'journaled';
export const POWER_LOSS_MODES: readonly PowerLossMode[] = ['drop', 'torn', 'journaled'];

export class PowerLost extends Error {
  readonly code = 'EIO';
  constructor() {
    super('simulated power loss: the machine is off');
  }
}

function fsError(code: string, call: string, path: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: simulated ${call} '${path}'`) as NodeJS.ErrnoException;
  error.code = code;
  error.syscall = call;
  error.path = path;
  return error;
}

const newDir = (): DirNode => ({ kind: 'dir', entries: new Map(), durable: new Map() });

export class SimulatedFs implements FileSystem {
  private readonly root: DirNode;
  /** Calls made so far (file system and handles). */
  calls = 0;
  private crashCall: number | null = null;
  private fault: { at: number; persistent: boolean; code: string } | null = null;
  /** Calls that failed with an injected EIO. */
  injected = 0;
  crashed = false;
  /** Called at every call before it takes effect, with its number: where a power loss can be taken. */
  onCall: ((call: number) => void) | null = null;

  constructor(root?: DirNode) {
    this.root = root ?? newDir();
  }

  /** The power goes at the nth call (counted from the first call ever). */
  crashAt(n: number | null): void {
    this.crashCall = n;
  }

  /** The nth call from now fails with EIO (or `code`); with `persistent`, every call from it on. */
  failAt(n: number, persistent: boolean, code = 'EIO'): void {
    this.fault = { at: this.calls + n, persistent, code };
  }

  healFaults(): void {
    this.fault = null;
  }

  /** Numbers the call and decides its fate: power gone, injected EIO, or go ahead. */
  private enter(call: string, path: string): void {
    if (this.crashed) throw new PowerLost();
    this.calls += 1;
    this.onCall?.(this.calls);
    if (this.crashCall !== null && this.calls >= this.crashCall) {
      this.crashed = true;
      throw new PowerLost();
    }
    const fault = this.fault;
    if (fault && (this.calls === fault.at || (fault.persistent && this.calls > fault.at))) {
      this.injected += 1;
      throw fsError(fault.code, call, path);
    }
  }

  private lookup(path: string): Node | undefined {
    let node: Node = this.root;
    for (const part of posix.normalize(path).split('/').filter(Boolean)) {
      if (node.kind !== 'dir') return undefined;
      const next = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private parentOf(path: string, call: string): DirNode {
    const parent = this.lookup(posix.dirname(path));
    if (!parent) throw fsError('ENOENT', call, path);
    if (parent.kind !== 'dir') throw fsError('ENOTDIR', call, path);
    return parent;
  }

  private file(path: string, call: string): FileNode {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', call, path);
    if (node.kind !== 'file') throw fsError('EISDIR', call, path);
    return node;
  }

  async open(path: string, flags: 'r' | 'wx' | 'a'): Promise<FsHandle> {
    this.enter('open', path);
    if (flags === 'r') {
      const node = this.lookup(path);
      if (!node) throw fsError('ENOENT', 'open', path);
      return this.handle(node, path, 0);
    }
    const parent = this.parentOf(path, 'open');
    const name = posix.basename(path);
    const existing = parent.entries.get(name);
    if (existing && flags === 'wx') throw fsError('EEXIST', 'open', path);
    if (existing?.kind === 'dir') throw fsError('EISDIR', 'open', path);
    const node: FileNode = existing ?? {
      kind: 'file',
      data: Buffer.alloc(0),
      durable: Buffer.alloc(0),
      mtime: new Date(),
    };
    parent.entries.set(name, node);
    return this.handle(node, path, flags === 'a' ? null : 0);
  }

  /** `position` null: every write appends (O_APPEND). */
  private handle(node: Node, path: string, start: number | null): FsHandle {
    let position = start ?? 0;
    let closed = false;
    const usable = (call: string): FileNode => {
      this.enter(call, path);
      if (closed) throw fsError('EBADF', call, path);
      if (node.kind !== 'file') throw fsError('EISDIR', call, path);
      return node;
    };
    const writeAt = (file: FileNode, bytes: Buffer): number => {
      const at = start === null ? file.data.length : position;
      const end = at + bytes.length;
      const data =
        end > file.data.length
          ? Buffer.concat([file.data, Buffer.alloc(end - file.data.length)])
          : Buffer.from(file.data);
      bytes.copy(data, at);
      file.data = data;
      file.mtime = new Date();
      position = end;
      return bytes.length;
    };
    const sync = async (): Promise<void> => {
      this.enter('fsync', path);
      if (closed) throw fsError('EBADF', 'fsync', path);
      if (node.kind === 'file') node.durable = node.data;
      else node.durable = new Map(node.entries);
    };
    return {
      writeFile: async (data) => {
        writeAt(usable('write'), Buffer.from(data));
      },
      write: async (buffer, offset) => ({ bytesWritten: writeAt(usable('write'), buffer.subarray(offset)) }),
      writev: async (buffers) => ({ bytesWritten: writeAt(usable('writev'), Buffer.concat(buffers)) }),
      datasync: sync,
      sync,
      truncate: async (length) => {
        const file = usable('ftruncate');
        file.data =
          length <= file.data.length
            ? Buffer.from(file.data.subarray(0, length))
            : Buffer.concat([file.data, Buffer.alloc(length - file.data.length)]);
      },
      close: async () => {
        if (closed) throw fsError('EBADF', 'close', path);
        // A close that fails still releases the descriptor (close(2)).
        closed = true;
        this.enter('close', path);
      },
      createReadStream: ({ start: from = 0, end, highWaterMark }) => {
        const file = usable('read');
        const bytes = file.data.subarray(from, end === undefined ? undefined : end + 1);
        closed = true;
        const chunks: Buffer[] = [];
        for (let at = 0; at < bytes.length; at += highWaterMark)
          chunks.push(bytes.subarray(at, at + highWaterMark));
        return Readable.from(chunks);
      },
    };
  }

  async mkdir(path: string): Promise<string | undefined> {
    this.enter('mkdir', path);
    let node: DirNode = this.root;
    let current = '/';
    let first: string | undefined;
    for (const part of posix.normalize(path).split('/').filter(Boolean)) {
      current = posix.join(current, part);
      const next = node.entries.get(part);
      if (next?.kind === 'file') throw fsError('ENOTDIR', 'mkdir', path);
      if (next) {
        node = next;
        continue;
      }
      const created = newDir();
      node.entries.set(part, created);
      first ??= current;
      node = created;
    }
    return first;
  }

  private dir(path: string, call: string): DirNode {
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', call, path);
    if (node.kind !== 'dir') throw fsError('ENOTDIR', call, path);
    return node;
  }

  async readdir(path: string): Promise<string[]> {
    this.enter('readdir', path);
    return [...this.dir(path, 'readdir').entries.keys()];
  }

  async opendir(path: string): Promise<AsyncIterable<FsEntry>> {
    this.enter('opendir', path);
    const entries: FsEntry[] = [...this.dir(path, 'opendir').entries].map(([name, node]) => ({
      name,
      isFile: () => node.kind === 'file',
      isDirectory: () => node.kind === 'dir',
    }));
    return Readable.from(entries);
  }

  async readFile(path: string): Promise<Buffer> {
    this.enter('read', path);
    return this.file(path, 'read').data;
  }

  async rename(from: string, to: string): Promise<void> {
    this.enter('rename', from);
    const source = this.parentOf(from, 'rename');
    const node = source.entries.get(posix.basename(from));
    if (!node) throw fsError('ENOENT', 'rename', from);
    const target = this.parentOf(to, 'rename');
    if (target.entries.get(posix.basename(to))?.kind === 'dir') throw fsError('EISDIR', 'rename', to);
    source.entries.delete(posix.basename(from));
    target.entries.set(posix.basename(to), node);
  }

  async rm(path: string): Promise<void> {
    this.enter('rm', path);
    const node = this.lookup(path);
    if (!node) return;
    if (node.kind === 'dir') throw fsError('EISDIR', 'rm', path);
    this.parentOf(path, 'rm').entries.delete(posix.basename(path));
  }

  async unlink(path: string): Promise<void> {
    this.enter('unlink', path);
    this.file(path, 'unlink');
    this.parentOf(path, 'unlink').entries.delete(posix.basename(path));
  }

  async stat(path: string): Promise<{ size: number; mtime: Date; isFile(): boolean }> {
    this.enter('stat', path);
    const node = this.lookup(path);
    if (!node) throw fsError('ENOENT', 'stat', path);
    return {
      size: node.kind === 'file' ? node.data.length : 4096,
      mtime: node.kind === 'file' ? node.mtime : new Date(0),
      isFile: () => node.kind === 'file',
    };
  }

  async statfs(path: string): Promise<{ blocks: number; bsize: number; bavail: number }> {
    this.enter('statfs', path);
    return { blocks: 1 << 24, bsize: 4096, bavail: 1 << 23 };
  }

  /** The disk a reboot finds after the power went now (see PowerLossMode); `seed` picks torn prefixes. */
  afterPowerLoss(mode: PowerLossMode, seed: number): SimulatedFs {
    const rand = seeded(seed);
    const copies = new Map<Node, Node>();
    const copy = (node: Node): Node => {
      const done = copies.get(node);
      if (done) return done;
      if (node.kind === 'file') {
        // Buffers are never changed in place (every write makes a new one), so copies share them.
        let data = node.durable;
        const appended = node.data.length > data.length && node.data.subarray(0, data.length).equals(data);
        if (mode !== 'drop' && appended) {
          const kept = Math.floor(rand() * (node.data.length - data.length + 1));
          data = node.data.subarray(0, data.length + kept);
        }
        const file: FileNode = { kind: 'file', data, durable: data, mtime: node.mtime };
        copies.set(node, file);
        return file;
      }
      const dir = newDir();
      copies.set(node, dir);
      for (const [name, child] of mode === 'journaled' ? node.entries : node.durable)
        dir.entries.set(name, copy(child));
      dir.durable = new Map(dir.entries);
      return dir;
    };
    return new SimulatedFs(copy(this.root) as DirNode);
  }

  /** The disk as it is now, volatile and durable state alike: a machine image to start several runs from. */
  clone(): SimulatedFs {
    const copies = new Map<Node, Node>();
    const copy = (node: Node): Node => {
      const done = copies.get(node);
      if (done) return done;
      if (node.kind === 'file') {
        const file: FileNode = { ...node };
        copies.set(node, file);
        return file;
      }
      const dir = newDir();
      copies.set(node, dir);
      for (const [name, child] of node.entries) dir.entries.set(name, copy(child));
      for (const [name, child] of node.durable) dir.durable.set(name, copy(child));
      return dir;
    };
    return new SimulatedFs(copy(this.root) as DirNode);
  }

  /** Every file path under `dir`, for structure checks and reports. */
  filesUnder(dir: string): string[] {
    const start = this.lookup(dir);
    const out: string[] = [];
    const walk = (node: Node, path: string): void => {
      if (node.kind === 'file') out.push(path);
      else for (const [name, child] of node.entries) walk(child, posix.join(path, name));
    };
    if (start) walk(start, dir);
    return out;
  }
}
