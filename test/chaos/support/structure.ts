import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Client } from 'pg';
import { LocalFsBlobStore } from '../../../src/adapters/blob-store/local-fs-blob-store';
import { MemoryFileIndex } from '../../../src/adapters/memory/memory-file-index';
import { JsonSidecarCodec } from '../../../src/adapters/sidecar/json-sidecar-codec';
import { FileWriteAheadLog } from '../../../src/adapters/wal/file-write-ahead-log';
import { replayWriteAheadLog } from '../../../src/application/storage/replay';
import type { DocumentAttributes } from '../../../src/domain/document/document';

/**
 * The structural half of the checker (issue 7), run on stopped storage elements after recovery:
 * every sidecar valid, every blob matching its sidecar's stored size and SHA-256, no temp or
 * orphan files, the WAL replaying idempotently, and the live catalog equal to the one the
 * sidecars describe.
 */
export interface SidecarFact {
  readonly seId: string;
  readonly file: DocumentAttributes;
}

export interface ElementReport {
  readonly issues: string[];
  readonly sidecars: SidecarFact[];
  readonly blobs: number;
}

const SIDECAR = '.attr.json';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith('quarantine/'))
    .sort();
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checks one SE directory (`<root>/blobs`, `<root>/wal`) as it lies on disk. */
export async function checkElementFiles(seId: string, root: string): Promise<ElementReport> {
  const codec = new JsonSidecarCodec();
  const blobsDir = join(root, 'blobs');
  const files = await filesUnder(blobsDir);
  const issues: string[] = [];
  const sidecars: SidecarFact[] = [];
  const described = new Set<string>();
  for (const name of files) {
    const base = name.split('/').at(-1)!;
    if (base.startsWith('.') && base.endsWith('.tmp')) issues.push(`${seId}: temp file left: ${name}`);
  }
  for (const name of files.filter((f) => f.endsWith(SIDECAR))) {
    let file: DocumentAttributes;
    try {
      file = codec.decode(await readFile(join(blobsDir, name)));
    } catch (error) {
      issues.push(`${seId}: sidecar ${name} does not decode: ${(error as Error).message}`);
      continue;
    }
    described.add(file.stored.key);
    if (file.status !== 'active') issues.push(`${seId}: ${file.status} sidecar left: ${name}`);
    if (`${file.stored.key}${SIDECAR}` !== name)
      issues.push(`${seId}: sidecar ${name} names ${file.stored.key}`);
    const blob = join(blobsDir, ...file.stored.key.split('/'));
    const onDisk = files.includes(file.stored.key);
    if (!onDisk) {
      issues.push(`${seId}: sidecar ${name} without its blob`);
      continue;
    }
    const [sha256, size] = [await sha256Of(blob), (await stat(blob)).size];
    if (sha256 !== file.stored.sha256 || size !== file.stored.size)
      issues.push(
        `${seId}: blob ${file.stored.key} is ${size} B ${sha256}, sidecar says ${file.stored.size} B ${file.stored.sha256}`,
      );
    sidecars.push({ seId, file });
  }
  const blobs = files.filter((f) => !f.endsWith(SIDECAR) && !f.endsWith('.tmp'));
  for (const blob of blobs) if (!described.has(blob)) issues.push(`${seId}: blob ${blob} without a sidecar`);
  return { issues, sidecars, blobs: blobs.length };
}

async function snapshot(root: string): Promise<string> {
  const lines: string[] = [];
  for (const name of await filesUnder(join(root, 'blobs')))
    lines.push(`${name} ${await sha256Of(join(root, 'blobs', name))}`);
  return lines.join('\n');
}

/**
 * Replays the stopped SE's WAL twice with the project's own recovery (src/application/storage/
 * replay.ts): after the SE's own start-up replay there must be nothing left to do, and a second
 * replay must change nothing on disk.
 */
export async function checkReplayIdempotent(seId: string, root: string): Promise<string[]> {
  const issues: string[] = [];
  const before = await snapshot(root);
  for (const round of [1, 2]) {
    const wal = await FileWriteAheadLog.openAt(join(root, 'wal'));
    try {
      const pending = (await wal.unfinished()).length;
      const outcome = await replayWriteAheadLog(seId, {
        blobs: new LocalFsBlobStore(join(root, 'blobs')),
        wal,
        index: new MemoryFileIndex(),
        sidecars: new JsonSidecarCodec(),
      });
      if (pending > 0 || outcome.rolledBack + outcome.rolledForward > 0)
        issues.push(
          `${seId}: replay ${round} found ${pending} unfinished transactions (${JSON.stringify(outcome)})`,
        );
    } finally {
      await wal.close();
    }
  }
  if ((await snapshot(root)) !== before) issues.push(`${seId}: replaying the WAL changed the files`);
  return issues;
}

interface CatalogRow {
  file_id: string;
  sha256: string;
  size: string;
  retention_policy: string;
  attr_version: string;
  copies: string[] | null;
}

/**
 * The catalog the sidecars describe (what a rebuild would make: every active file, newest
 * attribute version, one copy per SE holding a sidecar) against the live catalog's active rows.
 */
export async function compareCatalog(
  databaseUrl: string,
  sidecars: readonly SidecarFact[],
): Promise<string[]> {
  const expected = new Map<string, { file: DocumentAttributes; copies: Set<string> }>();
  for (const { seId, file } of sidecars) {
    if (file.status !== 'active') continue;
    const known = expected.get(file.fileId);
    if (!known) expected.set(file.fileId, { file, copies: new Set([seId]) });
    else {
      known.copies.add(seId);
      if (file.attrVersion > known.file.attrVersion) known.file = file;
    }
  }
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  let rows: CatalogRow[];
  try {
    rows = (
      await client.query<CatalogRow>(
        `select f.file_id, f.sha256, f.size, f.retention_policy, f.attributes->>'attr_version' as attr_version,
                array_agg(c.se_id order by c.se_id) filter (where c.se_id is not null) as copies
           from files f left join file_copies c on c.file_id = f.file_id
          where f.status = 'active' group by f.file_id`,
      )
    ).rows;
  } finally {
    await client.end();
  }
  const issues: string[] = [];
  for (const row of rows) {
    const want = expected.get(row.file_id);
    expected.delete(row.file_id);
    if (!want) {
      issues.push(`catalog: active ${row.file_id} has no sidecar on any SE`);
      continue;
    }
    const live = [
      row.sha256,
      Number(row.size),
      row.retention_policy,
      Number(row.attr_version),
      (row.copies ?? []).join(','),
    ];
    const rebuilt = [
      want.file.sha256,
      want.file.size,
      want.file.retention.policy,
      want.file.attrVersion,
      [...want.copies].sort().join(','),
    ];
    if (JSON.stringify(live) !== JSON.stringify(rebuilt))
      issues.push(
        `catalog: ${row.file_id} is ${JSON.stringify(live)}, its sidecars say ${JSON.stringify(rebuilt)}`,
      );
  }
  for (const fileId of expected.keys())
    issues.push(`catalog: ${fileId} has sidecars but no active catalog row`);
  return issues;
}
