import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, type BrotliDecompress, type Gunzip } from 'node:zlib';
import { ApplicationError } from '../../application/errors';
import type { Digests } from './digests';
import { HttpError } from './problem';

/** Past the first MiB, more than this many decoded bytes per encoded byte is taken for a bomb. */
export const BOMB_RATIO = 200;
export const BOMB_GRACE_BYTES = 1024 * 1024;

export const CONTENT_CODINGS = ['gzip', 'x-gzip', 'br'] as const;

export interface DecodedBody {
  /** The decoded content; fails with the violation (or a corrupt-stream error). */
  readonly stream: Readable;
  /** Why decoding stopped, once it did (a consumer may report its own error instead). */
  violation(): Error | null;
}

/**
 * The coding of a request body (RFC 9110 §8.4): null for none or `identity`; one of
 * CONTENT_CODINGS; anything else, or a list of codings, is refused with 415.
 */
export function contentCoding(header: string): 'gzip' | 'br' | null {
  const coding = header.trim().toLowerCase();
  if (coding === '' || coding === 'identity') return null;
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'br') return 'br';
  throw new HttpError(
    'unsupported_content_encoding',
    `Content-Encoding '${header}' is not supported; send gzip, br or identity (one coding)`,
    { field: 'content-encoding' },
  );
}

/**
 * Decodes a gzip or br request body as it streams, with bounded memory (zlib waits for the
 * consumer). Guards against decompression bombs by the ratio of decoded to consumed encoded
 * bytes; the size limit itself is applied to the decoded bytes by the use case. Digests from
 * Content-Digest / Repr-Digest describe the encoded bytes (RFC 9530 §2, §3) and are checked here.
 */
export function decodeBody(source: Readable, coding: 'gzip' | 'br', digests: Digests): DecodedBody {
  let violation: Error | null = null;
  const fail = (error: Error): Error => (violation ??= error);
  const decoder: Gunzip | BrotliDecompress = coding === 'gzip' ? createGunzip() : createBrotliDecompress();
  const encoded = new EncodedDigest(digests, fail);
  const guard = new BombGuard(decoder, fail);
  source.on('error', (error) => encoded.destroy(error));
  // pipe, not pipeline: a refusal must not destroy the client's socket before it is answered.
  source.pipe(encoded);
  pipeline(encoded, decoder, guard, (error) => {
    if (!error || violation) return;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code.startsWith('ERR__')) {
      fail(new HttpError('malformed_request', `the ${coding} request body is corrupt: ${error.message}`));
      guard.destroy(violation ?? error);
    }
  });
  return { stream: guard, violation: () => violation };
}

class EncodedDigest extends Transform {
  private readonly hashes: [string, Hash, string][];

  constructor(
    digests: Digests,
    private readonly fail: (error: Error) => Error,
  ) {
    super();
    this.hashes = (['sha256', 'sha512'] as const).flatMap((algorithm) => {
      const expected = digests[algorithm];
      return expected === undefined ? [] : [[algorithm, createHash(algorithm), expected]];
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const [, hash] of this.hashes) hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    for (const [algorithm, hash, expected] of this.hashes) {
      if (hash.digest('hex') !== expected) {
        done(
          this.fail(
            new ApplicationError(
              'digest_mismatch',
              `the encoded body does not match the ${algorithm} digest sent with it`,
              { algorithm: algorithm.replace('sha', 'sha-') },
            ),
          ),
        );
        return;
      }
    }
    done();
  }
}

class BombGuard extends Transform {
  private decoded = 0;

  constructor(
    private readonly decoder: Gunzip | BrotliDecompress,
    private readonly fail: (error: Error) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.decoded += chunk.length;
    // bytesWritten: encoded bytes the decoder has consumed, not merely been handed.
    const consumed = Math.max(1, this.decoder.bytesWritten);
    if (this.decoded > BOMB_GRACE_BYTES && this.decoded / consumed > BOMB_RATIO) {
      done(
        this.fail(
          new HttpError(
            'decompression_bomb',
            `the body expands more than ${BOMB_RATIO}:1 (${this.decoded} bytes from ${consumed}); refused as a decompression bomb`,
            { field: 'content-encoding', ratio_limit: BOMB_RATIO },
          ),
        ),
      );
      return;
    }
    done(null, chunk);
  }
}
