import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { MemoryStagingArea } from '../../../src/adapters/memory/memory-staging-area';
import { MemoryUploadStore } from '../../../src/adapters/memory/memory-upload-store';
import { ApplicationError } from '../../../src/application/errors';
import { eventually } from '../../support/poll';
import { ResumableUploads, type UploadIntent } from '../../../src/application/ingester/resumable-uploads';
import type { UploadCommand, UploadContent } from '../../../src/application/ingester/upload-document';
import type { Principal } from '../../../src/domain/access/principal';
import { aPrincipal, FixedClock, SequenceIds } from '../../support/builders';

const LEASE_MS = 30_000;

interface Call {
  principal: Principal;
  command: UploadCommand;
  content: Buffer;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

interface Shared {
  readonly clock: FixedClock;
  readonly store: MemoryUploadStore;
  readonly staging: MemoryStagingArea;
  readonly catalogued: Set<string>;
  readonly calls: Call[];
  /** Files removed as duplicates nobody holds. */
  readonly discarded: string[];
}

/** `gates`: the nth call to the pipeline waits for the nth promise (a process that stalls). */
function setup(
  options: {
    failWith?: Error;
    gates?: Promise<void>[];
    shared?: Shared;
  } = {},
) {
  const clock = options.shared?.clock ?? new FixedClock();
  const store = options.shared?.store ?? new MemoryUploadStore();
  const staging = options.shared?.staging ?? new MemoryStagingArea();
  const catalogued = options.shared?.catalogued ?? new Set<string>();
  const calls: Call[] = options.shared?.calls ?? [];
  const discarded: string[] = options.shared?.discarded ?? [];
  const ingest = {
    execute: async (principal: Principal, command: UploadCommand, content: UploadContent) => {
      await options.gates?.shift();
      const bytes = await readAll(typeof content === 'function' ? content() : content);
      calls.push({ principal, command, content: bytes });
      if (options.failWith) throw options.failWith;
      catalogued.add(command.fileId!);
      return { fileId: command.fileId } as never;
    },
  };
  const describe = (metadata: Readonly<Record<string, string>>): UploadIntent => {
    if (!metadata.filename) throw new ApplicationError('invalid_request', 'a file name is required');
    return {
      name: metadata.filename,
      contentType: 'application/octet-stream',
      collection: metadata.collection,
      sha256: metadata.sha256,
    };
  };
  const uploads = new ResumableUploads(
    {
      maxUploadBytes: 1000,
      expiryMs: 60_000,
      defaultTtlDays: 30,
      completionLeaseMs: LEASE_MS,
      commitEveryBytes: 4,
    },
    {
      store,
      staging,
      ingest,
      catalog: { get: async (id: string) => (catalogued.has(id) ? ({} as never) : null) },
      clock,
      ids: new SequenceIds(),
      describe,
      discard: async (fileId: string) => {
        catalogued.delete(fileId);
        discarded.push(fileId);
      },
    },
  );
  return { clock, store, staging, catalogued, calls, discarded, uploads };
}

const owner = aPrincipal({ subject: 'svc-owner' });
const digest = (algorithm: string, content: Buffer) => createHash(algorithm).update(content).digest();

describe('ResumableUploads', () => {
  it('validates at creation before anything is staged', async () => {
    const { uploads, staging, store } = setup();
    await expect(uploads.create(owner, { id: 'u1', length: 10, metadata: {} })).rejects.toMatchObject({
      code: 'invalid_request',
    });
    await expect(
      uploads.create(owner, { id: 'u1', length: 1001, metadata: { filename: 'a' } }),
    ).rejects.toMatchObject({ code: 'content_too_large' });
    await expect(
      uploads.create(aPrincipal({ scopes: new Set(['files:read']) }), {
        id: 'u1',
        length: 10,
        metadata: { filename: 'a' },
      }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(
      uploads.create(owner, { id: 'u1', length: 10, metadata: { filename: 'a', collection: 'Bad!' } }),
    ).rejects.toMatchObject({ code: 'invalid_collection' });
    expect(staging.files.size).toBe(0);
    expect(await store.get('u1')).toBeNull();
  });

  it('shows an upload only to its creator', async () => {
    const { uploads } = setup();
    await uploads.create(owner, { id: 'u1', length: 10, metadata: { filename: 'a' } });
    await expect(uploads.find(owner, 'u1')).resolves.toMatchObject({ id: 'u1', owner: 'svc-owner' });
    await expect(uploads.find(aPrincipal({ subject: 'other' }), 'u1')).rejects.toMatchObject({
      code: 'upload_not_found',
    });
  });

  it('commits bytes at their offset; a checksum mismatch drops the chunk and keeps the offset', async () => {
    const { uploads, staging, store } = setup();
    await uploads.create(owner, { id: 'u1', length: 12, metadata: { filename: 'a' } });
    expect(await uploads.receive('u1', 0, Readable.from([Buffer.from('abcd')]))).toBe(4);
    const chunk = Buffer.from('efgh');
    await expect(
      uploads.receive('u1', 4, Readable.from([chunk]), {
        algorithm: 'sha1',
        digest: digest('sha1', Buffer.from('x')),
      }),
    ).rejects.toMatchObject({ code: 'checksum_mismatch' });
    expect((await store.get('u1'))!.offset).toBe(4);
    expect(staging.files.get('u1')!.toString()).toBe('abcd');
    await expect(uploads.receive('u1', 0, Readable.from([chunk]))).rejects.toMatchObject({
      code: 'offset_mismatch',
    });
    expect(
      await uploads.receive('u1', 4, Readable.from([chunk]), {
        algorithm: 'sha256',
        digest: digest('sha256', chunk),
      }),
    ).toBe(8);
  });

  it('keeps what arrived of an interrupted request, unless it was to be checked whole', async () => {
    const { uploads, store, staging } = setup();
    await uploads.create(owner, { id: 'u1', length: 100, metadata: { filename: 'a' } });
    const cut = (): PassThrough => {
      const body = new PassThrough();
      body.write(Buffer.from('0123456789'));
      setImmediate(() => body.destroy(new Error('client went away')));
      return body;
    };
    await expect(uploads.receive('u1', 0, cut())).rejects.toThrow('client went away');
    expect((await store.get('u1'))!.offset).toBe(10);
    await expect(
      uploads.receive('u1', 10, cut(), { algorithm: 'sha1', digest: digest('sha1', Buffer.from('x')) }),
    ).rejects.toThrow('client went away');
    expect((await store.get('u1'))!.offset).toBe(10);
    expect(staging.files.get('u1')!.length).toBe(10);
  });

  it('completes through the ingest pipeline with a reserved file id, once', async () => {
    const { uploads, calls, store, staging } = setup();
    const content = Buffer.from('the whole file');
    const sha256 = createHash('sha256').update(content).digest('hex');
    await uploads.create(owner, {
      id: 'u1',
      length: content.length,
      metadata: { filename: 'a.bin', sha256 },
    });
    await uploads.receive('u1', 0, Readable.from([content]));
    const done = await uploads.complete('u1');
    expect(done).toMatchObject({ status: 'completed', fileId: expect.any(String) });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.command).toMatchObject({
      fileId: done.fileId,
      expect: { size: content.length, sha256 },
    });
    expect(calls[0]!.content.equals(content)).toBe(true);
    expect(calls[0]!.principal.subject).toBe('svc-owner');
    expect(staging.files.has('u1')).toBe(false);
    expect(await uploads.complete('u1')).toMatchObject({ status: 'completed', fileId: done.fileId });
    expect(calls).toHaveLength(1);
    expect(await store.get('u1')).toMatchObject({ status: 'completed', offset: content.length });
  });

  it('after a crash mid-completion: marks completed if the catalog has the file, else stores it again under a new id', async () => {
    const { uploads, store, calls, catalogued, clock } = setup();
    for (const id of ['stored', 'lost']) {
      await uploads.create(owner, { id, length: 3, metadata: { filename: 'a' } });
      await uploads.receive(id, 0, Readable.from([Buffer.from('abc')]));
      await store.transition(id, ['uploading'], {
        status: 'completing',
        fileId: `file-${id}`,
        updatedAt: clock.now(),
      });
    }
    catalogued.add('file-stored');
    // The lease is still live: another process may be completing it.
    expect(await uploads.complete('lost')).toMatchObject({ status: 'completing' });
    expect(calls).toHaveLength(0);
    clock.advance(LEASE_MS + 1);
    expect(await uploads.sweep()).toEqual({ finished: 2, removed: 0 });
    // A new id: the dead attempt's upload saga is undone by discarding 'file-lost' everywhere.
    const [retried] = calls.map((c) => c.command.fileId);
    expect(retried).toEqual(expect.any(String));
    expect(retried).not.toBe('file-lost');
    expect(await store.get('stored')).toMatchObject({ status: 'completed', fileId: 'file-stored' });
    expect(await store.get('lost')).toMatchObject({ status: 'completed', fileId: retried });
  });

  it('a completion taken over from a stalled process leaves the row and the staged bytes to the one that took it, and removes its own file', async () => {
    let releaseFirst!: () => void;
    let releaseSecond!: () => void;
    const first = setup({ gates: [new Promise((resolve) => (releaseFirst = resolve))] });
    await first.uploads.create(owner, { id: 'u1', length: 3, metadata: { filename: 'a' } });
    await first.uploads.receive('u1', 0, Readable.from([Buffer.from('abc')]));
    const stalled = first.uploads.complete('u1');
    await eventually(
      async () => first.store.get('u1'),
      (row) => row?.status === 'completing',
    );
    const firstId = (await first.store.get('u1'))!.fileId;
    // Another ingester, once the lease ran out, takes it over under a new file id.
    first.clock.advance(LEASE_MS + 1);
    const second = setup({ shared: first, gates: [new Promise((resolve) => (releaseSecond = resolve))] });
    const takeover = second.uploads.complete('u1');
    const secondId = (await eventually(
      async () => first.store.get('u1'),
      (row) => row?.fileId !== firstId,
    ))!.fileId;
    expect(secondId).not.toBe(firstId);
    // The stalled one finishes first: it may not mark the row completed nor drop the staged bytes.
    releaseFirst();
    expect(await stalled).toMatchObject({ status: 'completing', fileId: secondId });
    expect(first.staging.files.has('u1')).toBe(true);
    // What it catalogued under its own id is a duplicate nobody was given: removed.
    expect(first.discarded).toEqual([firstId]);
    expect(first.catalogued.has(firstId!)).toBe(false);
    releaseSecond();
    expect(await takeover).toMatchObject({ status: 'completed', fileId: secondId });
    expect(first.staging.files.has('u1')).toBe(false);
    expect(first.catalogued.has(secondId!)).toBe(true);
  });

  it('a content failure marks the upload failed for good; a transient one leaves it to be retried at once', async () => {
    const bad = setup({ failWith: new ApplicationError('digest_mismatch', 'sha256 differs') });
    await bad.uploads.create(owner, { id: 'u1', length: 3, metadata: { filename: 'a' } });
    await bad.uploads.receive('u1', 0, Readable.from([Buffer.from('abc')]));
    await expect(bad.uploads.complete('u1')).rejects.toMatchObject({ code: 'digest_mismatch' });
    expect(await bad.store.get('u1')).toMatchObject({ status: 'failed', error: { code: 'digest_mismatch' } });
    expect(bad.staging.files.has('u1')).toBe(false);

    const down = setup({ failWith: new ApplicationError('storage_unavailable', 'SE down') });
    await down.uploads.create(owner, { id: 'u2', length: 3, metadata: { filename: 'a' } });
    await down.uploads.receive('u2', 0, Readable.from([Buffer.from('abc')]));
    await expect(down.uploads.complete('u2')).rejects.toMatchObject({ code: 'storage_unavailable' });
    const row = await down.store.get('u2');
    expect(row).toMatchObject({ status: 'completing', fileId: expect.any(String) });
    expect(down.staging.files.has('u2')).toBe(true);
    await expect(down.uploads.complete('u2')).rejects.toMatchObject({ code: 'storage_unavailable' });
    // Each attempt under its own id (the failed one's saga was compensated).
    const ids = down.calls.map((c) => c.command.fileId);
    expect(ids[0]).toBe(row!.fileId);
    expect(ids[1]).not.toBe(ids[0]);
    expect((await down.store.get('u2'))?.fileId).toBe(ids[1]);
  });

  it('sweeps expired uploads with their staged bytes; termination removes at once', async () => {
    const { uploads, store, staging, clock } = setup();
    await uploads.create(owner, { id: 'old', length: 10, metadata: { filename: 'a' } });
    clock.advance(30_000);
    await uploads.create(owner, { id: 'young', length: 10, metadata: { filename: 'a' } });
    await uploads.create(owner, { id: 'gone', length: 10, metadata: { filename: 'a' } });
    await uploads.terminate('gone');
    expect(staging.files.has('gone')).toBe(false);
    expect(await store.get('gone')).toBeNull();
    clock.advance(30_001);
    expect(await uploads.sweep()).toEqual({ finished: 0, removed: 1 });
    expect([...staging.files.keys()]).toEqual(['young']);
    expect(await store.get('old')).toBeNull();
  });
});
