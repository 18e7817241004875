/** Recognises a media type from the first bytes of a content (magic numbers). */
export interface ContentSniffer {
  /** The media type the head's signature identifies, or null when it matches none. */
  sniff(head: Buffer): Promise<string | null>;
}
