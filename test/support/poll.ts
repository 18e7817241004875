import { setTimeout as delay } from 'node:timers/promises';

const PACE_MS = 50;

/**
 * Polls `probe` until `done` holds or `timeoutMs` passes, and returns the last value for the
 * caller to assert on. For effects that reach other processes asynchronously; the pause only
 * paces the polling.
 */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await delay(PACE_MS);
  }
}

/** Polls `probe` until it returns a value (not null or undefined); fails naming `what` after the deadline. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(PACE_MS);
  }
}
