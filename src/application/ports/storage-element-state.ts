import type { StorageMode } from '../../domain/storage-mode/storage-mode';

export interface StorageElementState {
  readonly mode: StorageMode;
}

/** Durable per-SE state kept beside its WAL (the SE is the authority on its own mode). */
export interface StorageElementStateStore {
  load(): Promise<StorageElementState | null>;
  save(state: StorageElementState): Promise<void>;
}
