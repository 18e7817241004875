import { DomainError } from '../../../src/domain/errors';
import {
  MAX_FILE_NAME_LENGTH,
  MAX_RAW_FILE_NAME_LENGTH,
  sanitizeExtension,
  sanitizeFileName,
  sanitizeStem,
  splitExtension,
} from '../../../src/domain/document/file-name';

function errorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

describe('sanitizeFileName', () => {
  it.each<[string, string, string]>([
    ['a Unix path traversal', '../../etc/passwd', 'passwd'],
    ['an absolute Unix path', '/var/tmp/report.pdf', 'report.pdf'],
    ['a Windows path', 'C:\\x\\y.pdf', 'y.pdf'],
    ['a UNC path', '\\\\server\\share\\doc.txt', 'doc.txt'],
    ['mixed separators', 'a/b\\c.txt', 'c.txt'],
    ['a reserved device name', 'CON', '_CON'],
    ['a reserved device name with an extension', 'CON.txt', '_CON.txt'],
    ['a reserved name in lower case', 'nul.txt', '_nul.txt'],
    ['COM1', 'COM1', '_COM1'],
    ['LPT9 with two extensions', 'lpt9.tar.gz', '_lpt9.tar.gz'],
    ['a reserved name with a trailing dot', 'AUX.', '_AUX'],
    ['an RTL override', 'invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['bidi isolates and marks', '\u2066a\u2069\u200Eb\u200F.txt', 'ab.txt'],
    ['a BEL', 'bad\u0007name.txt', 'badname.txt'],
    ['NUL, DEL and NEL', 'a\u0000b\u007fc\u0085d', 'abcd'],
    ['newlines and tabs', 'a\nb\tc', 'abc'],
    ['surrounding spaces and dots', '  ..report.pdf. . ', 'report.pdf'],
    ['a leading dot', '.env', 'env'],
    ['a decomposed name', 'Cafe\u0301 re\u0301sume\u0301.txt', 'Caf\u00e9 r\u00e9sum\u00e9.txt'],
  ])('rewrites %s', (_label, raw, expected) => {
    expect(sanitizeFileName(raw)).toBe(expected);
  });

  it.each<[string, string]>([
    ['plain', 'report.pdf'],
    ['exactly 255 characters', 'a'.repeat(MAX_FILE_NAME_LENGTH)],
    ['Cyrillic', 'Отчёт за 2024 год.docx'],
    ['CJK', '報告書・最終版.pdf'],
    ['emoji', '📄 notes 🎉.md'],
    ['a reserved word inside a longer name', 'console.log'],
    ['a reserved word as extension', 'notes.con'],
    ['dots inside', 'a..hidden..name'],
  ])('keeps %s unchanged', (_label, name) => {
    expect(sanitizeFileName(name)).toBe(name);
  });

  it('shortens a long name to 255 characters, keeping its extension', () => {
    const name = sanitizeFileName(`${'x'.repeat(300)}.pdf`);
    expect(name).toHaveLength(MAX_FILE_NAME_LENGTH);
    expect(name).toBe(`${'x'.repeat(251)}.pdf`);
    expect(sanitizeFileName('y'.repeat(300))).toBe('y'.repeat(255));
  });

  it('counts code points, so an astral character is never split', () => {
    const name = sanitizeFileName(`${'😀'.repeat(300)}.txt`);
    expect(Array.from(name)).toHaveLength(MAX_FILE_NAME_LENGTH);
    expect(name.endsWith('😀.txt')).toBe(true);
  });

  it('checks the length after normalisation', () => {
    // 255 decomposed pairs are 510 code units, 255 once composed.
    expect(sanitizeFileName('e\u0301'.repeat(255))).toBe('\u00e9'.repeat(255));
  });

  it.each<[string, string]>([
    ['empty', ''],
    ['only spaces', '   '],
    ['.', '.'],
    ['..', '..'],
    ['a path ending in a separator', 'dir/'],
    ['a path ending in ..', 'a/..'],
    ['only control characters', '\u0000\u0001'],
    ['only an RTL override', '\u202E'],
  ])('refuses a name with nothing left: %s', (_label, raw) => {
    const error = errorOf(() => sanitizeFileName(raw));
    expect(error.code).toBe('invalid_file_name');
    expect(error.details).toEqual({ field: 'name' });
  });

  it('refuses a raw name longer than 1024 characters with file_name_too_long', () => {
    expect(sanitizeFileName('z'.repeat(MAX_RAW_FILE_NAME_LENGTH))).toHaveLength(MAX_FILE_NAME_LENGTH);
    const error = errorOf(() => sanitizeFileName('z'.repeat(MAX_RAW_FILE_NAME_LENGTH + 1)));
    expect(error.code).toBe('file_name_too_long');
    expect(error.details).toEqual({ field: 'name', limit: MAX_RAW_FILE_NAME_LENGTH });
  });
});

describe('splitExtension', () => {
  it.each<[string, string, string | null]>([
    ['report.pdf', 'report', 'pdf'],
    ['archive.tar.gz', 'archive.tar', 'gz'],
    ['README', 'README', null],
    ['.bashrc', '.bashrc', null],
    ['trailing.', 'trailing.', null],
    ['weird.t-x', 'weird.t-x', null],
    ['long.abcdefghijklmnopq', 'long.abcdefghijklmnopq', null],
    ['max.abcdefghijklmnop', 'max', 'abcdefghijklmnop'],
    ['фото.джпг', 'фото', 'джпг'],
    ['a.b c', 'a.b c', null],
  ])('%s → stem %s, extension %s', (name, stem, extension) => {
    expect(splitExtension(name)).toEqual({ stem, extension });
  });
});

describe('sanitizeExtension', () => {
  it.each<[string | null, string | null]>([
    [null, null],
    ['pdf', 'pdf'],
    ['PDF', 'PDF'],
    ['t-x t', 'txt'],
    ['---', null],
    ['', null],
    ['a'.repeat(20), 'a'.repeat(16)],
  ])('%s → %s', (extension, expected) => {
    expect(sanitizeExtension(extension)).toBe(expected);
  });
});

describe('sanitizeStem', () => {
  it.each<[string, string]>([
    ['report', 'report'],
    ['my report (final)', 'my_report_final'],
    ['Отчёт 2024', 'Отчёт_2024'],
    ['報告書', '報告書'],
    ['a-b_c.d', 'a-b_c.d'],
    ['..secret', 'secret'],
    ['.hidden', 'hidden'],
    ['!!!', 'file'],
    ['...', 'file'],
    ['', 'file'],
    ['a/../b', 'a_.._b'],
    ['Cafe\u0301', 'Caf\u00e9'],
  ])('%j → %j', (stem, expected) => {
    expect(sanitizeStem(stem)).toBe(expected);
  });

  it.each([
    ['ASCII', 'a'.repeat(150)],
    ['CJK', '漢'.repeat(150)],
    ['astral', '𝒜'.repeat(150)],
    ['leading dots', `.${'b'.repeat(150)}`],
  ])('keeps at most 100 characters (%s)', (_label, stem) => {
    const result = sanitizeStem(stem);
    expect(Array.from(result).length).toBeLessThanOrEqual(100);
    expect(Array.from(result).length).toBeGreaterThanOrEqual(99);
    expect(result.startsWith('.')).toBe(false);
  });
});
