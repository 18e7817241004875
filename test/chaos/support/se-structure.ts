import type { BlobStore } from '../../../src/application/ports/blob-store';
import type { FileIndex } from '../../../src/application/ports/file-index';
import type { SidecarCodec } from '../../../src/application/ports/sidecar-codec';
import type { WriteAheadLog } from '../../../src/application/ports/write-ahead-log';
import { verifyStoredFile } from '../../../src/application/storage/verify';
import {
  blobKeyOfSidecar,
  isQuarantineKey,
  isSidecarKey,
  sidecarKeyFor,
} from '../../../src/domain/document/blob-key';
import type { DocumentAttributes } from '../../../src/domain/document/document';

/** What one storage element holds, as seen by its structure check. */
export interface SeStructure {
  /** Every problem found; empty when the SE is sound. */
  readonly problems: string[];
  /** Active files by id, from their sidecars. */
  readonly files: ReadonlyMap<string, DocumentAttributes>;
  /** Quarantined objects (damaged copies set aside). */
  readonly quarantined: readonly string[];
  /** A stable digest of the state (sidecars, blob checksums, index rows) to compare across restarts. */
  readonly fingerprint: string;
}

export interface SeParts {
  readonly seId: string;
  readonly blobs: BlobStore;
  readonly sidecars: SidecarCodec;
  readonly index: FileIndex;
  /** When given: no transaction may be left open (checked after a start, i.e. after replay). */
  readonly wal?: WriteAheadLog;
}

async function indexRows(parts: SeParts): Promise<DocumentAttributes[]> {
  const rows: DocumentAttributes[] = [];
  let cursor: string | null = null;
  do {
    const page = await parts.index.list(parts.seId, { cursor, limit: 500 });
    rows.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return rows;
}

/**
 * The structural check of issue 7 for one storage element at rest: every sidecar decodes and is
 * active (a tombstone means an unfinished delete), every blob matches its sidecar's size and
 * SHA-256, no blob lacks a sidecar, no temp file is left, no WAL transaction is open, and the
 * SE's metadata cache holds exactly the sidecars (the cache rebuilt from sidecars equals it).
 */
export async function checkSeStructure(parts: SeParts): Promise<SeStructure> {
  const { blobs, sidecars } = parts;
  const problems: string[] = [];
  const files = new Map<string, DocumentAttributes>();
  const quarantined: string[] = [];
  const keys: string[] = [];
  for await (const key of blobs.list()) keys.push(key);
  const keySet = new Set(keys);
  for (const key of keys.sort()) {
    if (isQuarantineKey(key)) {
      quarantined.push(key);
      continue;
    }
    if (!isSidecarKey(key)) {
      if (!keySet.has(sidecarKeyFor(key))) problems.push(`blob ${key} has no sidecar`);
      continue;
    }
    let file: DocumentAttributes;
    try {
      file = sidecars.decode(await blobs.read(key));
    } catch (error) {
      problems.push(`sidecar ${key} is invalid: ${(error as Error).message}`);
      continue;
    }
    if (file.stored.key !== blobKeyOfSidecar(key))
      problems.push(`sidecar ${key} names blob ${file.stored.key}`);
    if (file.status !== 'active') problems.push(`sidecar ${key} is ${file.status} (an unfinished delete)`);
    const problem = await verifyStoredFile(blobs, file);
    if (problem !== null) problems.push(`blob of ${key}: ${problem}`);
    if (files.has(file.fileId)) problems.push(`file ${file.fileId} has two sidecars`);
    files.set(file.fileId, file);
  }
  for await (const incomplete of blobs.listIncomplete())
    problems.push(`temp file left for ${incomplete.key}`);
  if (parts.wal) {
    for (const intent of await parts.wal.unfinished())
      problems.push(`WAL transaction ${intent.txn} (${intent.op} ${intent.key}) still open`);
  }
  const rows = await indexRows(parts);
  for (const row of rows) {
    const file = files.get(row.fileId);
    if (!file) problems.push(`index row ${row.fileId} has no active sidecar`);
    else if (file.attrVersion !== row.attrVersion || file.stored.sha256 !== row.stored.sha256)
      problems.push(
        `index row ${row.fileId} differs from its sidecar (attr_version ${row.attrVersion} vs ${file.attrVersion})`,
      );
  }
  const indexed = new Set(rows.map((r) => r.fileId));
  for (const fileId of files.keys())
    if (!indexed.has(fileId)) problems.push(`file ${fileId} is not in the index`);
  const fingerprint = JSON.stringify({
    files: [...files.values()]
      .map((f) => [f.fileId, f.attrVersion, f.stored.key, f.stored.sha256, f.description])
      .sort(),
    rows: rows.map((r) => [r.fileId, r.attrVersion]).sort(),
    quarantined: quarantined.length,
  });
  return { problems, files, quarantined, fingerprint };
}
