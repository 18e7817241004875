import type { FixityCheck, FixityLog, FixityTrigger } from '../../application/ports/fixity-log';

export class MemoryFixityLog implements FixityLog {
  readonly checks: FixityCheck[] = [];

  async record(check: FixityCheck): Promise<void> {
    this.checks.push(check);
  }

  async history(fileId: string, options: { limit: number }): Promise<FixityCheck[]> {
    return this.checks
      .map((check, order) => ({ check, order }))
      .filter(({ check }) => check.fileId === fileId)
      .sort((a, b) => b.check.checkedAt.getTime() - a.check.checkedAt.getTime() || b.order - a.order)
      .slice(0, options.limit)
      .map(({ check }) => check);
  }

  async lastCheckedAt(seId: string, triggers: readonly FixityTrigger[]): Promise<Date | null> {
    const times = this.checks
      .filter((c) => c.seId === seId && triggers.includes(c.trigger))
      .map((c) => c.checkedAt.getTime());
    return times.length > 0 ? new Date(Math.max(...times)) : null;
  }
}
