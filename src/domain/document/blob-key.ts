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

/**
 * Damaged or unexplained objects are moved under this prefix, never deleted: an operator (or a
 * replica repair) decides their fate. Scans of an SE's documents skip it.
 */
export const QUARANTINE_PREFIX = 'quarantine/';

/** One folder per quarantine: its time and a unique suffix, so a repeated quarantine never collides. */
export function quarantineFolder(at: Date, unique: string): string {
  return `${at.toISOString().replaceAll(':', '-')}_${unique}`;
}

export function quarantineKeyFor(key: string, folder: string): string {
  return `${QUARANTINE_PREFIX}${folder}/${key}`;
}

export function isQuarantineKey(key: string): boolean {
  return key.startsWith(QUARANTINE_PREFIX);
}

const FILE_ID_IN_KEY =
  /_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.[\p{L}\p{N}]+)?$/u;

/** The file id a blob key was made for (see blobKeyFor), or null for a key ArtStore did not make. */
export function fileIdOfBlobKey(key: string): string | null {
  return FILE_ID_IN_KEY.exec(key)?.[1] ?? null;
}
