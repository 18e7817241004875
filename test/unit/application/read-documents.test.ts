import { MemoryFixityLog } from '../../../src/adapters/memory/memory-fixity-log';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { ApplicationError } from '../../../src/application/errors';
import type { ByteRange } from '../../../src/application/ports/blob-store';
import type { CatalogEntry } from '../../../src/application/ports/file-catalog';
import type { StorageElementClient } from '../../../src/application/ports/storage-element-client';
import { ReadDocuments } from '../../../src/application/query/read-documents';
import { ArchiveReads } from '../../../src/application/query/archive-reads';
import { MemoryRestoredCopies } from '../../../src/adapters/memory/memory-restored-copies';
import { RegistryView } from '../../../src/application/shared/registry-view';
import type { Scope } from '../../../src/domain/access/principal';
import { aDocument, aDraft, aPrincipal, aStorageElement, FixedClock, T0 } from '../../support/builders';
import {
  announceElement,
  aStartedElement,
  failingSource,
  MapDirectory,
  readAll,
  source,
  UnreachableElement,
} from '../../support/fakes';

const CONTENT = Buffer.from('replicated content');

async function setup() {
  const clock = new FixedClock();
  const registry = new MemoryStorageElementRegistry();
  const a = await aStartedElement({ id: 'rw-a', mode: 'rw', clock });
  const b = await aStartedElement({ id: 'rw-b', mode: 'rw', clock });
  for (const element of [a, b]) await announceElement(registry, element.service, clock);
  await registry.announce(aStorageElement({ id: 'gone-1', mode: 'rw', lastSeenAt: T0 }));
  const draft = aDraft({ collection: 'team-a' });
  const file = await a.service.put(draft, source(CONTENT), { size: CONTENT.length });
  await b.service.put(draft, source(CONTENT), { size: CONTENT.length });
  const unreachable = new UnreachableElement('gone-1');
  const directory = new MapDirectory([a.service, b.service, unreachable]);
  const catalog = new MemoryFileCatalog();
  const reads = new ReadDocuments(
    catalog,
    directory,
    new RegistryView(registry, clock, 0),
    new MemoryFixityLog(),
    new ArchiveReads(new MemoryRestoredCopies(), clock),
  );
  const copy = (seId: string) => ({ seId, key: file.stored.key });
  return { a, b, file, catalog, reads, copy, unreachable, directory };
}

const reader = (patterns?: string[], scopes: Scope[] = ['files:read']) =>
  aPrincipal({ scopes: new Set(scopes), collections: patterns ? { 'files:read': patterns } : {} });

describe('ReadDocuments.describe', () => {
  it('returns the entry to a principal who may read its collection', async () => {
    const { catalog, reads, file, copy } = await setup();
    await catalog.add({ file, copies: [copy('rw-a')] });
    await expect(reads.describe(reader(['team-*']), file.fileId)).resolves.toEqual({
      file,
      copies: [copy('rw-a')],
    });
  });

  it('hides a file of a collection the principal cannot read exactly like a missing one', async () => {
    const { catalog, reads, file } = await setup();
    await catalog.add({ file, copies: [] });
    const hidden = reads.describe(reader(['other-*']), file.fileId);
    await expect(hidden).rejects.toThrow(ApplicationError);
    await expect(hidden).rejects.toMatchObject({ code: 'file_not_found', details: {} });
    const missing = reads.describe(reader(['other-*']), '0195f3a2-0000-7000-8000-000000000000');
    await expect(missing).rejects.toMatchObject({ code: 'file_not_found', details: {} });
  });

  it('reports deleted files as not found', async () => {
    const { catalog, reads, file } = await setup();
    await catalog.add({ file: { ...file, status: 'deleted' }, copies: [] });
    await expect(reads.describe(reader(), file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('requires files:read', async () => {
    const { catalog, reads, file } = await setup();
    await catalog.add({ file, copies: [] });
    await expect(reads.describe(reader(undefined, ['files:write']), file.fileId)).rejects.toMatchObject({
      code: 'forbidden',
    });
  });
});

describe('ReadDocuments.open', () => {
  it('falls over to the next copy when the first SE is unreachable', async () => {
    const { reads, file, copy, unreachable } = await setup();
    const entry: CatalogEntry = { file, copies: [copy('gone-1'), copy('rw-b')] };
    const opened = await reads.open(entry);
    expect(await readAll(opened.stream)).toEqual(CONTENT);
    expect(unreachable.calls).toBe(1);
  });

  it('falls over when the first copy has lost its content', async () => {
    const { reads, file, copy, a } = await setup();
    a.blobs.objects.delete(file.stored.key);
    const opened = await reads.open({ file, copies: [copy('rw-a'), copy('rw-b')] }, { start: 0, end: 8 });
    expect((await readAll(opened.stream)).toString()).toBe('replicate');
  });

  it('tries copies on SEs the registry does not know last', async () => {
    const { reads, file, copy, directory } = await setup();
    const stranger = new UnreachableElement('unknown-9');
    directory.clients.set(stranger.id, stranger);
    const opened = await reads.open({ file, copies: [copy('unknown-9'), copy('rw-a')] });
    expect(await readAll(opened.stream)).toEqual(CONTENT);
    expect(stranger.calls).toBe(0);
  });

  it('reports storage_unavailable when no copy can serve', async () => {
    const { reads, file, copy, a, b } = await setup();
    for (const element of [a, b]) element.blobs.objects.delete(file.stored.key);
    const opening = reads.open({ file, copies: [copy('rw-a'), copy('gone-1'), copy('rw-b')] });
    await expect(opening).rejects.toMatchObject({ code: 'storage_unavailable' });
    await expect(reads.open({ file, copies: [] })).rejects.toMatchObject({ code: 'storage_unavailable' });
  });

  it('does not try other copies for an unsatisfiable range', async () => {
    const { reads, file, copy, unreachable } = await setup();
    const opening = reads.open({ file, copies: [copy('rw-a'), copy('gone-1')] }, { start: 0, end: 1000 });
    await expect(opening).rejects.toMatchObject({ code: 'range_not_satisfiable' });
    expect(unreachable.calls).toBe(0);
  });
});

/** The client of `element` that logs every open and whose streams can break after `breakAfter` bytes. */
function watched(element: StorageElementClient, log: string[], breakAfter?: number): StorageElementClient {
  const client = Object.create(element) as StorageElementClient;
  return Object.assign(client, {
    open: async (fileId: string, range?: ByteRange) => {
      log.push(element.id);
      const opened = await element.open(fileId, range);
      if (breakAfter === undefined) return opened;
      const bytes = await readAll(opened.stream);
      return { ...opened, stream: failingSource(bytes.subarray(0, breakAfter), new Error('socket hang up')) };
    },
  });
}

describe('ReadDocuments.open: fail-over and copy choice', () => {
  it('continues from the next copy at the byte where the first one broke, whole or in a range', async () => {
    const { reads, directory, file, copy, a, b } = await setup();
    const log: string[] = [];
    directory.clients.set('rw-a', watched(a.service, log, 7));
    directory.clients.set('rw-b', watched(b.service, log));
    const entry = { file, copies: [copy('rw-a'), copy('rw-b')] };
    expect(await readAll((await reads.open(entry)).stream)).toEqual(CONTENT);
    expect(log).toEqual(['rw-a', 'rw-b']);
    const range = await reads.open(entry, { start: 2, end: 12 });
    expect(await readAll(range.stream)).toEqual(CONTENT.subarray(2, 13));
  });

  it('fails the stream when the copy that broke was the last one', async () => {
    const { reads, directory, file, copy, a } = await setup();
    directory.clients.set('rw-a', watched(a.service, [], 7));
    const opened = await reads.open({ file, copies: [copy('rw-a')] });
    await expect(readAll(opened.stream)).rejects.toMatchObject({ code: 'storage_unavailable' });
  });

  it('fails a copy that answers a range with bytes from elsewhere, and reads the next', async () => {
    const { reads, directory, file, copy, a } = await setup();
    const careless = Object.create(a.service) as StorageElementClient;
    directory.clients.set('rw-a', Object.assign(careless, { open: (id: string) => a.service.open(id) }));
    const opened = await reads.open({ file, copies: [copy('rw-a'), copy('rw-b')] }, { start: 2, end: 12 });
    expect(await readAll(opened.stream)).toEqual(CONTENT.subarray(2, 13));
  });

  it('reads from the copy with fewer reads in flight, and counts a read until its stream closes', async () => {
    const { reads, directory, file, copy, a, b } = await setup();
    const log: string[] = [];
    directory.clients.set('rw-a', watched(a.service, log));
    directory.clients.set('rw-b', watched(b.service, log));
    const entry = { file, copies: [copy('rw-a'), copy('rw-b')] };
    const held = await reads.open(entry);
    const second = await reads.open(entry);
    expect(log).toEqual(['rw-a', 'rw-b']);
    await readAll(held.stream);
    await readAll(second.stream);
    await readAll((await reads.open(entry)).stream);
    expect(log).toEqual(['rw-a', 'rw-b', 'rw-a']);
  });
});

describe('ReadDocuments.search', () => {
  it('returns only files of collections the principal may read', async () => {
    const { reads, catalog } = await setup();
    const named = (collection: string) =>
      aDocument(Buffer.from(collection), { collection, name: `${collection}-report.pdf`, uploadedAt: T0 });
    for (const collection of ['team-a', 'team-b', 'secret', 'default']) {
      await catalog.add({ file: named(collection), copies: [] });
    }
    const page = await reads.search(reader(['team-*', 'default']), {
      text: 'report',
      limit: 10,
      cursor: null,
    });
    expect(page.items.map((hit) => hit.file.collection).sort()).toEqual(['default', 'team-a', 'team-b']);
    const all = await reads.search(reader(), { text: 'report', limit: 10, cursor: null });
    expect(all.items).toHaveLength(4);
    await expect(
      reads.search(reader(undefined, ['files:write']), { text: 'x', limit: 10, cursor: null }),
    ).rejects.toMatchObject({ code: 'forbidden' });
  });
  it('lists deleted and expired files (tombstones) only to administrators', async () => {
    const { reads } = await setup();
    const tombstones = { text: '', limit: 10, cursor: null, filters: { statuses: ['deleted' as const] } };
    await expect(reads.search(reader(), tombstones)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      reads.search(reader(undefined, ['files:read', 'admin:read']), tombstones),
    ).resolves.toMatchObject({ items: [] });
    const active = { ...tombstones, filters: { statuses: ['active' as const] } };
    await expect(reads.search(reader(), active)).resolves.toMatchObject({ items: [] });
  });
});
