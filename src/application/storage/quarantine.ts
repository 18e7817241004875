import { quarantineKeyFor, sidecarKeyFor } from '../../domain/document/blob-key';
import { BlobNotFound, type BlobStore } from '../ports/blob-store';

/**
 * Moves a file's blob and sidecar, whichever exist, under `quarantine/<folder>/` keeping their
 * keys; returns where they are now. Idempotent, so WAL replay can finish an interrupted one.
 */
export async function moveToQuarantine(blobs: BlobStore, blobKey: string, folder: string): Promise<string[]> {
  const moved: string[] = [];
  for (const key of [blobKey, sidecarKeyFor(blobKey)]) {
    const to = quarantineKeyFor(key, folder);
    try {
      await blobs.move(key, to);
      moved.push(to);
    } catch (error) {
      if (!(error instanceof BlobNotFound)) throw error;
      // Moved before a crash: it is already where it belongs.
      if ((await blobs.stat(to)) !== null) moved.push(to);
    }
  }
  return moved;
}
