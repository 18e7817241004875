import { createHash } from 'node:crypto';
import type { DocumentAttributes } from '../../domain/document/document';
import { BlobNotFound, type BlobStore } from '../ports/blob-store';

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
    if (error instanceof BlobNotFound) return 'blob missing';
    throw error;
  }
  if (size !== file.stored.size) return `size ${size} differs from the recorded ${file.stored.size}`;
  if (hash.digest('hex') !== file.stored.sha256) return 'checksum differs from the sidecar';
  return null;
}
