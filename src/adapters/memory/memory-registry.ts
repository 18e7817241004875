import type { StorageElementRegistry } from '../../application/ports/storage-element-registry';
import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';

export class MemoryStorageElementRegistry implements StorageElementRegistry {
  private readonly elements = new Map<string, StorageElementDescriptor>();

  async announce(descriptor: StorageElementDescriptor): Promise<void> {
    this.elements.set(descriptor.id, descriptor);
  }

  async list(): Promise<StorageElementDescriptor[]> {
    return [...this.elements.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<StorageElementDescriptor | null> {
    return this.elements.get(id) ?? null;
  }

  async recordMode(id: string, mode: StorageMode): Promise<void> {
    const se = this.elements.get(id);
    if (se) this.elements.set(id, { ...se, mode });
  }
}
