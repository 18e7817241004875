import { PassThrough, type Readable } from 'node:stream';

export interface Peeked {
  /** Up to `bytes` first bytes of the content (fewer when the content is shorter). */
  readonly head: Buffer;
  /** The whole content again, head included, unread. */
  readonly stream: Readable;
}

/**
 * Reads the first bytes of a stream (for sniffing its type or sampling its compressibility) and
 * hands back a stream of the whole content. Nothing past the head is buffered: the rest flows
 * from the source as the returned stream is read. A source error before the head is complete
 * rejects; a later one reaches the returned stream.
 */
export function peekStream(source: Readable, bytes: number): Promise<Peeked> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', finish);
      source.off('error', onError);
      source.pause();
      const all = Buffer.concat(chunks, length);
      const out = new PassThrough({ highWaterMark: 1 << 20 });
      // The source flows on into `out` before the caller can attach to it: an error in between
      // must not be an unhandled 'error' event (`out` stays errored, so a later pipeline sees it).
      out.on('error', () => undefined);
      out.write(all);
      source.on('error', (error) => out.destroy(error));
      source.pipe(out);
      if (source.readableEnded) out.end();
      // The source ended while we sampled: pipe() never sees an 'end' that already happened.
      resolve({ head: all.subarray(0, Math.min(bytes, length)), stream: out });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= bytes) finish();
    };
    const onError = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    if (source.readableEnded) {
      finish();
      return;
    }
    // Destroyed before we came (a multipart body that failed while placement was decided): its
    // 'error' or 'close' has been and gone, so waiting for one would wait forever.
    if (source.destroyed) {
      settled = true;
      reject(
        source.errored ??
          Object.assign(new Error('the content stream was closed before it was read'), {
            code: 'ERR_STREAM_PREMATURE_CLOSE',
          }),
      );
      return;
    }
    source.on('data', onData);
    source.on('end', finish);
    source.on('error', onError);
  });
}
