import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { RebuildCatalog } from '../../../src/application/admin/rebuild-catalog';
import { aDraft, aPrincipal, FixedClock } from '../../support/builders';
import { announceElement, aStartedElement, MapDirectory, source } from '../../support/fakes';

async function setup() {
  const clock = new FixedClock();
  const registry = new MemoryStorageElementRegistry();
  const a = await aStartedElement({ id: 'rw-a', mode: 'rw', clock });
  const b = await aStartedElement({ id: 'rw-b', mode: 'rw', clock });
  for (const element of [a, b]) await announceElement(registry, element.service, clock);
  const catalog = new MemoryFileCatalog();
  const rebuild = new RebuildCatalog(
    registry,
    new MapDirectory([a.service, b.service]),
    catalog,
    new MemoryEventBus(),
  );
  return { a, b, catalog, rebuild };
}

const admin = aPrincipal({ scopes: new Set(['admin:write']) });

describe('RebuildCatalog', () => {
  it('gives a file held by two SEs one entry with both copies, and a file on one SE one copy', async () => {
    const { a, b, catalog, rebuild } = await setup();
    const shared = aDraft({ name: 'shared.pdf' });
    const file = await a.service.put(shared, source(Buffer.from('twice')), { size: 5 });
    await b.service.put(shared, source(Buffer.from('twice')), { size: 5 });
    const only = await b.service.put(aDraft({ name: 'only-b.txt' }), source(Buffer.from('once')), {
      size: 4,
    });

    const report = await rebuild.rebuild(admin);

    expect(report.files).toBe(2);
    expect(report.storageElements['rw-a']).toMatchObject({ indexed: 1, problems: [] });
    expect(report.storageElements['rw-b']).toMatchObject({ indexed: 2, problems: [] });
    const entry = await catalog.get(file.fileId);
    expect(entry?.file).toEqual(file);
    expect(entry?.copies.map((c) => c.seId).sort()).toEqual(['rw-a', 'rw-b']);
    expect((await catalog.get(only.fileId))?.copies).toEqual([{ seId: 'rw-b', key: only.stored.key }]);
  });

  it('replaces a stale catalog entry: copies the SEs no longer hold are dropped', async () => {
    const { a, catalog, rebuild } = await setup();
    const file = await a.service.put(aDraft(), source(Buffer.from('x')), { size: 1 });
    await catalog.add({
      file,
      copies: [
        { seId: 'rw-a', key: file.stored.key },
        { seId: 'gone', key: 'k' },
      ],
    });
    await rebuild.rebuild(admin);
    expect((await catalog.get(file.fileId))?.copies).toEqual([{ seId: 'rw-a', key: file.stored.key }]);
  });

  it('needs admin:write', async () => {
    const { rebuild } = await setup();
    await expect(rebuild.rebuild(aPrincipal({ scopes: new Set(['admin:read']) }))).rejects.toMatchObject({
      code: 'forbidden',
    });
  });
});
