import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { spooledContent } from '../../src/application/ingester/spooled-content';
import { FsStagingArea } from '../../src/adapters/staging/fs-staging-area';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artstore-spool-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Reads `count` bytes (or all, when null) from a stream, then leaves it. */
async function take(stream: Readable, count: number | null): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (count !== null && length >= count) break;
  }
  return Buffer.concat(chunks);
}

describe('spooledContent: a large body made re-readable', () => {
  const body = randomBytes(5 * 1024 * 1024 + 123);
  const chunked = (): Readable =>
    Readable.from(
      Array.from({ length: Math.ceil(body.length / 65_536) }, (_, i) =>
        body.subarray(i * 65_536, (i + 1) * 65_536),
      ),
    );

  it('replays what the first reader consumed, then the rest, byte for byte', async () => {
    const spool = spooledContent(chunked(), new FsStagingArea(dir), 'spool-a');
    const first = await take(spool.open(), 2 * 1024 * 1024);
    expect(first.equals(body.subarray(0, first.length))).toBe(true);
    const second = await take(spool.open(), 3 * 1024 * 1024 + 7);
    expect(second.equals(body.subarray(0, second.length))).toBe(true);
    const third = await take(spool.open(), null);
    expect(third.equals(body)).toBe(true);
    await spool.dispose();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a reader that destroys its stream mid-way leaves nothing behind for the next', async () => {
    const source = new PassThrough();
    const spool = spooledContent(source, new FsStagingArea(dir), 'spool-b');
    const first = spool.open();
    const got: Buffer[] = [];
    const failed = new Promise((resolve) => first.once('error', resolve));
    first.on('data', (chunk: Buffer) => {
      got.push(chunk);
      if (got.length === 3) first.destroy(new Error('the SE went away'));
    });
    const firstClosed = new Promise((resolve) => first.once('close', resolve));
    for (let i = 0; i < 8; i += 1) source.write(body.subarray(i * 65_536, (i + 1) * 65_536));
    await firstClosed;
    expect(await failed).toEqual(new Error('the SE went away'));
    const second = take(spool.open(), null);
    source.end(body.subarray(8 * 65_536));
    expect((await second).equals(body)).toBe(true);
    await spool.dispose();
  });

  it("passes the client's error on, and dispose cleans up whatever state the streams are in", async () => {
    const source = new PassThrough();
    const spool = spooledContent(source, new FsStagingArea(dir), 'spool-c');
    const reading = take(spool.open(), null);
    source.write(body.subarray(0, 65_536));
    source.destroy(Object.assign(new Error('client went away'), { code: 'ECONNRESET' }));
    await expect(reading).rejects.toThrow('client went away');
    await spool.dispose();
    expect(await readdir(dir)).toEqual([]);
    expect(() => spool.open()).toThrow('disposed');
  });

  it('an empty spool area directory is created on demand and old leftovers are swept', async () => {
    const area = new FsStagingArea(join(dir, 'spool'));
    expect(await area.removeOlderThan(new Date())).toBe(0);
    await area.create('spool-left');
    expect(await area.removeOlderThan(new Date(Date.now() - 60_000))).toBe(0);
    expect(await area.removeOlderThan(new Date(Date.now() + 60_000))).toBe(1);
    expect(await readdir(join(dir, 'spool'))).toEqual([]);
  });
});
