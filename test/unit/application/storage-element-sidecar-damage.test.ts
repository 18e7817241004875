import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import { aDraft } from '../../support/builders';
import { aStartedElement, source, type MemoryElement } from '../../support/fakes';

const CONTENT = Buffer.from('a document whose sidecar rots');

async function withFiles(count: number): Promise<{ element: MemoryElement; files: DocumentAttributes[] }> {
  const element = await aStartedElement({ mode: 'edit' });
  const files: DocumentAttributes[] = [];
  for (let i = 0; i < count; i += 1)
    files.push(
      await element.service.put(aDraft({ name: `doc-${i}.txt` }), source(CONTENT), { size: CONTENT.length }),
    );
  return { element, files };
}

/** Flips the lowest bit of the file name's first letter in the sidecar: still valid JSON, other metadata. */
function rotSidecar(element: MemoryElement, file: DocumentAttributes): void {
  const key = sidecarKeyFor(file.stored.key);
  const damaged = Buffer.from(element.blobs.objects.get(key)!);
  damaged[damaged.indexOf('"name": "doc-') + '"name": "'.length]! ^= 0x01;
  element.blobs.objects.set(key, damaged);
}

const quarantined = (element: MemoryElement): string[] =>
  [...element.blobs.objects.keys()].filter((k) => k.startsWith('quarantine/')).sort();

async function scrubbed(element: MemoryElement): Promise<void> {
  await element.service.startScrub({ rateBytesPerSecond: null });
  // The scrub runs in the background; its status is the only way to see it end.
  for (let i = 0; i < 1000 && (await element.service.scrubStatus()).state === 'running'; i += 1)
    await new Promise((resolve) => setImmediate(resolve));
}

describe('StorageElementService treats a damaged sidecar like a damaged blob', () => {
  it('refuses a metadata update on a rotten sidecar with file_corrupt and quarantines that copy', async () => {
    const { element, files } = await withFiles(2);
    const [rotten, intact] = files as [DocumentAttributes, DocumentAttributes];
    rotSidecar(element, rotten);

    await expect(element.service.update(rotten.fileId, { description: 'new' })).rejects.toMatchObject({
      code: 'file_corrupt',
      message: expect.stringContaining("sidecar: checksum: differs from the sidecar's content"),
    });
    await expect(element.service.head(rotten.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect(quarantined(element)).toEqual(
      [
        expect.stringContaining(rotten.stored.key),
        expect.stringContaining(sidecarKeyFor(rotten.stored.key)),
      ].sort(),
    );
    expect(await element.fixity.history(rotten.fileId, { limit: 5 })).toEqual([
      expect.objectContaining({ ok: false, trigger: 'read' }),
    ]);
    expect(element.observer.quarantines).toHaveLength(1);
    // The undamaged file is untouched and still takes changes.
    await expect(element.service.update(intact.fileId, { description: 'new' })).resolves.toMatchObject({
      description: 'new',
      attrVersion: 2,
    });
    expect(await element.wal.unfinished()).toEqual([]);
  });

  it('fails the scrub on a rotten sidecar, quarantining that copy only', async () => {
    const { element, files } = await withFiles(3);
    rotSidecar(element, files[1]!);
    await scrubbed(element);
    expect(await element.service.scrubStatus()).toMatchObject({
      state: 'finished',
      filesChecked: 3,
      failureCount: 1,
      failures: [
        { fileId: files[1]!.fileId, problem: "sidecar: checksum: differs from the sidecar's content" },
      ],
    });
    expect(quarantined(element)).toHaveLength(2);
    const info = await element.service.info();
    expect(info.fileCount).toBe(2);
    expect(info.health.status).toBe('degraded');
    for (const file of [files[0]!, files[2]!])
      await expect(element.service.head(file.fileId)).resolves.toEqual(file);
  });

  it('fails the scrub on a version 1 sidecar (no checksum) that describes other content than the index', async () => {
    const { element, files } = await withFiles(2);
    const file = files[0]!;
    const legacy: Record<string, unknown> = { ...element.codec.toDocument(file), schema_version: 1 };
    (legacy.stored as Record<string, unknown>).sha256 = 'e'.repeat(64);
    element.blobs.objects.set(sidecarKeyFor(file.stored.key), Buffer.from(JSON.stringify(legacy, null, 2)));
    await scrubbed(element);
    expect((await element.service.scrubStatus()).failures).toEqual([
      { fileId: file.fileId, problem: 'sidecar: stored.sha256 differ from the index' },
    ]);
  });

  it('passes the scrub on intact version 1 sidecars', async () => {
    const { element, files } = await withFiles(2);
    for (const file of files) {
      const legacy = { ...element.codec.toDocument(file), schema_version: 1 };
      element.blobs.objects.set(sidecarKeyFor(file.stored.key), Buffer.from(JSON.stringify(legacy, null, 2)));
    }
    await scrubbed(element);
    expect(await element.service.scrubStatus()).toMatchObject({ filesChecked: 2, failureCount: 0 });
  });

  it('fails the scrub on a missing sidecar', async () => {
    const { element, files } = await withFiles(2);
    element.blobs.objects.delete(sidecarKeyFor(files[0]!.stored.key));
    await scrubbed(element);
    expect((await element.service.scrubStatus()).failures).toEqual([
      { fileId: files[0]!.fileId, problem: 'sidecar missing' },
    ]);
  });

  it('leaves a rotten sidecar out of a rebuilt index and reports it', async () => {
    const { element, files } = await withFiles(2);
    rotSidecar(element, files[0]!);
    const report = await element.service.rebuild();
    expect(report).toMatchObject({ scanned: 2, indexed: 1, removed: 1 });
    expect(report.problems).toEqual([
      {
        key: sidecarKeyFor(files[0]!.stored.key),
        problem: "invalid sidecar: checksum: differs from the sidecar's content",
      },
    ]);
    await expect(element.service.head(files[1]!.fileId)).resolves.toEqual(files[1]);
  });

  it('never indexes a rotten sidecar when replaying an update', async () => {
    const { element, files } = await withFiles(1);
    const file = files[0]!;
    await element.wal.begin({ txn: 'txn-open', op: 'update', fileId: file.fileId, key: file.stored.key });
    rotSidecar(element, file);
    await element.index.remove('se-1', file.fileId);
    await element.service.start();
    expect(await element.index.get('se-1', file.fileId)).toBeNull();
    expect(await element.wal.unfinished()).toEqual([]);
  });
});
