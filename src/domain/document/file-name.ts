import { DomainError } from '../errors';

export const MAX_FILE_NAME_LENGTH = 255;
const STEM_LIMIT = 100;
const EXTENSION_LIMIT = 16;

// Control characters (C0, DEL, C1) and path separators never belong in a document name.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]/u;
// Names Windows reserves for devices; a file named like this cannot be restored on Windows.
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/iu;

/**
 * Validates a client-supplied document name and returns it NFC-normalised. Names that are paths
 * or could act as one are refused rather than silently rewritten, so the client learns about it.
 */
export function validateFileName(raw: string): string {
  const name = raw.normalize('NFC').trim();
  const reject = (why: string): never => {
    throw new DomainError('invalid_file_name', `file name ${why}`, { field: 'name' });
  };
  if (name.length === 0) reject('must not be empty');
  if (name.length > MAX_FILE_NAME_LENGTH) reject(`must be at most ${MAX_FILE_NAME_LENGTH} characters`);
  if (FORBIDDEN.test(name)) reject('must not contain path separators or control characters');
  if (name === '.' || name === '..') reject(`must not be '${name}'`);
  if (RESERVED.test(name)) reject(`'${name}' is a reserved device name`);
  return name;
}

/** Splits a name into a stem and an extension (without dot); an extension is short and alphanumeric. */
export function splitExtension(name: string): { stem: string; extension: string | null } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { stem: name, extension: null };
  const extension = name.slice(dot + 1);
  if (extension.length > EXTENSION_LIMIT || !/^[\p{L}\p{N}]+$/u.test(extension))
    return { stem: name, extension: null };
  return { stem: name.slice(0, dot), extension };
}

/**
 * ARCHITECTURE §4: the stem in a blob key keeps letters of any script, digits, `-`, `_`, `.`;
 * at most 100 characters; never empty, never starting with a dot (no hidden or `..` names).
 */
export function sanitizeStem(stem: string): string {
  const cleaned = Array.from(stem.normalize('NFC').replace(/[^\p{L}\p{M}\p{N}._-]+/gu, '_'))
    .slice(0, STEM_LIMIT)
    .join('')
    .replace(/^[._]+/u, '')
    .replace(/_+$/u, '');
  return cleaned.length > 0 ? cleaned : 'file';
}

export function sanitizeExtension(extension: string | null): string | null {
  if (extension === null) return null;
  const cleaned = extension.replace(/[^\p{L}\p{N}]+/gu, '');
  return cleaned.length > 0 ? cleaned.slice(0, EXTENSION_LIMIT) : null;
}
