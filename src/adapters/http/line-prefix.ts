import type { Readable } from 'node:stream';

/**
 * Reads one `\n`-terminated line from the start of a stream and returns it with a stream of
 * everything after it (the rest of the first chunk is pushed back with unshift).
 */
export function readFirstLine(source: Readable, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    const cleanup = (): void => {
      source.off('readable', onReadable);
      source.off('error', onError);
      source.off('end', onEnd);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('the body ended before its first line'));
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = source.read() as Buffer | null) !== null) {
        const newline = chunk.indexOf(0x0a);
        if (newline >= 0) {
          parts.push(chunk.subarray(0, newline));
          const rest = chunk.subarray(newline + 1);
          cleanup();
          if (rest.length > 0) source.unshift(rest);
          resolve(Buffer.concat(parts).toString('utf8'));
          return;
        }
        parts.push(chunk);
        length += chunk.length;
        if (length > maxBytes) {
          cleanup();
          reject(new Error(`the first line is longer than ${maxBytes} bytes`));
          return;
        }
      }
    };
    source.on('readable', onReadable);
    source.on('error', onError);
    source.on('end', onEnd);
  });
}
