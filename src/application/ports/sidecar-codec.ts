import type { DocumentAttributes } from '../../domain/document/document';

/** The `*.attr.json` format (docs/sidecar-format.md). Decoding validates: sidecars are read back from disk. */
export interface SidecarCodec {
  encode(file: DocumentAttributes): Buffer;
  /** Throws SidecarInvalid for torn, corrupt or unknown-version content. */
  decode(content: Buffer): DocumentAttributes;
}

export class SidecarInvalid extends Error {
  override readonly name = 'SidecarInvalid';
}
