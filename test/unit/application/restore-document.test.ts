import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { MemoryFixityLog } from '../../../src/adapters/memory/memory-fixity-log';
import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { MemoryRestoredCopies } from '../../../src/adapters/memory/memory-restored-copies';
import { MemorySagaStore } from '../../../src/adapters/memory/memory-saga-store';
import { ExpireRestoredCopies } from '../../../src/application/admin/expire-restored-copies';
import { AuditTrail } from '../../../src/application/audit/audit-trail';
import type { StorageElementClient } from '../../../src/application/ports/storage-element-client';
import { ArchiveReads } from '../../../src/application/query/archive-reads';
import { ReadDocuments } from '../../../src/application/query/read-documents';
import { RestoreDocument, type RestoreJob } from '../../../src/application/query/restore-document';
import { SagaRunner } from '../../../src/application/sagas/saga-runner';
import { sagaResumer } from '../../../src/application/sagas/resume';
import { RegistryView } from '../../../src/application/shared/registry-view';
import type { Scope } from '../../../src/domain/access/principal';
import { decideRetention } from '../../../src/domain/retention/retention';
import { aDraft, aPrincipal, FixedClock, SequenceIds, T0 } from '../../support/builders';
import {
  announceElement,
  type MemoryElement,
  aMemoryElement,
  aStartedElement,
  MapDirectory,
  readAll,
  source,
} from '../../support/fakes';
import { eventually } from '../../support/poll';

const CONTENT = Buffer.from('an archived record, byte for byte');
const TTL_MS = 3_600_000;

/** A `ar` SE holding one file: written while rw, then restarted in mode ar (as after rw → ro → ar). */
async function archiveWith(clock: FixedClock) {
  const rw = await aStartedElement({ id: 'ar-1', mode: 'rw', clock });
  const file = await rw.service.put(
    aDraft({ collection: 'team-a', retention: decideRetention({ policy: 'permanent' }, T0) }),
    source(CONTENT),
    {
      size: CONTENT.length,
    },
  );
  await rw.state.save({ mode: 'ar' });
  const ar = aMemoryElement({
    id: 'ar-1',
    clock,
    blobs: rw.blobs,
    wal: rw.wal,
    index: rw.index,
    state: rw.state,
  });
  await ar.service.start();
  return { ar, file };
}

async function setup(options: { editElements?: number } = {}) {
  const clock = new FixedClock();
  const { ar, file } = await archiveWith(clock);
  const edits: MemoryElement[] = [];
  for (let i = 1; i <= (options.editElements ?? 1); i += 1)
    edits.push(await aStartedElement({ id: `edit-${i}`, mode: 'edit', clock }));
  const registry = new MemoryStorageElementRegistry();
  for (const element of [ar, ...edits]) await announceElement(registry, element.service, clock);
  const directory = new MapDirectory([ar.service, ...edits.map((e) => e.service)]);
  const catalog = new MemoryFileCatalog();
  await catalog.add({ file, copies: [{ seId: 'ar-1', key: file.stored.key }] });
  const restored = new MemoryRestoredCopies();
  const sagaStore = new MemorySagaStore();
  const sagas = new SagaRunner(
    { leaseMs: 10_000, retryAfterMs: 1_000, maxAttempts: 2 },
    { store: sagaStore, clock, ids: new SequenceIds(), failpoint: () => undefined },
  );
  const auditLog = new MemoryAuditLog(clock);
  const audit = new AuditTrail(auditLog);
  const events = new MemoryEventBus();
  const view = new RegistryView(registry, clock, 0);
  const restore = new RestoreDocument(
    { ttlMs: TTL_MS, staleAfterMs: 60_000 },
    { registry: view, directory, catalog, restored, sagas, sagaStore, events, clock, audit },
  );
  const reads = new ReadDocuments(
    catalog,
    directory,
    view,
    new MemoryFixityLog(),
    new ArchiveReads(restored, clock),
  );
  /** What the SEs' heartbeats do while time passes. */
  const heartbeat = async (): Promise<void> => {
    for (const element of [ar, ...edits]) await announceElement(registry, element.service, clock);
  };
  const expiry = new ExpireRestoredCopies({ restored, catalog, directory, events, clock, audit });
  return {
    clock,
    ar,
    edits,
    file,
    catalog,
    restored,
    sagaStore,
    restore,
    reads,
    expiry,
    auditLog,
    directory,
    registry,
    heartbeat,
  };
}

const reader = (patterns: string[] = ['team-*'], scopes: Scope[] = ['files:read']) =>
  aPrincipal({ scopes: new Set(scopes), collections: { 'files:read': patterns } });

async function finished(restore: RestoreDocument, fileId: string): Promise<RestoreJob> {
  return eventually(
    () => restore.status(reader(), fileId),
    (job) => job.state !== 'running',
  );
}

describe('RestoreDocument', () => {
  it('refuses archived content until a restore has placed a verified copy on an edit SE', async () => {
    const s = await setup();
    const entry = await s.reads.describe(reader(), s.file.fileId);
    await expect(s.reads.open(entry)).rejects.toMatchObject({ code: 'restore_required' });

    const started = await s.restore.start(reader(), s.file.fileId);
    expect(started).toMatchObject({ fileId: s.file.fileId, state: 'running', expiresAt: null });
    const done = await finished(s.restore, s.file.fileId);
    expect(done).toMatchObject({ id: started.id, state: 'done', error: null });
    expect(done.expiresAt).toEqual(new Date(s.clock.now().getTime() + TTL_MS));

    const opened = await s.reads.open(entry);
    expect((await readAll(opened.stream)).equals(CONTENT)).toBe(true);
    // The copy is the file itself on edit-1, and the archive is untouched.
    await expect(s.edits[0]!.service.head(s.file.fileId)).resolves.toMatchObject({ sha256: s.file.sha256 });
    await expect(s.ar.service.head(s.file.fileId)).resolves.toMatchObject({ sha256: s.file.sha256 });
    expect((await s.catalog.get(s.file.fileId))?.copies).toEqual([{ seId: 'ar-1', key: s.file.stored.key }]);
    const actions = (await s.auditLog.query({ limit: 10, cursor: null })).items.map((e) => [
      e.action,
      e.outcome,
    ]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['file.restore_requested', 'success'],
        ['file.restored', 'success'],
      ]),
    );
  });

  it('answers a second request with the same job, while it runs and once it is done', async () => {
    const s = await setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const edit = s.edits[0]!.service;
    // The edit SE holds the copy back until the test has asked again.
    const held: StorageElementClient = Object.assign(Object.create(edit) as StorageElementClient, {
      put: async (...args: Parameters<StorageElementClient['put']>) => {
        await gate;
        return edit.put(...args);
      },
    });
    s.directory.clients.set('edit-1', held);
    const first = await s.restore.start(reader(), s.file.fileId);
    const second = await s.restore.start(reader(), s.file.fileId);
    expect(second).toMatchObject({ id: first.id, state: 'running' });
    release();
    await finished(s.restore, s.file.fileId);
    await expect(s.restore.start(reader(), s.file.fileId)).resolves.toMatchObject({
      id: first.id,
      state: 'done',
    });
    const requests = (await s.auditLog.query({ limit: 20, cursor: null })).items.filter(
      (e) => e.action === 'file.restore_requested',
    );
    expect(requests).toHaveLength(1);
  });

  it('lets the copy expire: reads refuse again, the sweep removes it and leaves the archive', async () => {
    const s = await setup();
    const first = await s.restore.start(reader(), s.file.fileId);
    await finished(s.restore, s.file.fileId);
    const entry = await s.reads.describe(reader(), s.file.fileId);

    s.clock.advance(TTL_MS - 1);
    await expect(s.expiry.sweep()).resolves.toEqual({ removed: 0, failed: 0 });
    await expect(s.reads.open(entry)).resolves.toBeDefined();

    s.clock.advance(1);
    await expect(s.reads.open(entry)).rejects.toMatchObject({ code: 'restore_required' });
    await expect(s.restore.status(reader(), s.file.fileId)).resolves.toMatchObject({ state: 'expired' });
    await expect(s.expiry.sweep()).resolves.toEqual({ removed: 1, failed: 0 });
    await expect(s.restored.list(s.file.fileId)).resolves.toEqual([]);
    await expect(s.edits[0]!.service.head(s.file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(s.ar.service.head(s.file.fileId)).resolves.toMatchObject({ sha256: s.file.sha256 });
    const expired = (await s.auditLog.query({ limit: 20, cursor: null })).items.find(
      (e) => e.action === 'file.restore_expired',
    );
    expect(expired).toMatchObject({ target: s.file.fileId, actor: { kind: 'system' } });

    // Restoring again makes a new job and a new copy.
    await s.heartbeat();
    const again = await s.restore.start(reader(), s.file.fileId);
    expect((await finished(s.restore, s.file.fileId)).state).toBe('done');
    expect(again.id).not.toBe(first.id);
    await expect(s.reads.open(entry)).resolves.toBeDefined();
  });

  it('sweeps a restored copy that a catalog rebuild listed as a copy, and never a temporary file', async () => {
    const s = await setup();
    await s.restore.start(reader(), s.file.fileId);
    await finished(s.restore, s.file.fileId);
    const [restored] = await s.restored.list(s.file.fileId);
    // What RebuildCatalog makes of the edit SE's sidecar: one more copy of the file.
    const archived = { seId: 'ar-1', key: s.file.stored.key };
    await s.catalog.restore({ file: s.file, copies: [archived, { seId: 'edit-1', key: restored!.key }] });
    // A temporary file on edit-1 with a stray record of a restored copy: its own copy stays.
    const temporary = await s.edits[0]!.service.put(aDraft(), source('draft'), { size: 5 });
    await s.catalog.add({ file: temporary, copies: [{ seId: 'edit-1', key: temporary.stored.key }] });
    await s.restored.put({ ...restored!, fileId: temporary.fileId, key: temporary.stored.key });
    s.clock.advance(TTL_MS);
    await expect(s.expiry.sweep()).resolves.toEqual({ removed: 2, failed: 0 });
    expect((await s.catalog.get(s.file.fileId))?.copies).toEqual([archived]);
    await expect(s.edits[0]!.service.head(s.file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(s.edits[0]!.service.head(temporary.fileId)).resolves.toMatchObject({
      sha256: temporary.sha256,
    });
    await expect(s.restored.list(temporary.fileId)).resolves.toEqual([]);
  });

  it('replaces an expired copy the sweep has not removed yet', async () => {
    const s = await setup();
    await s.restore.start(reader(), s.file.fileId);
    await finished(s.restore, s.file.fileId);
    s.clock.advance(TTL_MS);
    await s.heartbeat();
    await s.restore.start(reader(), s.file.fileId);
    const job = await finished(s.restore, s.file.fileId);
    expect(job.state).toBe('done');
    expect(await s.restored.list(s.file.fileId)).toEqual([
      expect.objectContaining({ seId: 'edit-1', expiresAt: job.expiresAt }),
    ]);
    const entry = await s.reads.describe(reader(), s.file.fileId);
    expect((await readAll((await s.reads.open(entry)).stream)).equals(CONTENT)).toBe(true);
  });

  it('reports a failed copy, discards what it wrote, and keeps reads refused', async () => {
    const s = await setup();
    // The archived copy rots: the edit SE refuses bytes that do not match the file's SHA-256.
    const blobKey = s.file.stored.key;
    s.ar.blobs.objects.set(blobKey, Buffer.from('an archived record, BYTE for byte'));
    await s.restore.start(reader(), s.file.fileId);
    const job = await finished(s.restore, s.file.fileId);
    expect(job.state).toBe('failed');
    expect(job.error).toEqual(expect.any(String));
    const actions = await eventually(
      async () =>
        (await s.auditLog.query({ limit: 10, cursor: null })).items.map((e) => `${e.action} ${e.outcome}`),
      (list) => list.includes('file.restored failure'),
    );
    // Oldest last: the request, then its end.
    expect(actions.filter((a) => a.startsWith('file.restore'))).toEqual([
      'file.restored failure',
      'file.restore_requested success',
    ]);
    await expect(s.edits[0]!.service.head(s.file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    const entry = await s.reads.describe(reader(), s.file.fileId);
    await expect(s.reads.open(entry)).rejects.toMatchObject({ code: 'restore_required' });
  });

  it('undoes a restore whose process died before recording the copy (admin recovery)', async () => {
    const s = await setup();
    const crashing = new SagaRunner(
      { leaseMs: 10_000, retryAfterMs: 1_000, maxAttempts: 2 },
      {
        store: s.sagaStore,
        clock: s.clock,
        ids: new SequenceIds(),
        failpoint: (name) => {
          if (name === 'saga.restore.after_copy') throw new Error('killed');
        },
      },
    );
    const restore = new RestoreDocument(
      { ttlMs: TTL_MS, staleAfterMs: 60_000 },
      {
        registry: new RegistryView(s.registry, s.clock, 0),
        directory: s.directory,
        catalog: s.catalog,
        restored: s.restored,
        sagas: crashing,
        sagaStore: s.sagaStore,
        events: new MemoryEventBus(),
        clock: s.clock,
        audit: new AuditTrail(s.auditLog),
      },
    );
    await restore.start(reader(), s.file.fileId);
    // The copy was written, then the process "died": the saga keeps its lease and stays running.
    await eventually(
      () =>
        s.edits[0]!.service.head(s.file.fileId).then(
          () => true,
          () => false,
        ),
      (present) => present,
    );
    expect((await s.restore.status(reader(), s.file.fileId)).state).toBe('running');
    s.clock.advance(10_001);
    const admin = new SagaRunner(
      { leaseMs: 10_000, retryAfterMs: 1_000, maxAttempts: 2 },
      { store: s.sagaStore, clock: s.clock, ids: new SequenceIds(), failpoint: () => undefined },
    );
    const events = new MemoryEventBus();
    await expect(
      admin.recover(
        sagaResumer({
          directory: s.directory,
          catalog: s.catalog,
          events,
          sagas: admin,
          restored: s.restored,
          clock: s.clock,
        }),
      ),
    ).resolves.toBe(1);
    expect((await s.restore.status(reader(), s.file.fileId)).state).toBe('failed');
    await expect(s.edits[0]!.service.head(s.file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(s.restored.list(s.file.fileId)).resolves.toEqual([]);
    await expect(s.ar.service.head(s.file.fileId)).resolves.toMatchObject({ sha256: s.file.sha256 });
  });

  it('refuses what it cannot or need not do, with clear codes', async () => {
    const s = await setup({ editElements: 0 });
    await expect(s.restore.start(reader(), s.file.fileId)).rejects.toMatchObject({
      code: 'no_writable_storage',
    });
    await expect(s.restore.status(reader(), s.file.fileId)).rejects.toMatchObject({
      code: 'restore_not_found',
    });
    // Another collection's reader, and a caller without files:read, learn nothing.
    await expect(s.restore.start(reader(['other-*']), s.file.fileId)).rejects.toMatchObject({
      code: 'file_not_found',
    });
    await expect(s.restore.status(reader(['other-*']), s.file.fileId)).rejects.toMatchObject({
      code: 'file_not_found',
    });
    await expect(s.restore.start(reader(['team-*'], ['files:write']), s.file.fileId)).rejects.toMatchObject({
      code: 'forbidden',
    });

    const readable = await setup();
    const rw = await aStartedElement({ id: 'rw-1', mode: 'rw', clock: readable.clock });
    readable.directory.clients.set('rw-1', rw.service);
    await announceElement(readable.registry, rw.service, readable.clock);
    await readable.catalog.restore({
      file: readable.file,
      copies: [{ seId: 'rw-1', key: readable.file.stored.key }],
    });
    await expect(readable.restore.start(reader(), readable.file.fileId)).rejects.toMatchObject({
      code: 'conflict',
    });
  });
});
