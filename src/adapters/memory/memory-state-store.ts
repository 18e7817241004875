import type {
  StorageElementState,
  StorageElementStateStore,
} from '../../application/ports/storage-element-state';

export class MemoryStateStore implements StorageElementStateStore {
  constructor(private state: StorageElementState | null = null) {}

  async load(): Promise<StorageElementState | null> {
    return this.state;
  }

  async save(state: StorageElementState): Promise<void> {
    this.state = state;
  }
}
