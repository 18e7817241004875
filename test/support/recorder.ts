/**
 * Collects what a handler receives and lets a test await the n-th delivery. The timeout is only a
 * guard so a lost message fails the test with a message instead of hanging it; it never stands in
 * for synchronisation.
 */
export class Recorder<T> {
  readonly received: T[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  readonly handler = (value: T): void => {
    this.received.push(value);
    for (const waiter of [...this.waiters]) {
      if (this.received.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  /** Resolves with everything received once `count` deliveries have arrived. */
  async until(count: number, guardMs = 2_000): Promise<T[]> {
    if (this.received.length < count) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        this.waiters.push({ count, resolve });
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `expected ${count} deliveries within ${guardMs} ms, got ${this.received.length}: ${JSON.stringify(this.received)}`,
              ),
            ),
          guardMs,
        );
      }).finally(() => clearTimeout(timer));
    }
    return [...this.received];
  }
}
