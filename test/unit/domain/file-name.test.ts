import { DomainError } from '../../../src/domain/errors';
import {
  MAX_FILE_NAME_LENGTH,
  sanitizeExtension,
  sanitizeStem,
  splitExtension,
  validateFileName,
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

describe('validateFileName', () => {
  it.each<[string, string]>([
    ['empty', ''],
    ['only spaces', '   '],
    ['longer than 255 characters', 'a'.repeat(MAX_FILE_NAME_LENGTH + 1)],
    ['a slash', 'dir/report.pdf'],
    ['a backslash', 'dir\\report.pdf'],
    ['NUL', 'a\u0000b'],
    ['US (\\u001f)', 'a\u001fb'],
    ['DEL (\\u007f)', 'a\u007fb'],
    ['NEL (\\u0085)', 'a\u0085b'],
    ['a newline', 'a\nb'],
    ['a tab', 'a\tb'],
    ['.', '.'],
    ['..', '..'],
    ['.. with spaces around', ' .. '],
    ['CON', 'CON'],
    ['con (lower case)', 'con'],
    ['nul.txt', 'nul.txt'],
    ['COM1', 'COM1'],
    ['lpt9.tar.gz', 'lpt9.tar.gz'],
    ['AUX.', 'AUX.'],
  ])('rejects %s', (_label, name) => {
    const error = errorOf(() => validateFileName(name));
    expect(error.code).toBe('invalid_file_name');
    expect(error.details).toEqual({ field: 'name' });
  });

  it.each<[string, string]>([
    ['plain', 'report.pdf'],
    ['exactly 255 characters', 'a'.repeat(MAX_FILE_NAME_LENGTH)],
    ['Cyrillic', 'Отчёт за 2024 год.docx'],
    ['CJK', '報告書・最終版.pdf'],
    ['a reserved word inside a longer name', 'console.log'],
    ['a reserved word as extension', 'notes.con'],
    ['dots inside', '...hidden..name...'],
    ['a leading dot', '.env'],
  ])('accepts %s unchanged', (_label, name) => {
    expect(validateFileName(name)).toBe(name);
  });

  it('returns the name NFC-normalised', () => {
    const decomposed = 'Cafe\u0301 re\u0301sume\u0301.txt';
    const result = validateFileName(decomposed);
    expect(result).toBe('Caf\u00e9 r\u00e9sum\u00e9.txt');
    expect(result).toBe(result.normalize('NFC'));
  });

  it('checks the length after normalisation', () => {
    // 255 decomposed pairs are 510 code units, 255 once composed.
    expect(validateFileName('e\u0301'.repeat(255))).toBe('\u00e9'.repeat(255));
  });

  it('trims surrounding whitespace', () => {
    expect(validateFileName('  report.pdf \t')).toBe('report.pdf');
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
