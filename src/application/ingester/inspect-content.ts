import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ApplicationError } from '../errors';
import type { ContentSniffer } from '../ports/content-sniffer';
import { peekStream } from '../shared/peek';
import { contentTypeAllowed } from './collection-policy';

/** One peek serves sniffing (file-type reads at most 4100 bytes) and compressibility sampling. */
export const PEEK_BYTES = 64 * 1024;

/** A stream read once, or a source that can be opened again (a staged tus upload). */
export type ContentSource = Readable | (() => Readable);

export interface InspectedContent<C extends ContentSource = ContentSource> {
  /** The first PEEK_BYTES of the content (fewer when it is shorter). */
  readonly head: Buffer;
  /**
   * The whole content in the form it was given (a stream, unread; or an opener), cut off with
   * file_too_large once it passes the limit.
   */
  readonly content: C;
  readonly sniffedContentType: string | null;
  /**
   * The limit violation, once the content passed it. A storage element that was writing sees the
   * stream fail with it, but may report its own error (a remote SE sees a broken request).
   */
  violation(): ApplicationError | null;
}

export interface InspectOptions {
  readonly maxBytes: number;
  readonly declaredType: string;
  readonly allowedContentTypes: readonly string[] | null;
  readonly sniffer: ContentSniffer;
}

export function fileTooLarge(size: number | 'more', maxBytes: number): ApplicationError {
  const what = size === 'more' ? `more than ${maxBytes} bytes` : `${size} bytes`;
  return new ApplicationError('file_too_large', `the file is ${what}; at most ${maxBytes} are accepted`, {
    limit: maxBytes,
  });
}

/**
 * Enforces the size limit while the content streams, sniffs its type from the first bytes and
 * applies the collection's allow-list (the sniffed type, else the declared one) before anything
 * is stored.
 */
export async function inspectContent<C extends ContentSource>(
  content: C,
  options: InspectOptions,
): Promise<InspectedContent<C>> {
  let violation: ApplicationError | null = null;
  /** `owned`: a source opened here, closed with its reader; never the client's request. */
  const limit = (source: Readable, owned: boolean): Readable => {
    const limited = new SizeLimit(options.maxBytes, (error) => (violation ??= error));
    source.on('error', (error) => limited.destroy(error));
    // pipe, not pipeline: a violation must not destroy the source (the client's socket) before
    // the refusal is answered; the HTTP edge closes the connection after it.
    source.pipe(limited);
    // Once the reader stops (done, or failed part-way), stop reading the source: the rest of a
    // refused body is left unread rather than drained to its end.
    limited.once('close', () => {
      source.unpipe(limited);
      if (owned) source.destroy();
    });
    return limited;
  };
  let head: Buffer;
  let limited: C;
  if (typeof content === 'function') {
    // A staged upload: sniff from a first opening; every opening is limited on its own.
    const first = limit(content(), true);
    try {
      head = (await peekStream(first, PEEK_BYTES)).head;
    } finally {
      first.destroy();
    }
    limited = (() => limit(content(), true)) as C;
  } else {
    // A body that failed before we came (multipart: a second file, a field after the file) has
    // already had its 'error': piping it would wait forever.
    if (content.destroyed)
      throw (
        content.errored ??
        Object.assign(new Error('the content stream was closed before it was read'), {
          code: 'ERR_STREAM_PREMATURE_CLOSE',
        })
      );
    const guarded = limit(content, false);
    const peeked = await peekStream(guarded, PEEK_BYTES);
    peeked.stream.once('close', () => guarded.destroy());
    head = peeked.head;
    limited = peeked.stream as C;
  }
  const sniffedContentType = await options.sniffer.sniff(head);
  const effective = sniffedContentType ?? options.declaredType;
  if (!contentTypeAllowed(effective, options.allowedContentTypes)) {
    if (typeof limited !== 'function') limited.destroy();
    throw new ApplicationError(
      'content_type_not_allowed',
      `content of type '${effective}'${sniffedContentType ? ` (recognised from its bytes, declared '${options.declaredType}')` : ''} is not allowed in this collection; allowed: ${options.allowedContentTypes?.join(', ')}`,
      { field: 'content-type', content_type: effective, allowed: options.allowedContentTypes },
    );
  }
  return { head, content: limited, sniffedContentType, violation: () => violation };
}

class SizeLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly report: (error: ApplicationError) => ApplicationError,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      done(this.report(fileTooLarge('more', this.maxBytes)));
      return;
    }
    done(null, chunk);
  }
}
