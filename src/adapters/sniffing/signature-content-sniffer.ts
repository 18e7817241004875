import type { ContentSniffer } from '../../application/ports/content-sniffer';

/** Leading bytes of a few common formats, for a light sniffer without dependencies. */
const SIGNATURES: readonly (readonly [string, Buffer])[] = [
  ['application/pdf', Buffer.from('%PDF-')],
  ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ['image/jpeg', Buffer.from([0xff, 0xd8, 0xff])],
  ['image/gif', Buffer.from('GIF8')],
  ['application/gzip', Buffer.from([0x1f, 0x8b])],
  ['application/zip', Buffer.from([0x50, 0x4b, 0x03, 0x04])],
];

/**
 * A fixed table of signatures: the in-process stand-in for FileTypeContentSniffer in unit tests
 * and wherever its few formats are enough.
 */
export class SignatureContentSniffer implements ContentSniffer {
  sniff(head: Buffer): Promise<string | null> {
    const match = SIGNATURES.find(([, signature]) => head.subarray(0, signature.length).equals(signature));
    return Promise.resolve(match?.[0] ?? null);
  }
}
