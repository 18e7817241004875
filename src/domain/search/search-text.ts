/**
 * Search text the way people type it (PostgreSQL's `websearch_to_tsquery` syntax): words are
 * ANDed, `"quoted words"` form a phrase, `-word` excludes, `or` between two terms offers either.
 * The last plain word also matches as a prefix while it is being typed (type-ahead).
 */
export type SearchTerm =
  | { readonly kind: 'word'; readonly words: readonly string[]; readonly prefix: boolean }
  | { readonly kind: 'phrase'; readonly words: readonly string[] };

/** A term, possibly negated. */
export interface SearchAtom {
  readonly term: SearchTerm;
  readonly negated: boolean;
}

/** An OR of ANDs: every group is a set of atoms that must all hold; any group may match. */
export type SearchExpression = readonly (readonly SearchAtom[])[];

const WORD = /[\p{L}\p{N}]+/gu;
const LOWER_UPPER = /(\p{Ll})(\p{Lu})/gu;
const UPPER_UPPER_LOWER = /(\p{Lu})(\p{Lu}\p{Ll})/gu;
const LETTER_DIGIT = /(\p{L})(\p{N})/gu;
const DIGIT_LETTER = /(\p{N})(\p{L})/gu;

/**
 * The words of a text, lower-cased, split at every non-letter/digit (`_`, `-`, `.`, spaces), at
 * case changes (`AnnualReport` → annual report, `PDFFile` → pdf file) and at letter/digit
 * boundaries (`v2` → v 2). `AnnualReport_2024-v2.pdf` → annual report 2024 v 2 pdf.
 */
export function splitWords(text: string): string[] {
  const separated = text
    .replace(LOWER_UPPER, '$1 $2')
    .replace(UPPER_UPPER_LOWER, '$1 $2')
    .replace(LETTER_DIGIT, '$1 $2')
    .replace(DIGIT_LETTER, '$1 $2');
  return (separated.match(WORD) ?? []).map((w) => w.toLowerCase());
}

/** The plain words of a text (lower-cased, split only at non-letters/digits). */
export function plainWords(text: string): string[] {
  return (text.match(WORD) ?? []).map((w) => w.toLowerCase());
}

/**
 * Parses search text; words with nothing searchable in them are dropped. Text with no searchable
 * word at all gives no groups (callers tell blank text, "no condition", from that: "no match").
 * A group of exclusions only matches whatever lacks them, as in websearch_to_tsquery.
 */
export function parseSearchText(text: string): SearchExpression {
  const tokens: { raw: string; quoted: boolean; negated: boolean }[] = [];
  const pattern = /(-?)"([^"]*)"?|(\S+)/gu;
  for (const match of text.matchAll(pattern)) {
    if (match[2] !== undefined) tokens.push({ raw: match[2], quoted: true, negated: match[1] === '-' });
    else {
      const raw = match[3] ?? '';
      const negated = raw.startsWith('-') && raw.length > 1;
      tokens.push({ raw: negated ? raw.slice(1) : raw, quoted: false, negated });
    }
  }
  const groups: SearchAtom[][] = [[]];
  let lastWord: { group: number; index: number } | null = null;
  for (const [i, token] of tokens.entries()) {
    const current = groups.at(-1)!;
    const isOr = !token.quoted && !token.negated && token.raw.toLowerCase() === 'or';
    if (isOr && current.length > 0 && i < tokens.length - 1) {
      groups.push([]);
      continue;
    }
    const words = plainWords(token.raw);
    if (words.length === 0) continue;
    if (token.quoted || words.length > 1) {
      current.push({ term: { kind: 'phrase', words }, negated: token.negated });
    } else {
      current.push({ term: { kind: 'word', words, prefix: false }, negated: token.negated });
      if (!token.negated) lastWord = { group: groups.length - 1, index: current.length - 1 };
    }
  }
  // Type-ahead: the last token, when it is a plain word, may be unfinished.
  const last = tokens.at(-1);
  if (lastWord && last && !last.quoted && !last.negated && plainWords(last.raw).length === 1) {
    const group = groups[lastWord.group]!;
    const atom = group[lastWord.index]!;
    if (
      lastWord.group === groups.length - 1 &&
      lastWord.index === group.length - 1 &&
      atom.term.kind === 'word'
    )
      group[lastWord.index] = { term: { ...atom.term, prefix: true }, negated: false };
  }
  return groups.filter((g) => g.length > 0);
}
