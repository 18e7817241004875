import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { DocumentAttributes } from '../../domain/document/document';
import { BlobNotFound, type BlobStore } from '../ports/blob-store';

export const BLOB_MISSING = 'blob missing';

/** How the stored size differs from the sidecar's, or null when it does not. */
export function sizeProblem(file: DocumentAttributes, size: number): string | null {
  return size === file.stored.size ? null : `size ${size} differs from the recorded ${file.stored.size}`;
}

/** How bytes read back differ from the sidecar (size first, then SHA-256), or null when intact. */
export function fixityProblem(file: DocumentAttributes, size: number, sha256: () => string): string | null {
  return (
    sizeProblem(file, size) ?? (sha256() === file.stored.sha256 ? null : 'checksum differs from the sidecar')
  );
}

/**
 * Re-reads the stored bytes and compares them with the sidecar; returns the problem, or null when
 * intact. `paced` runs after every chunk read (a scrub's rate limit).
 */
export async function verifyStoredFile(
  blobs: BlobStore,
  file: DocumentAttributes,
  paced?: (bytes: number) => Promise<void>,
): Promise<string | null> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of await blobs.get(file.stored.key)) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
      if (paced) await paced((chunk as Buffer).length);
    }
  } catch (error) {
    if (error instanceof BlobNotFound) return BLOB_MISSING;
    throw error;
  }
  return fixityProblem(file, size, () => hash.digest('hex'));
}

/**
 * Passes a whole blob through while hashing it, holding back the last chunk until the end: a
 * mismatch then fails the stream before the final bytes go out (once `damaged` has dealt with the
 * copy), so the reader never receives a complete, corrupt copy.
 */
export function verifyingStream(
  file: DocumentAttributes,
  damaged: (problem: string) => Promise<Error>,
): Transform {
  const hash = createHash('sha256');
  let size = 0;
  let held: Buffer | null = null;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      const previous = held;
      held = chunk;
      callback(null, previous ?? undefined);
    },
    flush(callback) {
      const problem = fixityProblem(file, size, () => hash.digest('hex'));
      if (problem === null) callback(null, held ?? undefined);
      else void damaged(problem).then(callback);
    },
  });
}
