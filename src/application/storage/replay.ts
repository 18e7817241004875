import { sidecarKeyFor } from '../../domain/document/blob-key';
import type { DocumentAttributes } from '../../domain/document/document';
import type { BlobStore } from '../ports/blob-store';
import type { FileIndex } from '../ports/file-index';
import type { SidecarCodec } from '../ports/sidecar-codec';
import type { WalIntent, WriteAheadLog } from '../ports/write-ahead-log';
import { moveToQuarantine } from './quarantine';
import { verifyStoredFile } from './verify';

interface ReplayDeps {
  readonly blobs: BlobStore;
  readonly wal: WriteAheadLog;
  readonly index: FileIndex;
  readonly sidecars: SidecarCodec;
}

export interface ReplayOutcome {
  readonly rolledForward: number;
  readonly rolledBack: number;
}

/**
 * §4.1 recovery: every unfinished transaction is rolled forward when its blob and sidecar are
 * complete and verified, otherwise rolled back with every partial file removed. Idempotent: a
 * crash during replay leaves transactions that the next replay finishes the same way. A doubtful
 * delete (its abort may be a damaged record) is finished only once its tombstone was written.
 */
export async function replayWriteAheadLog(seId: string, deps: ReplayDeps): Promise<ReplayOutcome> {
  let rolledForward = 0;
  let rolledBack = 0;
  for (const intent of await deps.wal.unfinished()) {
    if (intent.op === 'quarantine') {
      // Always finished: the copy was found damaged, half-moved is the one state not to stay in.
      await moveToQuarantine(deps.blobs, intent.key, intent.txn);
      if (intent.fileId) await deps.index.remove(seId, intent.fileId);
      await deps.wal.commit(intent.txn);
      rolledForward += 1;
      continue;
    }
    if (intent.op === 'delete' && intent.doubtful && (await stillActive(deps, intent))) {
      // The tombstone is a delete's first change (§4.1): without it nothing was deleted.
      await deps.wal.abort(intent.txn);
      rolledBack += 1;
      continue;
    }
    if (intent.op === 'create' || intent.op === 'update') {
      const file = await readIntact(deps, intent);
      if (file) {
        // A crash between the temp write and its rename may have left the temp file of the next
        // sidecar (or a second blob) beside the intact one: where the directory entry survived,
        // nothing else would remove it.
        await deps.blobs.discardIncomplete(sidecarKeyFor(intent.key));
        if (intent.op === 'create') await deps.blobs.discardIncomplete(intent.key);
        await deps.index.upsert(seId, file);
        await deps.wal.commit(intent.txn);
        rolledForward += 1;
        continue;
      }
      if (intent.op === 'update') {
        // An update never removes content: a torn sidecar write left the previous version in place.
        await deps.blobs.discardIncomplete(sidecarKeyFor(intent.key));
        await deps.wal.abort(intent.txn);
        rolledBack += 1;
        continue;
      }
    }
    await removeEverything(seId, deps, intent);
    if (intent.op === 'delete') {
      await deps.wal.commit(intent.txn);
      rolledForward += 1;
    } else {
      await deps.wal.abort(intent.txn);
      rolledBack += 1;
    }
  }
  await deps.wal.compact();
  return { rolledForward, rolledBack };
}

async function readIntact(deps: ReplayDeps, intent: WalIntent): Promise<DocumentAttributes | null> {
  let file: DocumentAttributes;
  try {
    file = deps.sidecars.decode(await deps.blobs.read(sidecarKeyFor(intent.key)));
  } catch {
    return null;
  }
  if (file.fileId !== intent.fileId || file.status !== 'active' || file.stored.key !== intent.key)
    return null;
  return (await verifyStoredFile(deps.blobs, file)) === null ? file : null;
}

async function stillActive(deps: ReplayDeps, intent: WalIntent): Promise<boolean> {
  try {
    const file = deps.sidecars.decode(await deps.blobs.read(sidecarKeyFor(intent.key)));
    return file.fileId === intent.fileId && file.status === 'active';
  } catch {
    return false;
  }
}

async function removeEverything(seId: string, deps: ReplayDeps, intent: WalIntent): Promise<void> {
  await deps.index.remove(seId, intent.fileId);
  for (const key of [sidecarKeyFor(intent.key), intent.key]) {
    await deps.blobs.delete(key);
    await deps.blobs.discardIncomplete(key);
  }
}
