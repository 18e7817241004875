import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ApplicationError } from '../errors';
import type { ContentSniffer } from '../ports/content-sniffer';
import { peekStream } from '../shared/peek';
import { contentTypeAllowed } from './collection-policy';

/** One peek serves sniffing (file-type reads at most 4100 bytes) and compressibility sampling. */
export const PEEK_BYTES = 64 * 1024;

export interface InspectedContent {
  /** The first PEEK_BYTES of the content (fewer when it is shorter). */
  readonly head: Buffer;
  /** The whole content, unread, cut off with file_too_large once it passes the limit. */
  readonly stream: Readable;
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
export async function inspectContent(content: Readable, options: InspectOptions): Promise<InspectedContent> {
  const limited = new SizeLimit(options.maxBytes);
  content.on('error', (error) => limited.destroy(error));
  // pipe, not pipeline: a violation must not destroy the source (the client's socket) before the
  // refusal is answered; the HTTP edge closes the connection after it.
  content.pipe(limited);
  const { head, stream } = await peekStream(limited, PEEK_BYTES);
  // Once the storage element stops reading (done, or failed part-way), stop reading the client:
  // the rest of a refused body is left unread (the HTTP edge closes the connection) rather than
  // drained to its end.
  stream.once('close', () => {
    content.unpipe(limited);
    limited.destroy();
  });
  const sniffedContentType = await options.sniffer.sniff(head);
  const effective = sniffedContentType ?? options.declaredType;
  if (!contentTypeAllowed(effective, options.allowedContentTypes)) {
    stream.destroy();
    throw new ApplicationError(
      'content_type_not_allowed',
      `content of type '${effective}'${sniffedContentType ? ` (recognised from its bytes, declared '${options.declaredType}')` : ''} is not allowed in this collection; allowed: ${options.allowedContentTypes?.join(', ')}`,
      { field: 'content-type', content_type: effective, allowed: options.allowedContentTypes },
    );
  }
  return { head, stream, sniffedContentType, violation: () => limited.violation };
}

class SizeLimit extends Transform {
  violation: ApplicationError | null = null;
  private seen = 0;

  constructor(private readonly maxBytes: number) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      this.violation = fileTooLarge('more', this.maxBytes);
      done(this.violation);
      return;
    }
    done(null, chunk);
  }
}
