import type { WalDamage, WalIntent, WriteAheadLog } from '../../application/ports/write-ahead-log';

export class MemoryWriteAheadLog implements WriteAheadLog {
  private readonly open = new Map<string, WalIntent>();

  async begin(intent: WalIntent): Promise<void> {
    this.open.set(intent.txn, intent);
  }

  async commit(txn: string): Promise<void> {
    this.open.delete(txn);
  }

  async abort(txn: string): Promise<void> {
    this.open.delete(txn);
  }

  async unfinished(): Promise<WalIntent[]> {
    return [...this.open.values()];
  }

  /** Memory does not rot. */
  damaged(): readonly WalDamage[] {
    return [];
  }

  async compact(): Promise<void> {}

  async close(): Promise<void> {}
}
