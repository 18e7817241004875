import { fileTypeFromBuffer } from 'file-type';
import type { ContentSniffer } from '../../application/ports/content-sniffer';

/** Magic-number detection by `file-type` (binary formats; plain text has no signature). */
export class FileTypeContentSniffer implements ContentSniffer {
  async sniff(head: Buffer): Promise<string | null> {
    if (head.length === 0) return null;
    return (await fileTypeFromBuffer(head))?.mime ?? null;
  }
}
