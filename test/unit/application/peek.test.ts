import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { peekStream } from '../../../src/application/shared/peek';

describe('peekStream', () => {
  it('hands back the head and the whole content for a long stream', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.from(`chunk-${i};`));
    const { head, stream } = await peekStream(Readable.from(parts), 20);
    expect(head.toString()).toBe(Buffer.concat(parts).subarray(0, 20).toString());
    expect(await text(stream)).toBe(Buffer.concat(parts).toString());
  });

  it('gives a short content whole as its head', async () => {
    const { head, stream } = await peekStream(Readable.from([Buffer.from('abc')]), 100);
    expect(head.toString()).toBe('abc');
    expect(await text(stream)).toBe('abc');
  });

  it('handles an empty stream', async () => {
    const { head, stream } = await peekStream(Readable.from([]), 100);
    expect(head.length).toBe(0);
    expect(await text(stream)).toBe('');
  });

  it('passes a later source error to the returned stream', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(10, 1));
    const peeked = peekStream(source, 5);
    const { stream } = await peeked;
    const consumed = text(stream);
    source.destroy(new Error('reset'));
    await expect(consumed).rejects.toThrow('reset');
  });

  it('rejects when the source fails before the head is complete', async () => {
    const source = new Readable({ read() {} });
    const peeked = peekStream(source, 100);
    source.destroy(new Error('early'));
    await expect(peeked).rejects.toThrow('early');
  });

  it('rejects at once for a stream destroyed before the peek, instead of waiting forever', async () => {
    const failed = new Readable({ read() {} });
    failed.on('error', () => undefined);
    failed.destroy(new Error('second file'));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(peekStream(failed, 10)).rejects.toThrow('second file');
    const closed = new Readable({ read() {} });
    closed.destroy();
    await expect(peekStream(closed, 10)).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
