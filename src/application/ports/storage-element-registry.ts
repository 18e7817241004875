import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';

/** Where every role learns which storage elements exist, their modes, capacity and liveness. */
export interface StorageElementRegistry {
  /** Called by the SE itself on start and periodically (heartbeat). */
  announce(descriptor: StorageElementDescriptor): Promise<void>;
  list(): Promise<StorageElementDescriptor[]>;
  get(id: string): Promise<StorageElementDescriptor | null>;
  recordMode(id: string, mode: StorageMode): Promise<void>;
}
