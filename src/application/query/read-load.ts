import type { Readable } from 'node:stream';

/**
 * Reads this process has in flight per storage element: the "least loaded" of §3.4 as one query
 * process can see it, without asking anyone. A stream counts until it closes (ends, fails or is
 * destroyed).
 */
export class ReadLoad {
  private readonly inFlight = new Map<string, number>();

  of(seId: string): number {
    return this.inFlight.get(seId) ?? 0;
  }

  track(seId: string, stream: Readable): Readable {
    this.inFlight.set(seId, this.of(seId) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = this.of(seId) - 1;
      if (left > 0) this.inFlight.set(seId, left);
      else this.inFlight.delete(seId);
    };
    if (stream.closed || stream.destroyed) release();
    else stream.once('close', release);
    return stream;
  }
}
