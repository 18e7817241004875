import type {
  TransitionGuard,
  UploadChange,
  UploadRecord,
  UploadStatus,
  UploadStore,
} from '../../application/ports/upload-store';

/** Upload state for one process (tests, or a deployment without PostgreSQL in the loop). */
export class MemoryUploadStore implements UploadStore {
  private readonly rows = new Map<string, UploadRecord>();

  async create(record: UploadRecord): Promise<void> {
    if (this.rows.has(record.id)) throw new Error(`upload ${record.id} already exists`);
    this.rows.set(record.id, structuredClone(record));
  }

  async get(id: string): Promise<UploadRecord | null> {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  async advance(id: string, from: number, to: number, now: Date): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.offset !== from || row.status !== 'uploading') return false;
    this.rows.set(id, { ...row, offset: to, updatedAt: now });
    return true;
  }

  async transition(
    id: string,
    from: readonly UploadStatus[],
    change: UploadChange,
    { staleBefore, fileId }: TransitionGuard = {},
  ): Promise<UploadRecord | null> {
    const row = this.rows.get(id);
    if (!row || !from.includes(row.status)) return null;
    if (staleBefore && row.updatedAt.getTime() >= staleBefore.getTime()) return null;
    if (fileId !== undefined && row.fileId !== fileId) return null;
    const defined = Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined));
    const next = { ...row, ...defined } as UploadRecord;
    this.rows.set(id, next);
    return structuredClone(next);
  }

  async remove(id: string): Promise<boolean> {
    if (this.rows.get(id)?.status === 'completing') return false;
    return this.rows.delete(id);
  }

  async expired(now: Date, limit: number): Promise<UploadRecord[]> {
    return [...this.rows.values()]
      .filter((r) => r.expiresAt.getTime() <= now.getTime())
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async stalled(staleBefore: Date, limit: number): Promise<UploadRecord[]> {
    return [...this.rows.values()]
      .filter(
        (r) =>
          (r.status === 'completing' || (r.status === 'uploading' && r.offset === r.length)) &&
          r.updatedAt.getTime() < staleBefore.getTime(),
      )
      .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }
}
