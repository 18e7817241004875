import { Readable } from 'node:stream';
import { SignatureContentSniffer } from '../../../src/adapters/sniffing/signature-content-sniffer';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus';
import { MemoryFileCatalog } from '../../../src/adapters/memory/memory-file-catalog';
import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { ApplicationError } from '../../../src/application/errors';
import type { CollectionPolicies } from '../../../src/application/ingester/collection-policy';
import { UploadDocument, type UploadCommand } from '../../../src/application/ingester/upload-document';
import { DeleteDocument } from '../../../src/application/ingester/delete-document';
import { FinalizeDocument } from '../../../src/application/ingester/finalize-document';
import { AuditTrail } from '../../../src/application/audit/audit-trail';
import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { MemoryBlobStore } from '../../../src/adapters/memory/memory-blob-store';
import { MemorySagaStore } from '../../../src/adapters/memory/memory-saga-store';
import { MemoryRestoredCopies } from '../../../src/adapters/memory/memory-restored-copies';
import { MemoryWriteAheadLog } from '../../../src/adapters/memory/memory-write-ahead-log';
import type { WalIntent } from '../../../src/application/ports/write-ahead-log';
import { isSidecarKey } from '../../../src/domain/document/blob-key';
import { SagaRunner } from '../../../src/application/sagas/saga-runner';
import { sagaResumer } from '../../../src/application/sagas/resume';
import type { CatalogEntry } from '../../../src/application/ports/file-catalog';
import { RegistryView } from '../../../src/application/shared/registry-view';
import { DomainError } from '../../../src/domain/errors';
import { aPrincipal, aStorageElement, FixedClock, SequenceIds, sha256, T0 } from '../../support/builders';
import {
  announceElement,
  aStartedElement,
  MapDirectory,
  readAll,
  source,
  type MemoryElement,
  type MemoryElementOptions,
} from '../../support/fakes';
import { eventually } from '../../support/poll';

const CONTENT = Buffer.from('%PDF-1.7 pretend this is a document');
const DAY = 24 * 60 * 60 * 1000;

class FailingCatalog extends MemoryFileCatalog {
  override async add(_entry: CatalogEntry): Promise<void> {
    throw new Error('catalog unavailable');
  }
}

interface Limits {
  maxUploadBytes?: number;
  collections?: CollectionPolicies;
}

async function setup(
  elements: MemoryElementOptions[],
  catalog = new MemoryFileCatalog(),
  replication = { temporary: 1, permanent: 1 },
  limits: Limits = {},
) {
  const clock = new FixedClock();
  const registry = new MemoryStorageElementRegistry();
  const started: Record<string, MemoryElement> = {};
  for (const options of elements) {
    const element = await aStartedElement({ clock, ...options });
    started[element.service.id] = element;
    await announceElement(registry, element.service, clock);
  }
  const directory = new MapDirectory(Object.values(started).map((e) => e.service));
  const events = new MemoryEventBus();
  const ids = new SequenceIds();
  const sagaStore = new MemorySagaStore();
  const sagas = new SagaRunner(
    { leaseMs: 30_000, retryAfterMs: 1_000, maxAttempts: 3 },
    { store: sagaStore, clock, ids, failpoint: () => undefined },
  );
  const view = new RegistryView(registry, clock, 0);
  const auditLog = new MemoryAuditLog(clock);
  // What finalize and delete need, for the tests that run them on what was uploaded.
  const lifecycle = {
    registry: view,
    directory,
    catalog,
    events,
    clock,
    sagas,
    audit: new AuditTrail(auditLog),
  };
  const upload = new UploadDocument(
    {
      defaultTtlDays: 30,
      staleAfterMs: 15_000,
      replication,
      maxUploadBytes: limits.maxUploadBytes ?? 2 ** 40,
      collections: limits.collections,
    },
    {
      registry: view,
      directory,
      catalog,
      events,
      clock,
      ids,
      sagas,
      sniffer: new SignatureContentSniffer(),
    },
  );
  return {
    clock,
    registry,
    se: started,
    catalog,
    events,
    upload,
    sagaStore,
    sagas,
    directory,
    lifecycle,
    auditLog,
  };
}

/**
 * Makes `seId` an SE that stores every byte of a put, then loses its answer (killed before
 * replying) and stays down: discards fail until `back()`.
 */
function diesAfterStoring(directory: MapDirectory, element: MemoryElement, seId: string) {
  const real = element.service;
  let down = true;
  const unreachable = () =>
    new ApplicationError('storage_unavailable', `storage element '${seId}' is unreachable`);
  directory.clients.set(
    seId,
    Object.assign(Object.create(real) as typeof real, {
      put: async (...args: Parameters<typeof real.put>) => {
        await real.put(...args);
        throw unreachable();
      },
      discard: async (fileId: string) => {
        if (down) throw unreachable();
        return real.discard(fileId);
      },
    }),
  );
  return {
    real,
    back: () => {
      down = false;
    },
  };
}

const command = (overrides: Partial<UploadCommand> = {}): UploadCommand => ({
  name: 'report.pdf',
  contentType: 'application/pdf',
  expect: { size: CONTENT.length },
  ...overrides,
});

const TWO = [
  { id: 'edit-1', mode: 'edit' },
  { id: 'rw-1', mode: 'rw' },
] as const;

describe('UploadDocument', () => {
  it.each([
    ['temporary', 'edit-1', {}],
    ['permanent', 'rw-1', { retentionPolicy: 'permanent' }],
  ] as const)('stores a %s file on %s, catalogues it and announces it', async (_policy, seId, extra) => {
    const { upload, se, catalog, events } = await setup([...TWO]);
    const published = new Promise((resolve) => void events.subscribe('file.changed', resolve));
    const file = await upload.execute(aPrincipal({ subject: 'alice' }), command(extra), source(CONTENT));

    expect(file).toMatchObject({ uploader: 'alice', collection: 'default', size: CONTENT.length });
    expect(file.sha256).toBe(sha256(CONTENT));
    expect(await catalog.get(file.fileId)).toEqual({ file, copies: [{ seId, key: file.stored.key }] });
    expect(await readAll((await se[seId]!.service.open(file.fileId)).stream)).toEqual(CONTENT);
    const other = seId === 'edit-1' ? 'rw-1' : 'edit-1';
    expect(se[other]!.blobs.objects.size).toBe(0);
    await expect(published).resolves.toEqual({ fileId: file.fileId });
  });

  it('records the decided draft: name, tags without duplicates, metadata, retention', async () => {
    const { upload } = await setup([...TWO]);
    const file = await upload.execute(
      aPrincipal(),
      command({
        name: 'Cafe\u0301.pdf',
        tags: ['a', 'b', 'a'],
        metadata: { k: 'v' },
        ttlDays: 3,
        collection: 'team-a',
      }),
      source(CONTENT),
    );
    expect(file).toMatchObject({
      name: 'Caf\u00e9.pdf',
      tags: ['a', 'b'],
      metadata: { k: 'v' },
      collection: 'team-a',
    });
    expect(file.retention).toEqual({
      policy: 'temporary',
      ttlDays: 3,
      expiresAt: new Date(T0.getTime() + 3 * DAY),
    });
  });

  it.each<[string, MemoryElementOptions[], Partial<UploadCommand>]>([
    ['no SE of the needed mode', [{ id: 'edit-1', mode: 'edit' }], { retentionPolicy: 'permanent' }],
    [
      'only ro and ar SEs',
      [
        { id: 'ro-1', mode: 'ro' },
        { id: 'ar-1', mode: 'ar' },
      ],
      { retentionPolicy: 'permanent' },
    ],
    ['no SE with room for the size', [{ id: 'edit-1', mode: 'edit', capacityBytes: 10 }], {}],
    ['no SE at all', [], {}],
  ])('refuses no_writable_storage with %s, before reading', async (_label, elements, extra) => {
    const { upload } = await setup(elements);
    const content = source(CONTENT);
    const upload1 = upload.execute(aPrincipal(), command(extra), content);
    await expect(upload1).rejects.toThrow(ApplicationError);
    await expect(upload1).rejects.toMatchObject({ code: 'no_writable_storage' });
    // Placement is decided before the content is peeked: the client's 100-continue gets a 507.
    expect(content.readableDidRead).toBe(false);
  });

  it('does not offer an SE whose heartbeat is stale', async () => {
    const { upload, clock } = await setup([...TWO]);
    clock.advance(15_001);
    await expect(upload.execute(aPrincipal(), command(), source(CONTENT))).rejects.toMatchObject({
      code: 'no_writable_storage',
    });
  });

  it.each<[string, MemoryElementOptions]>([
    ['is smaller than the registry says', { capacityBytes: 5 }],
    ['is in another mode than the registry says', { mode: 'ro' }],
  ])('fails over to the next SE when the first %s, with the content intact', async (_label, first) => {
    const { upload, registry, se, catalog } = await setup([
      { id: 'rw-a', mode: 'rw', ...first },
      { id: 'rw-b', mode: 'rw' },
    ]);
    // A registry row that lags behind the SE: it still promises room and mode rw, and fills first.
    await registry.announce(aStorageElement({ id: 'rw-a', mode: 'rw', priority: 0, lastSeenAt: T0 }));
    const file = await upload.execute(
      aPrincipal(),
      command({ retentionPolicy: 'permanent' }),
      source(CONTENT),
    );
    expect((await catalog.get(file.fileId))?.copies).toEqual([{ seId: 'rw-b', key: file.stored.key }]);
    expect(await readAll((await se['rw-b']!.service.open(file.fileId)).stream)).toEqual(CONTENT);
    expect(se['rw-a']!.blobs.objects.size).toBe(0);
  });

  it('refuses no_writable_storage when every candidate refuses', async () => {
    const { upload, registry } = await setup([{ id: 'edit-1', mode: 'edit', capacityBytes: 5 }]);
    await registry.announce(aStorageElement({ id: 'edit-1', mode: 'edit', lastSeenAt: T0 }));
    const attempt = upload.execute(aPrincipal(), command(), source(CONTENT));
    await expect(attempt).rejects.toMatchObject({
      code: 'no_writable_storage',
      details: { last_refusal: expect.any(String) },
    });
  });

  it('does not fail over once the content has been read', async () => {
    const { upload, se } = await setup([
      { id: 'edit-1', mode: 'edit' },
      { id: 'edit-2', mode: 'edit' },
    ]);
    const attempt = upload.execute(
      aPrincipal(),
      command({ expect: { size: CONTENT.length + 1 } }),
      source(CONTENT),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'size_mismatch' });
    expect(se['edit-1']!.blobs.objects.size + se['edit-2']!.blobs.objects.size).toBe(0);
  });

  it.each<[string, Partial<UploadCommand>]>([
    ['a temporary file', {}],
    ['a permanent file', { retentionPolicy: 'permanent' }],
    [
      'a permanent file retained for a year',
      { retentionPolicy: 'permanent', retainUntil: new Date(T0.getTime() + 365 * DAY) },
    ],
  ])('deletes the stored copy of %s when the catalog refuses it', async (_label, extra) => {
    const { upload, se } = await setup([...TWO], new FailingCatalog());
    const attempt = upload.execute(aPrincipal(), command(extra), source(CONTENT));
    await expect(attempt).rejects.toThrow('catalog unavailable');
    for (const element of Object.values(se)) {
      expect([...element.blobs.objects.keys()]).toEqual([]);
      expect(await element.index.stats(element.service.id)).toEqual({ files: 0, bytes: 0 });
    }
  });

  it.each<[string, Partial<UploadCommand>, string]>([
    ['an invalid collection', { collection: 'Bad Collection' }, 'invalid_collection'],
    ['a file name with nothing left once sanitised', { name: 'dir/..' }, 'invalid_file_name'],
    ['a file name over 1024 characters', { name: 'n'.repeat(1025) }, 'file_name_too_long'],
    ['a long description', { description: 'd'.repeat(4097) }, 'description_too_long'],
    ['65 tags', { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, 'too_many_tags'],
    ['a long tag', { tags: ['t'.repeat(129)] }, 'tag_too_long'],
    ['a tag with a control character', { tags: ['a\u0007b'] }, 'invalid_tag'],
    [
      '65 metadata entries',
      { metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
      'too_many_metadata_entries',
    ],
    [
      'a reserved metadata key',
      { metadata: JSON.parse('{"__proto__":"x"}') as Record<string, string> },
      'metadata_key_invalid',
    ],
    ['a long metadata value', { metadata: { k: 'v'.repeat(4097) } }, 'metadata_value_too_long'],
    [
      'metadata over 64 KiB in all',
      { metadata: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(4000)])) },
      'metadata_too_large',
    ],
    ['an out-of-range TTL', { ttlDays: 400 }, 'invalid_ttl'],
    ['an unknown retention policy', { retentionPolicy: 'forever' }, 'invalid_retention'],
    [
      'a retain_until in the past',
      { retentionPolicy: 'permanent', retainUntil: new Date(T0.getTime() - 1) },
      'invalid_retention',
    ],
  ])('refuses %s before storing anything', async (_label, extra, code) => {
    const { upload, se } = await setup([...TWO]);
    const content = source(CONTENT);
    const attempt = upload.execute(aPrincipal(), command(extra), content);
    await expect(attempt).rejects.toThrow(DomainError);
    await expect(attempt).rejects.toMatchObject({ code });
    expect(content.readableDidRead).toBe(false);
    expect(se['edit-1']!.blobs.objects.size + se['rw-1']!.blobs.objects.size).toBe(0);
  });

  it.each([
    ['without files:write', aPrincipal({ scopes: new Set(['files:read'] as const) })],
    ['outside its collections', aPrincipal({ collections: { 'files:write': ['team-*'] } })],
  ])('refuses a principal %s with forbidden', async (_label, principal) => {
    const { upload } = await setup([...TWO]);
    const content: Readable = source(CONTENT);
    await expect(upload.execute(principal, command(), content)).rejects.toMatchObject({ code: 'forbidden' });
    expect(content.readableDidRead).toBe(false);
  });

  describe('compression', () => {
    const TEXT = Buffer.from('a line of a document that compresses well\n'.repeat(2_000));
    const text = (compression?: 'auto' | 'none' | 'gzip' | 'br'): UploadCommand =>
      command({ name: 'notes.txt', contentType: 'text/plain', expect: { size: TEXT.length }, compression });

    it.each([
      [undefined, 'br'],
      ['auto', 'br'],
      ['none', 'identity'],
      ['gzip', 'gzip'],
      ['br', 'br'],
    ] as const)(
      'stores text under compression %s as %s, and reads back the original',
      async (policy, encoding) => {
        const { upload, se } = await setup([{ id: 'edit-1', mode: 'edit', totalBytes: null }]);
        const file = await upload.execute(aPrincipal(), text(policy), source(TEXT));
        expect(file).toMatchObject({ size: TEXT.length, sha256: sha256(TEXT), stored: { encoding } });
        expect(await readAll((await se['edit-1']!.service.open(file.fileId)).stream)).toEqual(TEXT);
      },
    );

    it('stores every copy of a permanent file with the same encoding', async () => {
      const { upload, se } = await setup(
        [
          { id: 'rw-a', mode: 'rw', totalBytes: null },
          { id: 'rw-b', mode: 'rw', totalBytes: null },
        ],
        undefined,
        { temporary: 1, permanent: 2 },
      );
      const file = await upload.execute(
        aPrincipal(),
        { ...text('gzip'), retentionPolicy: 'permanent' },
        source(TEXT),
      );
      for (const id of ['rw-a', 'rw-b']) {
        const copy = await se[id]!.service.head(file.fileId);
        expect(copy.stored).toMatchObject({ encoding: 'gzip', size: file.stored.size });
        expect(await readAll((await se[id]!.service.open(file.fileId)).stream)).toEqual(TEXT);
      }
    });

    it('samples a reopenable source (a staged tus upload) without consuming it', async () => {
      const { upload, se } = await setup([{ id: 'edit-1', mode: 'edit', totalBytes: null }]);
      let opened = 0;
      const file = await upload.execute(aPrincipal(), text(), () => {
        opened += 1;
        return source(TEXT);
      });
      expect(opened).toBe(2);
      expect(file.stored.encoding).toBe('br');
      expect(await readAll((await se['edit-1']!.service.open(file.fileId)).stream)).toEqual(TEXT);
    });

    it('keeps a JPEG as it is under auto', async () => {
      const { upload, se } = await setup([{ id: 'edit-1', mode: 'edit', totalBytes: null }]);
      const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), TEXT]);
      const file = await upload.execute(
        aPrincipal(),
        command({ name: 'photo.jpg', contentType: 'image/jpeg', expect: { size: jpeg.length } }),
        source(jpeg),
      );
      expect(file.stored).toMatchObject({ encoding: 'identity', size: jpeg.length, frames: null });
      expect(await readAll((await se['edit-1']!.service.open(file.fileId)).stream)).toEqual(jpeg);
    });
  });
});

describe('UploadDocument with replicas', () => {
  const permanent = command({ retentionPolicy: 'permanent' });
  const THREE_RW: MemoryElementOptions[] = [
    { id: 'rw-a1', mode: 'rw', dc: 'a', priority: 1 },
    { id: 'rw-a2', mode: 'rw', dc: 'a', priority: 2 },
    { id: 'rw-b1', mode: 'rw', dc: 'b', priority: 3 },
  ];

  it('writes the permanent copies to distinct data centres before it answers', async () => {
    const { upload, se, catalog, sagaStore } = await setup(THREE_RW, undefined, {
      temporary: 1,
      permanent: 2,
    });
    const file = await upload.execute(aPrincipal(), permanent, source(CONTENT));
    const entry = await catalog.get(file.fileId);
    expect(entry?.copies.map((c) => c.seId)).toEqual(['rw-a1', 'rw-b1']);
    for (const id of ['rw-a1', 'rw-b1'])
      expect(await readAll((await se[id]!.service.open(file.fileId)).stream)).toEqual(CONTENT);
    await expect(se['rw-a2']!.service.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    const [saga] = (await sagaStore.list({ limit: 10, cursor: null })).items;
    expect(saga).toMatchObject({ kind: 'upload', status: 'done', step: 4, fileId: file.fileId });
  });

  it('takes the next SE when a replica target fails, and the client does not notice', async () => {
    const { upload, se, catalog } = await setup(THREE_RW, undefined, { temporary: 1, permanent: 2 });
    // rw-b1 is announced as rw but has turned read-only: the copy fails there.
    await se['rw-b1']!.service.changeMode('ro', false);
    const file = await upload.execute(aPrincipal(), permanent, source(CONTENT));
    expect((await catalog.get(file.fileId))?.copies.map((c) => c.seId)).toEqual(['rw-a1', 'rw-a2']);
  });

  it('refuses before reading a byte when fewer SEs than copies can take the file', async () => {
    const { upload } = await setup([{ id: 'rw-1', mode: 'rw' }], undefined, { temporary: 1, permanent: 2 });
    const content: Readable = source(CONTENT);
    await expect(upload.execute(aPrincipal(), permanent, content)).rejects.toMatchObject({
      code: 'no_writable_storage',
      message: expect.stringContaining('needs 2 copies'),
    });
    expect(content.readableDidRead).toBe(false);
  });

  it('undoes every copy when the catalog step fails, and says so in the saga', async () => {
    const { upload, se, sagaStore } = await setup(THREE_RW, new FailingCatalog(), {
      temporary: 1,
      permanent: 2,
    });
    await expect(upload.execute(aPrincipal(), permanent, source(CONTENT))).rejects.toThrow(
      'catalog unavailable',
    );
    for (const element of Object.values(se)) expect((await element.service.info()).fileCount).toBe(0);
    const [saga] = (await sagaStore.list({ limit: 10, cursor: null })).items;
    expect(saga).toMatchObject({
      kind: 'upload',
      status: 'compensated',
      error: 'catalog: catalog unavailable',
    });
  });

  it('moves to the next SE after a failure mid-write when the content can be opened again', async () => {
    const { upload, se, catalog } = await setup(
      [
        { id: 'edit-small', mode: 'edit', priority: 1, totalBytes: CONTENT.length - 5, capacityBytes: null },
        { id: 'edit-big', mode: 'edit', priority: 2 },
      ],
      undefined,
    );
    // Unknown size: the small SE accepts, runs out of space mid-stream, and the staged content is re-read.
    const file = await upload.execute(aPrincipal(), command({ expect: { size: null } }), () =>
      source(CONTENT),
    );
    expect((await catalog.get(file.fileId))?.copies.map((c) => c.seId)).toEqual(['edit-big']);
    expect((await se['edit-small']!.service.info()).fileCount).toBe(0);
  });

  it('discards the copy of an SE that died after storing it, once that SE is back', async () => {
    const { upload, se, catalog, directory, sagas, sagaStore, clock } = await setup([
      { id: 'edit-1', mode: 'edit', priority: 1 },
      { id: 'edit-2', mode: 'edit', priority: 2 },
    ]);
    // edit-1 stores every byte, then its answer is lost (killed before replying) and it stays down.
    const { real, back } = diesAfterStoring(directory, se['edit-1']!, 'edit-1');
    const file = await upload.execute(aPrincipal(), command(), () => source(CONTENT));
    expect((await catalog.get(file.fileId))?.copies.map((c) => c.seId)).toEqual(['edit-2']);
    // The client has its answer and the upload saga is done: the stray copy is a discard saga's,
    // which holds no file id, so the file's next change is not refused meanwhile.
    expect((await real.info()).fileCount).toBe(1);
    const sagasOf = async (kind: string) =>
      (await sagaStore.list({ limit: 10, cursor: null })).items.filter((s) => s.kind === kind);
    expect(await sagasOf('upload')).toEqual([
      expect.objectContaining({ status: 'done', payload: expect.objectContaining({ strays: ['edit-1'] }) }),
    ]);
    const [saga] = await sagasOf('discard');
    expect(saga).toMatchObject({ status: 'running', fileId: null, payload: { seIds: ['edit-1'] } });

    back();
    clock.advance(60_000);
    await sagas.recover(
      sagaResumer({
        directory,
        catalog,
        events: new MemoryEventBus(),
        sagas,
        restored: new MemoryRestoredCopies(),
        clock,
      }),
    );
    expect((await sagaStore.get(saga!.id))?.status).toBe('done');
    expect((await real.info()).fileCount).toBe(0);
    expect(await readAll((await se['edit-2']!.service.open(file.fileId)).stream)).toEqual(CONTENT);
  });
});

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);

/** Yields `chunks` chunks of `size` bytes, counting how many were pulled. */
function counted(chunks: number, size: number): Readable & { pulled: () => number } {
  let pulled = 0;
  const stream = Readable.from(
    (function* () {
      for (let i = 0; i < chunks; i += 1) {
        pulled += 1;
        yield Buffer.alloc(size, 1);
      }
    })(),
    { objectMode: false },
  );
  return Object.assign(stream, { pulled: () => pulled });
}

describe('UploadDocument validation', () => {
  it('keeps the original name beside the sanitised one, and null when nothing changed', async () => {
    const { upload } = await setup([...TWO]);
    const rewritten = await upload.execute(
      aPrincipal(),
      command({ name: '../../etc/passwd' }),
      source(CONTENT),
    );
    expect(rewritten).toMatchObject({ name: 'passwd', originalName: '../../etc/passwd' });
    const kept = await upload.execute(aPrincipal(), command({ name: 'Отчёт.pdf' }), source(CONTENT));
    expect(kept).toMatchObject({ name: 'Отчёт.pdf', originalName: null });
  });

  it('records the sniffed type beside the declared one', async () => {
    const { upload } = await setup([...TWO]);
    const png = await upload.execute(
      aPrincipal(),
      command({ contentType: 'text/plain', expect: { size: PNG.length } }),
      source(PNG),
    );
    expect(png).toMatchObject({ contentType: 'text/plain', sniffedContentType: 'image/png' });
    const text = await upload.execute(
      aPrincipal(),
      command({ contentType: 'text/plain', expect: { size: 5 } }),
      source('hello'),
    );
    expect(text).toMatchObject({ contentType: 'text/plain', sniffedContentType: null });
  });

  it('refuses an announced size over the limit before reading a byte', async () => {
    const { upload } = await setup([...TWO], undefined, undefined, { maxUploadBytes: 1000 });
    const content = source(CONTENT);
    const attempt = upload.execute(aPrincipal(), command({ expect: { size: 1001 } }), content);
    await expect(attempt).rejects.toMatchObject({ code: 'file_too_large', details: { limit: 1000 } });
    expect(content.readableDidRead).toBe(false);
  });

  it.each<[string, Limits, string | undefined]>([
    ['the global limit', { maxUploadBytes: 100_000 }, undefined],
    [
      "a collection's lower limit",
      { collections: { small: { maxUploadBytes: 100_000, allowedContentTypes: null, compression: null } } },
      'small',
    ],
  ])(
    'cuts off content of unknown size once it passes %s, storing nothing',
    async (_l, limits, collection) => {
      const { upload, se, catalog } = await setup([...TWO], undefined, undefined, limits);
      const content = counted(1000, 16 * 1024);
      const attempt = upload.execute(aPrincipal(), command({ collection, expect: { size: null } }), content);
      await expect(attempt).rejects.toMatchObject({ code: 'file_too_large', details: { limit: 100_000 } });
      // The SE was writing when the limit was passed; it stopped within a few chunks.
      expect(content.pulled()).toBeLessThan(100);
      expect(se['edit-1']!.blobs.objects.size).toBe(0);
      expect(await se['edit-1']!.index.stats('edit-1')).toEqual({ files: 0, bytes: 0 });
      expect((await catalog.search({ text: '', cursor: null, limit: 10 })).items).toEqual([]);
    },
  );

  it('takes a file of exactly the limit', async () => {
    const { upload } = await setup([...TWO], undefined, undefined, { maxUploadBytes: CONTENT.length });
    const file = await upload.execute(aPrincipal(), command({ expect: { size: null } }), source(CONTENT));
    expect(file.size).toBe(CONTENT.length);
  });

  it('applies a collection allow-list to the sniffed type, else the declared one', async () => {
    const texts = {
      allowedContentTypes: ['text/*', 'application/pdf'],
      maxUploadBytes: null,
      compression: null,
    };
    const { upload, se } = await setup([...TWO], undefined, undefined, { collections: { texts } });
    const png = upload.execute(
      aPrincipal(),
      command({ collection: 'texts', contentType: 'text/plain', expect: { size: PNG.length } }),
      source(PNG),
    );
    await expect(png).rejects.toMatchObject({
      code: 'content_type_not_allowed',
      details: { content_type: 'image/png' },
    });
    const declared = upload.execute(
      aPrincipal(),
      command({ collection: 'texts', contentType: 'application/json', expect: { size: 2 } }),
      source('{}'),
    );
    await expect(declared).rejects.toMatchObject({
      code: 'content_type_not_allowed',
      details: { content_type: 'application/json' },
    });
    expect(se['edit-1']!.blobs.objects.size).toBe(0);
    const ok = await upload.execute(
      aPrincipal(),
      command({ collection: 'texts', contentType: 'text/csv', expect: { size: 3 } }),
      source('a,b'),
    );
    expect(ok.collection).toBe('texts');
    // Other collections are not restricted.
    await upload.execute(
      aPrincipal(),
      command({ contentType: 'image/png', expect: { size: PNG.length } }),
      source(PNG),
    );
  });
});

describe('UploadDocument validation of a reopenable (staged) content', () => {
  it('sniffs from a first opening and stores from another', async () => {
    const { upload } = await setup([...TWO]);
    let opened = 0;
    const file = await upload.execute(
      aPrincipal(),
      command({ contentType: 'text/plain', expect: { size: PNG.length } }),
      () => {
        opened += 1;
        return source(PNG);
      },
    );
    expect(file).toMatchObject({ sniffedContentType: 'image/png', size: PNG.length });
    expect(opened).toBe(2);
  });

  it('limits every opening', async () => {
    const { upload, se } = await setup([...TWO], undefined, undefined, { maxUploadBytes: 100_000 });
    const attempt = upload.execute(aPrincipal(), command({ expect: { size: null } }), () =>
      counted(1000, 16 * 1024),
    );
    await expect(attempt).rejects.toMatchObject({ code: 'file_too_large' });
    expect(se['edit-1']!.blobs.objects.size).toBe(0);
  });
});

const eio = (): Error => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });

/** A medium that fails every sidecar write and every removal while `failing`. */
class FailingMedium extends MemoryBlobStore {
  failing = false;

  override async put(key: string, content: Readable | Buffer) {
    if (this.failing && isSidecarKey(key)) throw eio();
    return super.put(key, content);
  }

  override async delete(key: string): Promise<void> {
    if (this.failing) throw eio();
    await super.delete(key);
  }
}

/** A log on the same failing disk: it takes no new intent while `failing`. */
class FailingLog extends MemoryWriteAheadLog {
  failing = false;

  override async begin(intent: WalIntent): Promise<void> {
    if (this.failing && intent.op === 'delete') throw eio();
    await super.begin(intent);
  }
}

describe('UploadDocument when an SE cannot undo its copy', () => {
  it('tells the client the upload failed (the SE said its outcome is unknown), and the saga discards the copy once the SE can', async () => {
    const blobs = new FailingMedium();
    const wal = new FailingLog();
    const { upload, se, catalog, sagaStore } = await setup([{ id: 'edit-1', mode: 'edit', blobs, wal }]);
    blobs.failing = true;
    wal.failing = true;
    const attempt = upload.execute(aPrincipal(), command(), source(CONTENT));
    await expect(attempt).rejects.toMatchObject({
      code: 'storage_unavailable',
      cause: { code: 'write_outcome_unknown' },
    });
    const [saga] = (await sagaStore.list({ limit: 10, cursor: null })).items;
    expect(saga).toMatchObject({ kind: 'upload', status: 'compensating' });
    expect(await catalog.get(saga!.fileId!)).toBeNull();
    // The SE still holds the blob it could not remove; discard, which the compensation retries, removes it.
    expect(blobs.objects.size).toBe(1);
    blobs.failing = false;
    wal.failing = false;
    await se['edit-1']!.service.discard(saga!.fileId!);
    expect(blobs.objects.size).toBe(0);
  });
});

describe('UploadDocument with a small direct upload', () => {
  it('moves to the next SE when the first fails part-way: the content is held whole', async () => {
    // The first SE's medium is smaller than the content; the size is not announced, so it
    // accepts, runs out of space while writing, and the second SE gets the same bytes.
    const { upload, se, catalog } = await setup([
      { id: 'edit-small', mode: 'edit', priority: 1, totalBytes: CONTENT.length - 5, capacityBytes: null },
      { id: 'edit-big', mode: 'edit', priority: 2 },
    ]);
    const file = await upload.execute(aPrincipal(), command({ expect: { size: null } }), source(CONTENT));
    expect((await catalog.get(file.fileId))?.copies.map((c) => c.seId)).toEqual(['edit-big']);
    expect(await readAll((await se['edit-big']!.service.open(file.fileId)).stream)).toEqual(CONTENT);
    expect((await se['edit-small']!.service.info()).fileCount).toBe(0);
  });

  it('discards a file nobody was given without its retention; a client delete of it is refused', async () => {
    const { upload, catalog, sagaStore, se, lifecycle, auditLog } = await setup([...TWO]);
    const file = await upload.execute(
      aPrincipal(),
      command({ retentionPolicy: 'permanent', retainUntil: new Date(T0.getTime() + 30 * DAY) }),
      source(CONTENT),
    );
    const deletes = new DeleteDocument(lifecycle);
    await expect(deletes.execute(aPrincipal(), file.fileId)).rejects.toMatchObject({
      code: 'retention_active',
    });
    await deletes.discard(file.fileId, 'a duplicate');
    expect((await catalog.get(file.fileId))?.file.status).toBe('deleted');
    const [entry] = (await auditLog.query({ cursor: null, limit: 10 })).items.filter(
      (e) => e.outcome === 'success',
    );
    expect(entry).toMatchObject({
      actor: { kind: 'system' },
      action: 'file.deleted',
      target: file.fileId,
      details: { reason: 'a duplicate' },
    });
    // The copies go behind the answer.
    const [saga] = await eventually(
      async () => (await sagaStore.list({ kind: 'delete', limit: 1, cursor: null })).items,
      (items) => items[0]?.status !== 'running',
    );
    expect(saga).toMatchObject({ status: 'done', error: null });
    expect((await catalog.get(file.fileId))?.copies).toEqual([]);
    expect(await se['rw-1']!.service.head(file.fileId).catch((e: ApplicationError) => e.code)).toBe(
      'file_not_found',
    );
  });

  it('finalize discards the copy of an rw SE that died after storing it, with the temporary copies, once that SE is back', async () => {
    const { upload, catalog, clock, sagas, sagaStore, directory, se, lifecycle } = await setup([
      { id: 'edit-1', mode: 'edit' },
      { id: 'rw-1', mode: 'rw', priority: 1 },
      { id: 'rw-2', mode: 'rw', priority: 2 },
      { id: 'rw-3', mode: 'rw', priority: 3 },
    ]);
    const file = await upload.execute(aPrincipal(), command(), source(CONTENT));
    // rw-1 stores the copy, then its answer is lost (killed before replying) and it stays down.
    const { real, back } = diesAfterStoring(directory, se['rw-1']!, 'rw-1');
    await new FinalizeDocument({ replication: 2, staleAfterMs: 15_000 }, lifecycle).execute(
      aPrincipal(),
      file.fileId,
      {},
    );
    expect((await catalog.get(file.fileId))!.copies.map((c) => c.seId).sort()).toEqual(['rw-2', 'rw-3']);
    // The stray is the finalize saga's to discard, under its hold on the file (no later finalize
    // can write there meanwhile): it waits for rw-1.
    expect((await real.info()).fileCount).toBe(1);
    const [saga] = (await sagaStore.list({ kind: 'finalize', limit: 1, cursor: null })).items;
    expect(saga).toMatchObject({ status: 'running', step: 2, payload: { strays: ['rw-1'] } });
    expect(saga!.error).toContain('rw-1');

    back();
    clock.advance(60_000);
    await sagas.recover(sagaResumer({ ...lifecycle, restored: new MemoryRestoredCopies() }));
    expect((await sagaStore.get(saga!.id))?.status).toBe('done');
    expect((await real.info()).fileCount).toBe(0);
    expect((await se['edit-1']!.service.info()).fileCount).toBe(0);
  });
});
