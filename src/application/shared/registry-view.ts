import type { StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { EventBus } from '../ports/event-bus';
import type { Clock } from '../ports/clock';
import type { StorageElementRegistry } from '../ports/storage-element-registry';

/**
 * A short-lived snapshot of the SE registry for the hot paths (placement, reads). Refreshed at
 * most every `maxAgeMs`, and at once when any role announces a change on the event bus.
 */
export class RegistryView {
  private snapshot: { at: number; elements: StorageElementDescriptor[] } | null = null;
  private loading: Promise<StorageElementDescriptor[]> | null = null;

  constructor(
    private readonly registry: StorageElementRegistry,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
  ) {}

  async listen(events: EventBus): Promise<() => Promise<void>> {
    return events.subscribe('storage_element.changed', () => this.invalidate());
  }

  invalidate(): void {
    this.snapshot = null;
  }

  async list(): Promise<StorageElementDescriptor[]> {
    const now = this.clock.now().getTime();
    if (this.snapshot && now - this.snapshot.at < this.maxAgeMs) return this.snapshot.elements;
    this.loading ??= this.registry.list().then(
      (elements) => {
        this.snapshot = { at: now, elements };
        this.loading = null;
        return elements;
      },
      (error: unknown) => {
        this.loading = null;
        throw error;
      },
    );
    return this.loading;
  }
}
