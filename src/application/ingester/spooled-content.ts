import { Readable } from 'node:stream';
import type { StagedWriter, StagingArea } from '../ports/staging-area';

/** Spool writes may run this far ahead of the stream before it waits for them. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

export interface SpooledContent {
  /**
   * The content from its first byte. The first call streams the client's body, keeping a copy of
   * every chunk in the spool before passing it on; a later call (the SE failed part-way) replays
   * the spooled bytes and then goes on with the rest of the body. Each call ends the previous
   * stream's use of the body first.
   */
  readonly open: () => Readable;
  /** Removes the spooled bytes; safe to call whatever state the streams are in. */
  dispose(): Promise<void>;
}

/**
 * A direct upload too large to hold in memory, made re-readable (§3.4: a write that fails
 * part-way moves to the next SE without the client noticing). The spool is a scratch copy, never
 * fsynced: it lives only as long as the request, usually in the page cache alone.
 */
export function spooledContent(source: Readable, spool: StagingArea, key: string): SpooledContent {
  let writer: Promise<StagedWriter> | null = null;
  let spooled = 0;
  let inFlight = 0;
  let pending: Promise<void> = Promise.resolve();
  let spoolError: unknown = null;
  let current: AbortController | null = null;
  let disposed = false;

  const append = (chunk: Buffer): void => {
    const at = spooled;
    spooled += chunk.length;
    inFlight += chunk.length;
    writer ??= spool.create(key).then(() => spool.open(key));
    const opened = writer;
    pending = pending
      .then(async () => (spoolError === null ? (await opened).write(chunk, at) : undefined))
      .catch((error: unknown) => {
        spoolError ??= error;
      })
      .finally(() => {
        inFlight -= chunk.length;
      });
  };

  // One reader of the body for every stream: a read cut short by an abandoned stream is
  // finished by the next one, so no chunk is taken from the body without being spooled.
  const body = source.iterator({ destroyOnReturn: false });
  let nextChunk: Promise<IteratorResult<unknown>> | null = null;
  let bodyError: unknown = null;

  async function* replayThenRest(signal: AbortSignal): AsyncGenerator<Buffer> {
    const abandoned = new Promise<null>((resolve) => {
      if (signal.aborted) resolve(null);
      else signal.addEventListener('abort', () => resolve(null), { once: true });
    });
    // The client's body failed (it hung up, it broke a limit): replaying to another SE cannot help.
    if (bodyError !== null) throw bodyError;
    if (spooled > 0) {
      await pending;
      if (spoolError !== null) throw spoolError;
      for await (const chunk of spool.read(key, spooled)) {
        if (signal.aborted) return;
        yield chunk as Buffer;
      }
    }
    for (;;) {
      nextChunk ??= body.next().catch((error: unknown) => {
        bodyError ??= error;
        throw error;
      });
      const result = await Promise.race([nextChunk, abandoned]);
      if (result === null) return; // this stream was destroyed; the pending read is the next one's
      nextChunk = null;
      if (result.done) return;
      const chunk = result.value as Buffer;
      append(chunk);
      if (inFlight > MAX_PENDING_BYTES) await pending;
      yield chunk;
    }
  }

  return {
    open: () => {
      if (disposed) throw new Error('the spooled content was disposed');
      // The previous stream (if any) has been destroyed by its reader: it stops at once.
      current?.abort();
      const controller = new AbortController();
      current = controller;
      const stream = Readable.from(replayThenRest(controller.signal), {
        objectMode: false,
        highWaterMark: 1 << 20,
      });
      const destroy = stream._destroy.bind(stream);
      stream._destroy = (error, callback) => {
        controller.abort();
        destroy(error, callback);
      };
      return stream;
    },
    dispose: async () => {
      disposed = true;
      current?.abort();
      await pending;
      if (writer) await (await writer.catch(() => null))?.close().catch(() => undefined);
      await spool.remove(key).catch(() => undefined);
    },
  };
}
