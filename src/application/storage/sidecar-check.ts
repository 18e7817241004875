import { sidecarKeyFor } from '../../domain/document/blob-key';
import type { DocumentAttributes } from '../../domain/document/document';
import { BlobNotFound, type BlobStore } from '../ports/blob-store';
import { SidecarInvalid, type SidecarCodec } from '../ports/sidecar-codec';

const SIDECAR_MISSING = 'sidecar missing';

/**
 * The scrub's check of a copy's sidecar against the SE's cache row `file`: the sidecar decodes (its
 * checksum holds) and describes the same content. Only fields no update changes are compared, so
 * an update racing the scrub is no damage; they catch rot in a version 1 sidecar, which has no
 * checksum. The problem, or null.
 */
export async function sidecarProblem(
  deps: { readonly blobs: BlobStore; readonly sidecars: SidecarCodec },
  file: DocumentAttributes,
): Promise<string | null> {
  let onDisk: DocumentAttributes;
  try {
    onDisk = deps.sidecars.decode(await deps.blobs.read(sidecarKeyFor(file.stored.key)));
  } catch (error) {
    if (error instanceof BlobNotFound) return SIDECAR_MISSING;
    if (error instanceof SidecarInvalid) return `sidecar: ${error.message}`;
    throw error;
  }
  const differing: string[] = [
    ...(onDisk.fileId === file.fileId ? [] : ['file_id']),
    ...(['size', 'sha256'] as const).filter((field) => onDisk[field] !== file[field]),
    ...(['key', 'encoding', 'size', 'sha256'] as const)
      .filter((field) => onDisk.stored[field] !== file.stored[field])
      .map((field) => `stored.${field}`),
  ];
  return differing.length === 0 ? null : `sidecar: ${differing.join(', ')} differ from the index`;
}
