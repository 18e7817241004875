import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobNotFound, type BlobStore } from '../../src/application/ports/blob-store';

export interface BlobStoreHarness {
  readonly store: BlobStore;
  /** Reopens the backend at the same place (a new process would see this). */
  reopen(): Promise<BlobStore>;
  cleanup(): Promise<void>;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keys(store: BlobStore, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const key of store.list(prefix)) out.push(key);
  return out.sort();
}

/** A source that yields some bytes and then fails, as a dropped client connection does. */
function failingSource(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

/** The behaviour every BlobStore adapter must have (tus-node-server's shared store suites). */
export function describeBlobStoreContract(name: string, open: () => Promise<BlobStoreHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let h: BlobStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const MiB = 1024 * 1024;
    it.each([
      ['0 B', 0],
      ['1 B', 1],
      ['5 MiB - 1', 5 * MiB - 1],
      ['5 MiB', 5 * MiB],
      ['5 MiB + 1', 5 * MiB + 1],
    ])('stores and returns %s byte-identical, from a stream and from a buffer', async (_label, size) => {
      const content = randomBytes(size);
      await expect(
        h.store.put(
          '2026/03/01/streamed.bin',
          Readable.from([content.subarray(0, size >> 1), content.subarray(size >> 1)]),
        ),
      ).resolves.toEqual({ size });
      await expect(h.store.put('2026/03/01/buffered.bin', content)).resolves.toEqual({ size });
      for (const key of ['2026/03/01/streamed.bin', '2026/03/01/buffered.bin']) {
        expect((await collect(await h.store.get(key))).equals(content)).toBe(true);
        expect((await h.store.read(key)).equals(content)).toBe(true);
        await expect(h.store.stat(key)).resolves.toEqual({ size });
      }
    });

    it('serves inclusive ranges at the edges', async () => {
      const content = randomBytes(10_000);
      await h.store.put('a/edges.bin', content);
      const ranges: [number, number][] = [
        [0, 0],
        [0, 9_999],
        [9_999, 9_999],
        [1, 9_998],
        [4_096, 8_191],
      ];
      for (const [start, end] of ranges) {
        const part = await collect(await h.store.get('a/edges.bin', { start, end }));
        expect(part.equals(content.subarray(start, end + 1))).toBe(true);
      }
    });

    it('reports a missing object as BlobNotFound or null, and deleting it is a no-op', async () => {
      await expect(h.store.get('no/such.bin')).rejects.toBeInstanceOf(BlobNotFound);
      await expect(h.store.read('no/such.bin')).rejects.toBeInstanceOf(BlobNotFound);
      await expect(h.store.stat('no/such.bin')).resolves.toBeNull();
      await expect(h.store.delete('no/such.bin')).resolves.toBeUndefined();
    });

    it('deletes durably: gone after reopening', async () => {
      await h.store.put('d/x.bin', Buffer.from('x'));
      await h.store.delete('d/x.bin');
      const reopened = await h.reopen();
      await expect(reopened.stat('d/x.bin')).resolves.toBeNull();
      expect(await keys(reopened)).toEqual([]);
    });

    it('keeps what it acknowledged across a reopen', async () => {
      const content = randomBytes(70_000);
      await h.store.put('p/kept.bin', Readable.from([content]));
      const reopened = await h.reopen();
      expect((await reopened.read('p/kept.bin')).equals(content)).toBe(true);
    });

    it('leaves nothing visible when the source fails part-way, and keeps the previous object', async () => {
      await h.store.put('f/doc.bin', Buffer.from('previous'));
      await expect(h.store.put('f/doc.bin', failingSource(100_000))).rejects.toThrow('client went away');
      await expect(h.store.put('f/new.bin', failingSource(10))).rejects.toThrow('client went away');
      expect((await h.store.read('f/doc.bin')).toString()).toBe('previous');
      await expect(h.store.stat('f/new.bin')).resolves.toBeNull();
      await h.store.discardIncomplete('f/new.bin');
      expect(await keys(h.store)).toEqual(['f/doc.bin']);
    });

    it('replaces an object atomically', async () => {
      await h.store.put('r/x.json', Buffer.from('{"v":1}'));
      await h.store.put('r/x.json', Buffer.from('{"v":2}'));
      expect((await h.store.read('r/x.json')).toString()).toBe('{"v":2}');
    });

    it('takes concurrent writes of different keys', async () => {
      const contents = Array.from({ length: 24 }, (_, i) => randomBytes(1_000 + i * 997));
      await Promise.all(contents.map((c, i) => h.store.put(`c/${i}.bin`, Readable.from([c]))));
      const listed = await keys(h.store, 'c/');
      expect(listed).toHaveLength(24);
      for (const [i, c] of contents.entries())
        expect((await h.store.read(`c/${i}.bin`)).equals(c)).toBe(true);
    });

    it('lists every key under a prefix and nothing else', async () => {
      await h.store.put('2026/03/01/a.bin', Buffer.from('a'));
      await h.store.put('2026/03/01/a.bin.attr.json', Buffer.from('{}'));
      await h.store.put('2026/03/02/b.bin', Buffer.from('b'));
      await h.store.put('2027/01/01/c.bin', Buffer.from('c'));
      expect(await keys(h.store)).toEqual([
        '2026/03/01/a.bin',
        '2026/03/01/a.bin.attr.json',
        '2026/03/02/b.bin',
        '2027/01/01/c.bin',
      ]);
      expect(await keys(h.store, '2026/03/')).toEqual([
        '2026/03/01/a.bin',
        '2026/03/01/a.bin.attr.json',
        '2026/03/02/b.bin',
      ]);
      expect(await keys(h.store, '2026/03/01/a')).toEqual(['2026/03/01/a.bin', '2026/03/01/a.bin.attr.json']);
    });

    it('moves an object to another key durably, and refuses to move a missing one', async () => {
      const content = randomBytes(50_000);
      await h.store.put('2026/03/01/m.bin', Readable.from([content]));
      await h.store.move('2026/03/01/m.bin', 'quarantine/2026-03-02T00-00-00.000Z/2026/03/01/m.bin');
      const reopened = await h.reopen();
      await expect(reopened.stat('2026/03/01/m.bin')).resolves.toBeNull();
      expect(
        (await reopened.read('quarantine/2026-03-02T00-00-00.000Z/2026/03/01/m.bin')).equals(content),
      ).toBe(true);
      await expect(h.store.move('2026/03/01/m.bin', 'elsewhere/m.bin')).rejects.toBeInstanceOf(BlobNotFound);
      expect(await keys(reopened)).toEqual(['quarantine/2026-03-02T00-00-00.000Z/2026/03/01/m.bin']);
    });

    it('lists no incomplete write once puts have settled, failed or not', async () => {
      await h.store.put('i/ok.bin', randomBytes(1000));
      await expect(h.store.put('i/failed.bin', failingSource(100_000))).rejects.toThrow('client went away');
      const incomplete: unknown[] = [];
      for await (const entry of h.store.listIncomplete()) incomplete.push(entry);
      expect(incomplete).toEqual([]);
    });

    it('keeps keys with letters of any script', async () => {
      await h.store.put('2026/03/01/отчёт_итог-1_x.pdf', Buffer.from('r'));
      expect(await keys(h.store)).toEqual(['2026/03/01/отчёт_итог-1_x.pdf']);
    });
  });
}
