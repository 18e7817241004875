import { z } from 'zod';
import type {
  StorageElementState,
  StorageElementStateStore,
} from '../../application/ports/storage-element-state';
import { STORAGE_MODES } from '../../domain/storage-mode/storage-mode';
import { DirectorySync, writeFileDurably } from '../blob-store/durable-fs';
import { nodeFileSystem, type FileSystem } from '../system/file-system';

const stateSchema = z.object({ mode: z.enum(STORAGE_MODES) });

/** The SE's own state file beside its WAL, replaced atomically and durably. */
export class FileStateStore implements StorageElementStateStore {
  private readonly dirs: DirectorySync;

  constructor(
    private readonly path: string,
    private readonly fs: FileSystem = nodeFileSystem,
  ) {
    this.dirs = new DirectorySync(fs);
  }

  async load(): Promise<StorageElementState | null> {
    let text: string;
    try {
      text = (await this.fs.readFile(this.path)).toString('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return stateSchema.parse(JSON.parse(text));
  }

  async save(state: StorageElementState): Promise<void> {
    await writeFileDurably(this.path, `${JSON.stringify({ mode: state.mode }, null, 2)}\n`, this.dirs);
  }
}
