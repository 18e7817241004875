import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ApplicationError } from '../errors';
import type { ByteRange } from '../ports/blob-store';

export interface FailoverSource {
  /** What the stream carries, in original-byte coordinates (inclusive). */
  readonly span: ByteRange;
  /** The first copy's stream of `span`, already open. */
  readonly first: Readable;
  /**
   * Opens another copy for the bytes not yet delivered; rejects when no copy is left. `cause` is
   * why the previous copy stopped.
   */
  readonly next: (rest: ByteRange, cause: unknown) => Promise<Readable>;
  /**
   * The SHA-256 of the whole representation when `span` is all of it: the last chunk is then held
   * back until the bytes delivered (from however many copies) hash to it, so a reader never
   * receives a complete body with a wrong byte in it.
   */
  readonly sha256: string | null;
  readonly fileId: string;
}

/**
 * §3.4 fail-over mid-stream: one Readable of `span` made of as many copies as it takes. When the
 * current copy errors or ends early after N bytes, the next copy is opened at `start + N` (a
 * range of the remainder) and the reader sees one intact stream. A copy that sends more than it
 * was asked for is treated as failed before the extra chunk goes out.
 */
export function failoverStream(source: FailoverSource): Readable {
  let current = source.first;
  const chunks = async function* (): AsyncGenerator<Buffer> {
    const { span } = source;
    const hash = source.sha256 === null ? null : createHash('sha256');
    let position = span.start;
    let held: Buffer | null = null;
    for (;;) {
      try {
        for await (const chunk of current) {
          const bytes = chunk as Buffer;
          if (position + bytes.length > span.end + 1)
            throw new Error(`a copy sent more than the ${span.end - span.start + 1} bytes asked for`);
          position += bytes.length;
          if (hash === null) {
            yield bytes;
            continue;
          }
          hash.update(bytes);
          const previous = held;
          held = bytes;
          if (previous) yield previous;
        }
        if (position === span.end + 1) break;
        throw new Error(`a copy ended after ${position - span.start} of ${span.end - span.start + 1} bytes`);
      } catch (error) {
        current.destroy();
        current = await source.next({ start: position, end: span.end }, error);
      }
    }
    if (hash !== null && hash.digest('hex') !== source.sha256)
      throw new ApplicationError(
        'file_corrupt',
        `the bytes read for file ${source.fileId} do not match its SHA-256; the transfer was stopped before its end`,
        { file_id: source.fileId },
      );
    if (held) yield held;
  };
  const stream = Readable.from(chunks(), { objectMode: false });
  // A reader that goes away before the first read never starts the generator: release the copy.
  stream.once('close', () => current.destroy());
  return stream;
}
