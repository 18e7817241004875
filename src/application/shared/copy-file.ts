import type { DocumentAttributes, DocumentDraft } from '../../domain/document/document';
import { ApplicationError } from '../errors';
import type { FileCopy } from '../ports/file-catalog';
import type {
  OpenedContent,
  StorageElementClient,
  StorageElementDirectory,
} from '../ports/storage-element-client';

/** How a copy's bytes are read from its SE: `open` for ordinary copies, `openForRestore` for archived ones. */
export type CopyReader = (client: StorageElementClient, fileId: string) => Promise<OpenedContent>;

const openWhole: CopyReader = (client, fileId) => client.open(fileId);

/**
 * Writes one more copy of `file` on `target` from the first of `sources` that can be read. The
 * target verifies the original bytes against the file's size and SHA-256 as they arrive and
 * stores them encoded as the file is (the source serves them decoded). Finalize and restore
 * both copy this way.
 */
export async function copyFile(
  directory: StorageElementDirectory,
  file: DocumentAttributes,
  draft: DocumentDraft,
  sources: readonly FileCopy[],
  target: string,
  read: CopyReader = openWhole,
): Promise<DocumentAttributes> {
  let lastError: unknown = new ApplicationError(
    'storage_unavailable',
    `no copy of ${file.fileId} is readable`,
  );
  for (const source of sources) {
    let opened;
    try {
      opened = await read(directory.client(source.seId), file.fileId);
    } catch (error) {
      lastError = error;
      continue;
    }
    try {
      return await directory
        .client(target)
        .put(
          draft,
          opened.stream,
          { size: file.size, sha256: file.sha256 },
          { encoding: file.stored.encoding },
        );
    } finally {
      opened.stream.destroy();
    }
  }
  throw lastError;
}
