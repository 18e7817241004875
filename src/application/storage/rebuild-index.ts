import { isQuarantineKey, isSidecarKey } from '../../domain/document/blob-key';
import type { DocumentAttributes } from '../../domain/document/document';
import type { BlobStore } from '../ports/blob-store';
import type { FileIndex, Page } from '../ports/file-index';
import type { SidecarCodec } from '../ports/sidecar-codec';
import type { RebuildReport } from '../ports/storage-element-client';
import { BLOB_MISSING } from './verify';

interface RebuildDeps {
  readonly blobs: BlobStore;
  readonly index: FileIndex;
  readonly sidecars: SidecarCodec;
}

/**
 * Rebuilds an SE's metadata cache from its sidecars alone (§4): every active sidecar with its
 * blob present is indexed, rows without a sidecar are removed. `touched` reports files written
 * or deleted while the scan ran, so concurrent writes are neither swept nor resurrected.
 */
export async function rebuildIndex(
  seId: string,
  deps: RebuildDeps,
  touched: () => ReadonlyMap<string, 'put' | 'delete'> = () => new Map(),
): Promise<RebuildReport> {
  const seen = new Set<string>();
  const problems: { key: string; problem: string }[] = [];
  let scanned = 0;
  for await (const key of deps.blobs.list()) {
    if (!isSidecarKey(key) || isQuarantineKey(key)) continue;
    scanned += 1;
    let file: DocumentAttributes;
    try {
      file = deps.sidecars.decode(await deps.blobs.read(key));
    } catch (error) {
      problems.push({ key, problem: `invalid sidecar: ${(error as Error).message}` });
      continue;
    }
    if (file.status !== 'active') continue;
    const stat = await deps.blobs.stat(file.stored.key);
    if (!stat) {
      problems.push({ key, problem: BLOB_MISSING });
      continue;
    }
    if (stat.size !== file.stored.size) {
      problems.push({ key, problem: `blob size ${stat.size} differs from the recorded ${file.stored.size}` });
      continue;
    }
    const change = touched().get(file.fileId);
    if (change === 'delete') continue;
    seen.add(file.fileId);
    // Written meanwhile (a create or an update): the writer keeps its row, and this read may predate it.
    if (change !== 'put') await deps.index.upsert(seId, file);
  }
  const stale: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<DocumentAttributes> = await deps.index.list(seId, { cursor, limit: 500 });
    for (const file of page.items) {
      if (!seen.has(file.fileId) && touched().get(file.fileId) !== 'put') stale.push(file.fileId);
    }
    cursor = page.nextCursor;
  } while (cursor);
  for (const fileId of stale) await deps.index.remove(seId, fileId);
  for (const [fileId, change] of touched()) if (change === 'delete') await deps.index.remove(seId, fileId);
  return { scanned, indexed: seen.size, removed: stale.length, problems };
}
