import type { Page } from '../../application/ports/file-index';
import type { SagaFilter, SagaRecord, SagaStore, SagaUpdate } from '../../application/ports/saga-store';
import { decodeCursor, encodeCursor } from './cursor';

const UNFINISHED = new Set(['running', 'compensating']);

export class MemorySagaStore implements SagaStore {
  private readonly sagas = new Map<string, SagaRecord>();

  async create(saga: SagaRecord): Promise<boolean> {
    if (this.sagas.has(saga.id)) throw new Error(`saga ${saga.id} exists`);
    const busy =
      saga.fileId !== null &&
      [...this.sagas.values()].some((s) => s.fileId === saga.fileId && UNFINISHED.has(s.status));
    if (busy) return false;
    this.sagas.set(saga.id, structuredClone(saga));
    return true;
  }

  async save(id: string, owner: string, update: SagaUpdate): Promise<boolean> {
    const saga = this.sagas.get(id);
    if (!saga || saga.owner !== owner) return false;
    this.sagas.set(id, { ...saga, ...structuredClone(update) });
    return true;
  }

  async renew(ids: readonly string[], owner: string, leaseUntil: Date): Promise<void> {
    for (const id of ids) {
      const saga = this.sagas.get(id);
      if (saga && saga.owner === owner && UNFINISHED.has(saga.status))
        this.sagas.set(id, { ...saga, leaseUntil });
    }
  }

  async get(id: string): Promise<SagaRecord | null> {
    const saga = this.sagas.get(id);
    return saga ? structuredClone(saga) : null;
  }

  async list(filter: SagaFilter): Promise<Page<SagaRecord>> {
    const after = filter.cursor ? decodeCursor(filter.cursor, ['millis', 'uuid']) : null;
    const matches = [...this.sagas.values()]
      .filter(
        (s) =>
          (!filter.status || s.status === filter.status) &&
          (!filter.kind || s.kind === filter.kind) &&
          (!filter.fileId || s.fileId === filter.fileId),
      )
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id))
      .filter(
        (s) =>
          !after ||
          s.createdAt.getTime() < Number(after[0]) ||
          (s.createdAt.getTime() === Number(after[0]) && s.id < String(after[1])),
      );
    const items = matches.slice(0, filter.limit).map((s) => structuredClone(s));
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        matches.length > filter.limit && last ? encodeCursor([last.createdAt.getTime(), last.id]) : null,
    };
  }

  async claimExpired(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<SagaRecord[]> {
    const claimed: SagaRecord[] = [];
    for (const saga of [...this.sagas.values()].sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime(),
    )) {
      if (claimed.length >= limit) break;
      if (!UNFINISHED.has(saga.status) || saga.leaseUntil.getTime() > now.getTime()) continue;
      const taken = { ...saga, owner, leaseUntil, attempts: saga.attempts + 1 };
      this.sagas.set(saga.id, taken);
      claimed.push(structuredClone(taken));
    }
    return claimed;
  }
}
