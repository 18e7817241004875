import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { ManageStorageElements } from '../../../src/application/admin/manage-storage-elements';
import { AuditTrail } from '../../../src/application/audit/audit-trail';
import { aDocument, aPrincipal } from '../../support/builders';
import { announceElement, aStartedElement, MapDirectory } from '../../support/fakes';

/** §3.3: `ro → ar` needs satisfied replica counts: every file on the SE has its full set of copies. */
describe('the ro → ar gate counts copies', () => {
  async function setup(copies: string[]) {
    const element = await aStartedElement({ id: 'ro-1', mode: 'ro' });
    const registry = new MemoryStorageElementRegistry();
    await announceElement(registry, element.service, element.clock);
    const catalog = new MemoryFileCatalog();
    const file = aDocument(Buffer.from('kept'), {
      retention: { policy: 'permanent', retainUntil: null, legalHold: false },
    });
    await catalog.add({ file, copies: copies.map((seId) => ({ seId, key: file.stored.key })) });
    const log = new MemoryAuditLog(element.clock);
    const manage = new ManageStorageElements(
      registry,
      new MapDirectory([element.service]),
      new MemoryEventBus(),
      new AuditTrail(log),
      { catalog, required: 2 },
    );
    return { element, manage, log };
  }

  it('refuses with replicas_missing while a file has fewer copies than required, and audits it', async () => {
    const { element, manage, log } = await setup(['ro-1']);
    await expect(manage.changeMode(aPrincipal(), 'ro-1', 'ar', false)).rejects.toMatchObject({
      code: 'replicas_missing',
      details: { files: 1, required: 2 },
    });
    expect(element.service.currentMode()).toBe('ro');
    const entries = await log.query({ limit: 10, cursor: null });
    expect(entries.items.at(-1)).toMatchObject({
      action: 'storage_element.mode_changed',
      outcome: 'failure',
      details: expect.objectContaining({ code: 'replicas_missing' }),
    });
  });

  it('lets the SE archive once every file has its copies', async () => {
    const { element, manage } = await setup(['ro-1', 'rw-9']);
    const info = await manage.changeMode(aPrincipal(), 'ro-1', 'ar', false);
    expect(info.mode).toBe('ar');
    expect(element.service.currentMode()).toBe('ar');
  });
});
