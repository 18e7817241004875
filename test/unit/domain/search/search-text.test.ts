import { parseSearchText, splitWords } from '../../../../src/domain/search/search-text';

describe('splitWords', () => {
  it.each([
    ['AnnualReport_2024-v2.pdf', ['annual', 'report', '2024', 'v', '2', 'pdf']],
    ['PDFFile.txt', ['pdf', 'file', 'txt']],
    ['a1b2', ['a', '1', 'b', '2']],
    ['ДоговорПоставки№7.docx', ['договор', 'поставки', '7', 'docx']],
    ["O'Brien's notes", ['o', 'brien', 's', 'notes']],
    ['', []],
  ])('%s → %j', (text, words) => {
    expect(splitWords(text)).toEqual(words);
  });
});

describe('parseSearchText', () => {
  const word = (w: string, prefix = false) => ({
    term: { kind: 'word', words: [w], prefix },
    negated: false,
  });

  it('ANDs words and lets the last one match as a prefix', () => {
    expect(parseSearchText('annual rep')).toEqual([[word('annual'), word('rep', true)]]);
  });

  it('reads quoted phrases, exclusions and or', () => {
    expect(parseSearchText('"annual report" -draft договоры or отчёт')).toEqual([
      [
        { term: { kind: 'phrase', words: ['annual', 'report'] }, negated: false },
        { term: { kind: 'word', words: ['draft'], prefix: false }, negated: true },
        word('договоры'),
      ],
      [word('отчёт', true)],
    ]);
  });

  it('takes a word holding punctuation as a phrase of its parts, never as a prefix', () => {
    expect(parseSearchText("o'brien")).toEqual([
      [{ term: { kind: 'phrase', words: ['o', 'brien'] }, negated: false }],
    ]);
  });

  it('drops what holds nothing searchable; keeps a dangling or as a word', () => {
    expect(parseSearchText('?; --')).toEqual([]);
    expect(parseSearchText('-draft')).toEqual([
      [{ term: { kind: 'word', words: ['draft'], prefix: false }, negated: true }],
    ]);
    expect(parseSearchText('or')).toEqual([[word('or', true)]]);
    expect(parseSearchText('plan or')).toEqual([[word('plan'), word('or', true)]]);
    expect(parseSearchText('plan -x')).toEqual([
      [word('plan'), { term: { kind: 'word', words: ['x'], prefix: false }, negated: true }],
    ]);
  });
});
