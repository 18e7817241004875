import type { RestoredCopies, RestoredCopy } from '../../application/ports/restored-copies';

export class MemoryRestoredCopies implements RestoredCopies {
  private readonly copies = new Map<string, RestoredCopy>();

  async put(copy: RestoredCopy): Promise<void> {
    this.copies.set(`${copy.fileId}/${copy.seId}`, { ...copy });
  }

  async list(fileId: string): Promise<RestoredCopy[]> {
    return [...this.copies.values()]
      .filter((c) => c.fileId === fileId)
      .sort((a, b) => b.expiresAt.getTime() - a.expiresAt.getTime() || a.seId.localeCompare(b.seId));
  }

  async expired(now: Date, limit: number): Promise<RestoredCopy[]> {
    return [...this.copies.values()]
      .filter((c) => c.expiresAt.getTime() <= now.getTime())
      .sort(
        (a, b) =>
          a.expiresAt.getTime() - b.expiresAt.getTime() ||
          a.fileId.localeCompare(b.fileId) ||
          a.seId.localeCompare(b.seId),
      )
      .slice(0, limit);
  }

  async remove(fileId: string, seId: string): Promise<void> {
    this.copies.delete(`${fileId}/${seId}`);
  }
}
