import { deflateSync } from 'node:zlib';
import { FileTypeContentSniffer } from '../../../src/adapters/sniffing/file-type-content-sniffer';
import { SignatureContentSniffer } from '../../../src/adapters/sniffing/signature-content-sniffer';
import type { ContentSniffer } from '../../../src/application/ports/content-sniffer';
import { contentTypeAllowed } from '../../../src/application/ingester/collection-policy';

/** A real 1×1 PNG (signature, IHDR, IDAT, IEND; CRCs are not checked by sniffers). */
export function onePixelPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from([0, 0]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe.each<[string, ContentSniffer]>([
  ['FileTypeContentSniffer', new FileTypeContentSniffer()],
  ['SignatureContentSniffer', new SignatureContentSniffer()],
])('%s', (_name, sniffer) => {
  it.each<[string, Buffer, string | null]>([
    ['a PNG', onePixelPng(), 'image/png'],
    ['a PDF', Buffer.from('%PDF-1.7\n1 0 obj\n<< >>\nendobj\n'), 'application/pdf'],
    ['plain text', Buffer.from('just some words\n'), null],
    ['nothing', Buffer.alloc(0), null],
  ])('recognises %s', async (_label, head, type) => {
    expect(await sniffer.sniff(head)).toBe(type);
  });
});

describe('contentTypeAllowed', () => {
  it.each<[string, readonly string[] | null, boolean]>([
    ['image/png', null, true],
    ['text/plain', ['text/*'], true],
    ['image/png', ['text/*'], false],
    ['application/pdf', ['text/*', 'application/pdf'], true],
    ['application/pdfx', ['application/pdf'], false],
    ['textual/x', ['text/*'], false],
    ['anything/at-all', ['*/*'], true],
  ])('%s with %j → %s', (type, allowed, ok) => {
    expect(contentTypeAllowed(type, allowed)).toBe(ok);
  });
});
