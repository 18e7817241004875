import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { AuditTrail } from '../../../src/application/audit/audit-trail';
import {
  attributeUpdateSteps,
  UpdateDocument,
  type AttributeUpdatePayload,
} from '../../../src/application/ingester/update-document';
import { RegistryView } from '../../../src/application/shared/registry-view';
import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import type { DocumentAttributes } from '../../../src/domain/document/document';
import type { Retention } from '../../../src/domain/retention/retention';
import type { StorageMode } from '../../../src/domain/storage-mode/storage-mode';
import { aDraft, aPrincipal, FixedClock } from '../../support/builders';
import {
  announceElement,
  aStartedElement,
  MapDirectory,
  source,
  type MemoryElement,
  aSagaRunner,
} from '../../support/fakes';

const CONTENT = Buffer.from('a record kept in two places');
const PERMANENT: Retention = { policy: 'permanent', retainUntil: null, legalHold: false };

/** One permanent file with a copy on each of two SEs, catalogued; the second SE then moves to `secondMode`. */
async function setup(secondMode: StorageMode = 'rw') {
  const clock = new FixedClock();
  const registry = new MemoryStorageElementRegistry();
  const a = await aStartedElement({ id: 'rw-a', mode: 'rw', clock });
  const b = await aStartedElement({ id: 'rw-b', mode: 'rw', clock });
  const draft = aDraft({ retention: PERMANENT, collection: 'records' });
  const file = await a.service.put(draft, source(CONTENT), { size: CONTENT.length });
  await b.service.put(draft, source(CONTENT), { size: CONTENT.length });
  if (secondMode !== 'rw') await b.service.changeMode(secondMode, false);
  for (const element of [a, b]) await announceElement(registry, element.service, clock);
  const catalog = new MemoryFileCatalog();
  const copies = [
    { seId: 'rw-a', key: file.stored.key },
    { seId: 'rw-b', key: file.stored.key },
  ];
  await catalog.add({ file, copies });
  const events = new MemoryEventBus();
  const changed: string[] = [];
  await events.subscribe('file.changed', ({ fileId }) => void changed.push(fileId));
  const auditLog = new MemoryAuditLog(clock);
  const directory = new MapDirectory([a.service, b.service]);
  const deps = {
    catalog,
    directory,
    registry: new RegistryView(registry, clock, 0),
    events,
    audit: new AuditTrail(auditLog),
    clock,
    sagas: aSagaRunner(clock),
  };
  const updates = new UpdateDocument({ metadataEntries: 3 }, deps);
  return { a, b, file, copies, catalog, changed, auditLog, deps, updates };
}

function sidecarOf(element: MemoryElement, file: DocumentAttributes): DocumentAttributes {
  return element.codec.decode(element.blobs.objects.get(sidecarKeyFor(file.stored.key))!);
}

describe('UpdateDocument', () => {
  it('applies a patch to every copy, then the catalog, then announces it', async () => {
    const { a, b, file, catalog, changed, updates } = await setup();
    const updated = await updates.patch(aPrincipal(), file.fileId, {
      description: 'signed',
      metadata: { case: '7' },
    });
    expect(updated).toMatchObject({ description: 'signed', metadata: { case: '7' }, attrVersion: 2 });
    for (const element of [a, b]) {
      expect(sidecarOf(element, file)).toMatchObject({ description: 'signed', attrVersion: 2 });
      expect(await element.service.head(file.fileId)).toMatchObject({ attrVersion: 2 });
    }
    expect((await catalog.get(file.fileId))?.file).toEqual(updated);
    expect(changed).toEqual([file.fileId]);
  });

  it('merges metadata, removes null keys and holds the entry limit after the merge', async () => {
    const { file, updates } = await setup();
    await updates.patch(aPrincipal(), file.fileId, { metadata: { a: '1', b: '2' } });
    const merged = await updates.patch(aPrincipal(), file.fileId, { metadata: { a: null, c: '3' } });
    expect(merged.metadata).toEqual({ b: '2', c: '3' });
    // 2 kept + 63 new = 65 entries after the merge: over the limit of 64, though the patch names only 63.
    const more = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`k${i}`, 'v']));
    await expect(updates.patch(aPrincipal(), file.fileId, { metadata: more })).rejects.toMatchObject({
      code: 'too_many_metadata_entries',
      details: { field: 'metadata' },
    });
  });

  it('refuses with mode_forbids_operation before any copy is touched when one copy is read-only', async () => {
    const { a, b, file, catalog, updates } = await setup('ro');
    await expect(updates.patch(aPrincipal(), file.fileId, { tags: ['x'] })).rejects.toMatchObject({
      code: 'mode_forbids_operation',
    });
    expect(sidecarOf(a, file)).toEqual(file);
    expect(sidecarOf(b, file)).toMatchObject({ attrVersion: 1 });
    expect((await catalog.get(file.fileId))?.file).toEqual(file);
  });

  it('sets a legal hold on every copy even in ro, and audits it with the reason', async () => {
    const { a, b, file, catalog, auditLog, updates } = await setup('ro');
    const held = await updates.setLegalHold(aPrincipal(), file.fileId, true, 'litigation', {
      source: '10.0.0.1',
    });
    expect(held.retention).toEqual({ ...PERMANENT, legalHold: true });
    for (const element of [a, b]) expect(sidecarOf(element, file).retention).toEqual(held.retention);
    expect((await catalog.get(file.fileId))?.file.retention).toEqual(held.retention);
    await expect(b.service.delete(file.fileId)).rejects.toMatchObject({ code: 'legal_hold_active' });
    const page = await auditLog.query({ cursor: null, limit: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({
        action: 'file.legal_hold_set',
        outcome: 'success',
        target: file.fileId,
        source: '10.0.0.1',
        details: { reason: 'litigation', collection: 'records', changed: true },
      }),
    ]);
  });

  it('needs files:legal_hold for a hold and hides files of other collections', async () => {
    const { file, updates } = await setup();
    const writer = aPrincipal({ scopes: new Set(['files:read', 'files:write']) });
    await expect(updates.setLegalHold(writer, file.fileId, true, 'x')).rejects.toMatchObject({
      code: 'forbidden',
      details: { scope: 'files:legal_hold' },
    });
    const outsider = aPrincipal({ collections: { 'files:read': ['other'], 'files:write': ['other'] } });
    await expect(updates.patch(outsider, file.fileId, { tags: ['x'] })).rejects.toMatchObject({
      code: 'file_not_found',
    });
    const readerOnly = aPrincipal({ collections: { 'files:write': ['other'] } });
    await expect(updates.patch(readerOnly, file.fileId, { tags: ['x'] })).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it('If-Match: a stale attr_version is attr_version_mismatch; a no-op patch writes nothing', async () => {
    const { a, file, updates } = await setup();
    await expect(
      updates.patch(aPrincipal(), file.fileId, { tags: ['x'] }, { ifAttrVersion: 7 }),
    ).rejects.toMatchObject({ code: 'attr_version_mismatch' });
    const same = await updates.patch(aPrincipal(), file.fileId, { tags: [...file.tags] });
    expect(same).toEqual(file);
    expect(sidecarOf(a, file)).toEqual(file);
  });

  it('its steps can be re-run from the start after a crash part-way: nothing is applied twice', async () => {
    const { a, b, file, copies, catalog, changed, deps } = await setup();
    const payload: AttributeUpdatePayload = {
      fileId: file.fileId,
      change: { description: 'resumed' },
      targetAttrVersion: 2,
      copies,
    };
    // The first run dies after the first copy.
    const first = attributeUpdateSteps(payload, deps);
    await first.steps[0]!.run();
    expect(sidecarOf(a, file).attrVersion).toBe(2);
    expect(sidecarOf(b, file).attrVersion).toBe(1);

    const resumed = attributeUpdateSteps(payload, deps);
    for (const step of resumed.steps) await step.run();
    // And once more, as a runner that lost its progress record would.
    for (const step of attributeUpdateSteps(payload, deps).steps) await step.run();
    for (const element of [a, b])
      expect(sidecarOf(element, file)).toMatchObject({ description: 'resumed', attrVersion: 2 });
    expect((await catalog.get(file.fileId))?.file).toMatchObject({ description: 'resumed', attrVersion: 2 });
    expect(resumed.result()).toEqual(sidecarOf(a, file));
    expect(changed).toEqual([file.fileId, file.fileId]);
  });

  it('resumes at the catalog step alone, reading the new version back from a copy', async () => {
    const { a, file, copies, catalog, deps } = await setup();
    const payload: AttributeUpdatePayload = {
      fileId: file.fileId,
      change: { tags: ['late'] },
      targetAttrVersion: 2,
      copies,
    };
    const { steps } = attributeUpdateSteps(payload, deps);
    for (const step of steps.slice(0, 2)) await step.run();
    const catalogOnly = attributeUpdateSteps(payload, deps);
    await catalogOnly.steps[2]!.run();
    expect((await catalog.get(file.fileId))?.file).toEqual(sidecarOf(a, file));
  });
});
