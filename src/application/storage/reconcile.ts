import {
  blobKeyOfSidecar,
  fileIdOfBlobKey,
  isQuarantineKey,
  isSidecarKey,
  sidecarKeyFor,
} from '../../domain/document/blob-key';
import type { DocumentAttributes } from '../../domain/document/document';
import { BlobNotFound, type BlobStore } from '../ports/blob-store';
import type { Clock } from '../ports/clock';
import type { FileIndex, Page } from '../ports/file-index';
import type { SidecarCodec } from '../ports/sidecar-codec';
import {
  RECONCILE_FINDINGS,
  type ReconcileFinding,
  type ReconcileFindingKind,
  type ReconcileOptions,
  type ReconcileReport,
} from '../ports/storage-element-client';
import type { WriteAheadLog } from '../ports/write-ahead-log';
import { BLOB_MISSING, sizeProblem, verifyStoredFile } from './verify';

export interface ReconcileDeps {
  readonly blobs: BlobStore;
  readonly index: FileIndex;
  readonly sidecars: SidecarCodec;
  readonly wal: WriteAheadLog;
  readonly clock: Clock;
}

/** What the storage element lends a reconcile run. */
export interface ReconcileHooks {
  /** Files written or deleted since the run started: their state is in flux, not damaged. */
  touched(): ReadonlyMap<string, 'put' | 'delete'>;
  /** Moves the file's blob and sidecar to quarantine and drops its row (see StorageElementService). */
  quarantine(blobKey: string, fileId: string | null, reason: string): Promise<void>;
  /** Whether a write, delete or quarantine of the file is running now. */
  changing(fileId: string): boolean;
  /** A re-hash result, for the fixity history. */
  fixity(fileId: string, problem: string | null): Promise<void>;
  /** Temp files and incomplete uploads younger than this are writes in progress. */
  readonly staleTempAfterMs: number;
}

const MAX_FINDINGS = 1000;

/**
 * Compares what the backend holds (blobs, sidecars, leftovers of interrupted writes) with the
 * SE's cache rows, and with `repair` fixes what is safe: rows are rebuilt from sidecars, leftovers
 * removed, damaged or unexplained objects moved to quarantine (never deleted). A torn sidecar is
 * rewritten from the cache row when the blob still matches that row's size and checksum.
 */
export async function reconcileStorage(
  deps: ReconcileDeps,
  seId: string,
  options: ReconcileOptions,
  hooks: ReconcileHooks,
): Promise<ReconcileReport> {
  const startedAt = deps.clock.now();
  const counts = Object.fromEntries(RECONCILE_FINDINGS.map((k) => [k, 0])) as Record<
    ReconcileFindingKind,
    number
  >;
  const findings: ReconcileFinding[] = [];
  const note = (finding: ReconcileFinding): void => {
    counts[finding.kind] += 1;
    if (findings.length < MAX_FINDINGS) findings.push(finding);
  };
  const act = <T extends ReconcileFinding['action']>(done: T): T | 'reported' =>
    options.repair ? done : 'reported';
  const inFlight = async (): Promise<Set<string>> =>
    new Set((await deps.wal.unfinished()).flatMap((i) => [i.key, sidecarKeyFor(i.key)]));
  const unsettled = (fileId: string | null): boolean =>
    fileId !== null && (hooks.touched().has(fileId) || hooks.changing(fileId));

  const objects = new Set<string>();
  for await (const key of deps.blobs.list()) if (!isQuarantineKey(key)) objects.add(key);
  const busy = await inFlight();
  const seen = new Set<string>();
  let sidecarCount = 0;

  for (const sidecarKey of objects) {
    if (!isSidecarKey(sidecarKey) || busy.has(sidecarKey)) continue;
    sidecarCount += 1;
    const blobKey = blobKeyOfSidecar(sidecarKey);
    let raw: Buffer;
    try {
      raw = await deps.blobs.read(sidecarKey);
    } catch (error) {
      if (error instanceof BlobNotFound) continue; // deleted since the listing
      throw error; // unreadable now (I/O, network) is no proof of damage: the run stops
    }
    let file: DocumentAttributes | null = null;
    let invalid: string | null = null;
    try {
      file = deps.sidecars.decode(raw);
      if (file.stored.key !== blobKey)
        invalid = `the sidecar describes the blob '${file.stored.key}', not its neighbour`;
    } catch (error) {
      invalid = `invalid sidecar: ${(error as Error).message}`;
    }
    if (invalid !== null || file === null) {
      const fileId = fileIdOfBlobKey(blobKey);
      if (unsettled(fileId)) continue;
      if (fileId) seen.add(fileId);
      const detail = invalid ?? 'invalid sidecar';
      let action: ReconcileFinding['action'] = 'reported';
      if (options.repair) {
        if (await restoreSidecar(deps, seId, blobKey, fileId)) action = 'repaired';
        else {
          await hooks.quarantine(blobKey, fileId, detail);
          action = 'quarantined';
        }
      }
      note({ kind: 'corrupt_sidecar', key: sidecarKey, fileId, detail, action });
      continue;
    }
    if (unsettled(file.fileId)) continue;
    if (file.status !== 'active') {
      if (options.repair) {
        await deps.blobs.delete(file.stored.key);
        await deps.blobs.delete(sidecarKey);
        await deps.index.remove(seId, file.fileId);
      }
      note({
        kind: 'leftover_tombstone',
        key: sidecarKey,
        fileId: file.fileId,
        detail: 'the sidecar of a deleted file is still there',
        action: act('removed'),
      });
      continue;
    }
    seen.add(file.fileId);
    const damage = await damageOf(deps, file, options.checksums);
    // A delete that began during the check explains a missing blob: look again before acting.
    if (unsettled(file.fileId)) continue;
    if (damage) {
      if (damage.checked) await hooks.fixity(file.fileId, damage.detail);
      if (options.repair) await hooks.quarantine(file.stored.key, file.fileId, damage.detail);
      note({
        kind: damage.kind,
        key: file.stored.key,
        fileId: file.fileId,
        detail: damage.detail,
        action: act('quarantined'),
      });
      continue;
    }
    if (options.checksums) await hooks.fixity(file.fileId, null);
    const row = await deps.index.get(seId, file.fileId);
    if (!row || !sameDocument(row, file)) {
      if (options.repair) await deps.index.upsert(seId, file);
      note({
        kind: row ? 'stale_row' : 'missing_row',
        key: sidecarKey,
        fileId: file.fileId,
        detail: row ? 'the cache row differs from the sidecar' : 'the sidecar has no cache row',
        action: act('repaired'),
      });
    }
  }

  for (const key of objects) {
    if (isSidecarKey(key) || objects.has(sidecarKeyFor(key)) || busy.has(key)) continue;
    const fileId = fileIdOfBlobKey(key);
    if (unsettled(fileId)) continue;
    // Re-checked now: a write that began after the listing has its WAL record open or its sidecar in place.
    if ((await inFlight()).has(key) || (await deps.blobs.stat(sidecarKeyFor(key))) !== null) continue;
    if ((await deps.blobs.stat(key)) === null) continue;
    if (fileId) seen.add(fileId);
    let action: ReconcileFinding['action'] = 'reported';
    if (options.repair) {
      // The sidecar was lost but the cache row remembers it, and the blob is provably that file.
      if (await restoreSidecar(deps, seId, key, fileId)) action = 'repaired';
      else {
        await hooks.quarantine(key, fileId, 'blob without a sidecar');
        action = 'quarantined';
      }
    }
    note({ kind: 'orphan_blob', key, fileId, detail: 'blob without a sidecar', action });
  }

  let rows = 0;
  let cursor: string | null = null;
  const stale: DocumentAttributes[] = [];
  do {
    const page: Page<DocumentAttributes> = await deps.index.list(seId, { cursor, limit: 500 });
    rows += page.items.length;
    for (const row of page.items) if (!seen.has(row.fileId) && !unsettled(row.fileId)) stale.push(row);
    cursor = page.nextCursor;
  } while (cursor);
  for (const row of stale) {
    // The sidecar may have been written after the listing: only a row still without one is stale.
    if ((await deps.blobs.stat(sidecarKeyFor(row.stored.key))) !== null) continue;
    if (options.repair) await deps.index.remove(seId, row.fileId);
    note({
      kind: 'stale_row',
      key: row.stored.key,
      fileId: row.fileId,
      detail: 'cache row without a sidecar',
      action: act('removed'),
    });
  }

  const cutoff = startedAt.getTime() - hooks.staleTempAfterMs;
  const leftovers = new Set<string>();
  for await (const incomplete of deps.blobs.listIncomplete()) {
    if (incomplete.startedAt.getTime() < cutoff && !isQuarantineKey(incomplete.key))
      leftovers.add(incomplete.key);
  }
  const busyNow = await inFlight();
  for (const key of leftovers) {
    if (busyNow.has(key)) continue;
    if (options.repair) await deps.blobs.discardIncomplete(key);
    note({
      kind: 'stale_temp',
      key,
      fileId: fileIdOfBlobKey(isSidecarKey(key) ? blobKeyOfSidecar(key) : key),
      detail: 'leftover of an interrupted write',
      action: act('removed'),
    });
  }

  return {
    repair: options.repair,
    checksums: options.checksums,
    startedAt,
    finishedAt: deps.clock.now(),
    scanned: { objects: objects.size, sidecars: sidecarCount, rows },
    counts,
    findings,
    truncated: findings.length < Object.values(counts).reduce((a, b) => a + b, 0),
  };
}

async function damageOf(
  deps: ReconcileDeps,
  file: DocumentAttributes,
  checksums: boolean,
): Promise<{ kind: ReconcileFindingKind; detail: string; checked: boolean } | null> {
  const stat = await deps.blobs.stat(file.stored.key);
  if (!stat) return { kind: 'missing_blob', detail: BLOB_MISSING, checked: false };
  const wrongSize = sizeProblem(file, stat.size);
  if (wrongSize !== null) return { kind: 'size_mismatch', detail: wrongSize, checked: false };
  if (!checksums) return null;
  const problem = await verifyStoredFile(deps.blobs, file);
  if (problem === null) return null;
  return {
    kind: problem === BLOB_MISSING ? 'missing_blob' : 'checksum_mismatch',
    detail: problem,
    checked: true,
  };
}

/**
 * A torn or lost sidecar is rewritten from the cache row, but only when the row is for this very
 * blob and the blob is provably that row's content (size and SHA-256); false otherwise.
 */
async function restoreSidecar(
  deps: ReconcileDeps,
  seId: string,
  blobKey: string,
  fileId: string | null,
): Promise<boolean> {
  const row = fileId ? await deps.index.get(seId, fileId) : null;
  if (!row || row.stored.key !== blobKey || row.status !== 'active') return false;
  if ((await verifyStoredFile(deps.blobs, row)) !== null) return false;
  await deps.blobs.put(sidecarKeyFor(blobKey), deps.sidecars.encode(row));
  return true;
}

function sameDocument(a: DocumentAttributes, b: DocumentAttributes): boolean {
  return (
    a.attrVersion === b.attrVersion &&
    a.updatedAt.getTime() === b.updatedAt.getTime() &&
    a.stored.key === b.stored.key &&
    a.stored.sha256 === b.stored.sha256 &&
    a.status === b.status
  );
}
