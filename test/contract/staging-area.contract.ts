import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { StagingArea } from '../../src/application/ports/staging-area';

export interface StagingAreaHarness {
  readonly staging: StagingArea;
  cleanup(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

const key = (): string => randomBytes(16).toString('hex');

/** The behaviour every StagingArea adapter must have. */
export function describeStagingAreaContract(name: string, open: () => Promise<StagingAreaHarness>): void {
  describe(`StagingArea contract: ${name}`, () => {
    let h: StagingAreaHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(() => h.cleanup());

    it('writes chunks at their positions and reads back the committed prefix', async () => {
      const k = key();
      await h.staging.create(k);
      expect(await h.staging.exists(k)).toBe(true);
      const writer = await h.staging.open(k);
      await writer.write(Buffer.from('hello '), 0);
      await writer.write(Buffer.from('world'), 6);
      await writer.sync();
      await writer.close();
      expect((await readAll(h.staging.read(k, 11))).toString()).toBe('hello world');
      expect((await readAll(h.staging.read(k, 5))).toString()).toBe('hello');
      expect(await readAll(h.staging.read(k, 0))).toEqual(Buffer.alloc(0));
    });

    it('lets a later request overwrite the tail a crashed one left past the committed offset', async () => {
      const k = key();
      await h.staging.create(k);
      const crashed = await h.staging.open(k);
      await crashed.write(Buffer.from('abcdXXXXXXXX'), 0);
      await crashed.close();
      const next = await h.staging.open(k);
      await next.write(Buffer.from('efgh'), 4);
      await next.close();
      expect((await readAll(h.staging.read(k, 8))).toString()).toBe('abcdefgh');
    });

    it('truncates to drop a rejected chunk', async () => {
      const k = key();
      await h.staging.create(k);
      const writer = await h.staging.open(k);
      await writer.write(Buffer.from('keepdrop'), 0);
      await writer.truncate(4);
      await writer.write(Buffer.from('good'), 4);
      await writer.close();
      expect((await readAll(h.staging.read(k, 8))).toString()).toBe('keepgood');
    });

    it('removes staged bytes, twice without complaint, and will not write to a removed file', async () => {
      const k = key();
      await h.staging.create(k);
      await h.staging.remove(k);
      await h.staging.remove(k);
      expect(await h.staging.exists(k)).toBe(false);
      await expect(h.staging.open(k)).rejects.toThrow();
    });
  });
}
