import { sanitizeExtension, sanitizeStem, splitExtension } from './file-name';

/**
 * ARCHITECTURE §4: `YYYY/MM/DD/<sanitized-stem>_<file_id>[.<ext>]`, dated by the UTC upload day,
 * so a directory listing is readable without ArtStore.
 */
export function blobKeyFor(fileId: string, name: string, uploadedAt: Date): string {
  const { stem, extension } = splitExtension(name);
  const day = uploadedAt.toISOString().slice(0, 10).replaceAll('-', '/');
  const ext = sanitizeExtension(extension);
  return `${day}/${sanitizeStem(stem)}_${fileId}${ext ? `.${ext}` : ''}`;
}

export const SIDECAR_SUFFIX = '.attr.json';

export function sidecarKeyFor(blobKey: string): string {
  return `${blobKey}${SIDECAR_SUFFIX}`;
}

export function isSidecarKey(key: string): boolean {
  return key.endsWith(SIDECAR_SUFFIX);
}

export function blobKeyOfSidecar(sidecarKey: string): string {
  return sidecarKey.slice(0, -SIDECAR_SUFFIX.length);
}
