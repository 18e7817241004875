import { DomainError } from '../errors';

export const MAX_FILE_NAME_LENGTH = 255;
/** A client name longer than this is refused outright rather than shortened. */
export const MAX_RAW_FILE_NAME_LENGTH = 1024;
const STEM_LIMIT = 100;
const EXTENSION_LIMIT = 16;

// Control characters (C0, DEL, C1) and bidirectional controls (LRM/RLM/ALM, embeddings,
// overrides, isolates): an RTL override makes `evil\u202Efdp.exe` display as `evilexe.pdf`.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
// Names Windows reserves for devices, with or without an extension; such a file cannot be restored there.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/iu;

/**
 * Turns a client-supplied name into a safe document name: the last path component (`/` or `\`),
 * invisible and control characters removed, NFC, no spaces or dots at either end, a reserved
 * device name prefixed with `_`, at most 255 characters with the extension kept. The client's
 * name is kept beside it (`originalName`), so nothing is lost by rewriting it.
 */
export function sanitizeFileName(raw: string): string {
  if (raw.length > MAX_RAW_FILE_NAME_LENGTH) {
    throw new DomainError(
      'file_name_too_long',
      `file name is ${raw.length} characters long; at most ${MAX_RAW_FILE_NAME_LENGTH} are accepted`,
      { field: 'name', limit: MAX_RAW_FILE_NAME_LENGTH },
    );
  }
  const last = raw.split(/[/\\]/u).at(-1) ?? '';
  let name = trimEnds(last.replace(INVISIBLE, '').normalize('NFC'));
  if (RESERVED.test(name)) name = `_${name}`;
  name = limitLength(name);
  if (name.length === 0) {
    throw new DomainError(
      'invalid_file_name',
      `file name '${raw}' has nothing left once path, control characters and surrounding dots and spaces are removed`,
      { field: 'name' },
    );
  }
  return name;
}

function trimEnds(name: string): string {
  return name.replace(/^[\s.]+|[\s.]+$/gu, '');
}

/** Cuts the stem, not the extension, to fit MAX_FILE_NAME_LENGTH code points. */
function limitLength(name: string): string {
  const points = Array.from(name);
  if (points.length <= MAX_FILE_NAME_LENGTH) return name;
  const { extension } = splitExtension(name);
  const suffix = extension === null ? '' : `.${extension}`;
  const stem = points.slice(0, MAX_FILE_NAME_LENGTH - Array.from(suffix).length).join('');
  return `${trimEnds(stem)}${suffix}`;
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
