import type { FacetCount, SearchFilters, SearchSort, SortOrder } from '../../application/ports/file-catalog';
import type { DocumentAttributes } from '../../domain/document/document';
import { expiresAt } from '../../domain/retention/retention';
import type { SearchAtom, SearchExpression, SearchTerm } from '../../domain/search/search-text';
import { plainWords, splitWords } from '../../domain/search/search-text';
import type { SearchKey } from './search-cursor';

/** Marks the highlighter puts around a match before the text is HTML-escaped (never typed by anyone). */
export const MARK_START = '\u0002';
export const MARK_END = '\u0003';

/** Escapes the text for HTML and turns the highlighter's marks into `<mark>` elements. */
export function markedSnippet(text: string): string {
  return text
    .replace(/[&<>"]/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c)
    .replaceAll(MARK_START, '<mark>')
    .replaceAll(MARK_END, '</mark>');
}

/** The searchable text of a file in weight order (name, description, tags, metadata values). */
export function searchableFields(file: DocumentAttributes): string[] {
  return [file.name, file.description ?? '', file.tags.join(' '), Object.values(file.metadata).join(' ')];
}

/** Rank weight of a match in each field (name > description > tags > metadata), as in PostgreSQL. */
const WEIGHTS = [1, 0.4, 0.2, 0.1];

/** Word sequences of each field; the name also split at case and digit changes. */
function fieldWords(file: DocumentAttributes): string[][][] {
  return searchableFields(file).map((text, i) =>
    i === 0 ? [splitWords(text), plainWords(text)] : [plainWords(text)],
  );
}

function wordMatches(word: string, term: SearchTerm, candidate: string): boolean {
  return term.kind === 'word' && term.prefix ? candidate.startsWith(word) : candidate === word;
}

function inSequence(term: SearchTerm, words: readonly string[]): boolean {
  const n = term.words.length;
  for (let i = 0; i + n <= words.length; i += 1) {
    if (term.words.every((w, j) => wordMatches(w, term, words[i + j]!))) return true;
  }
  return false;
}

/** The summed weights of the fields a term occurs in, 0 when none. */
function termWeight(term: SearchTerm, fields: string[][][]): number {
  return fields.reduce(
    (sum, sequences, i) => sum + (sequences.some((words) => inSequence(term, words)) ? WEIGHTS[i]! : 0),
    0,
  );
}

/**
 * A simple model of the PostgreSQL search (no morphology): whole words, the last as a prefix,
 * phrases as adjacent words. Null when the file does not match, else its rank.
 */
export function rankOf(expression: SearchExpression, file: DocumentAttributes): number | null {
  const fields = fieldWords(file);
  let rank: number | null = null;
  for (const group of expression) {
    const weights = group.map((atom: SearchAtom) => ({ atom, weight: termWeight(atom.term, fields) }));
    const holds = weights.every(({ atom, weight }) => (atom.negated ? weight === 0 : weight > 0));
    if (holds) rank = (rank ?? 0) + weights.reduce((sum, w) => sum + (w.atom.negated ? 0 : w.weight), 0);
  }
  return rank;
}

/** The searchable text with every word matching a positive term marked. */
export function highlight(expression: SearchExpression, file: DocumentAttributes): string {
  const terms = expression.flat().filter((a) => !a.negated);
  const text = searchableFields(file)
    .filter((t) => t !== '')
    .join(' ');
  const marked = text.replace(/[\p{L}\p{N}]+/gu, (word) => {
    const lower = word.toLowerCase();
    const hit = terms.some(({ term }) =>
      term.words.some((w) => (term.kind === 'word' && term.prefix ? lower.startsWith(w) : lower === w)),
    );
    return hit ? `${MARK_START}${word}${MARK_END}` : word;
  });
  return markedSnippet(marked);
}

function within(value: number, from: number | undefined, to: number | undefined): boolean {
  return (from === undefined || value >= from) && (to === undefined || value <= to);
}

export function passesFilters(file: DocumentAttributes, filters: SearchFilters | undefined): boolean {
  const f = filters ?? {};
  const expiry = expiresAt(file.retention);
  return (
    (f.statuses ?? ['active']).includes(file.status) &&
    (!f.collections || f.collections.includes(file.collection)) &&
    (!f.contentTypes || f.contentTypes.includes(file.contentType)) &&
    (!f.tagsAll || f.tagsAll.every((t) => file.tags.includes(t))) &&
    (!f.tagsAny || f.tagsAny.some((t) => file.tags.includes(t))) &&
    (f.uploader === undefined || f.uploader === file.uploader) &&
    within(file.size, f.sizeMin, f.sizeMax) &&
    within(file.uploadedAt.getTime(), f.uploadedFrom?.getTime(), f.uploadedTo?.getTime()) &&
    (f.retention === undefined || f.retention === file.retention.policy) &&
    ((f.expiresFrom === undefined && f.expiresTo === undefined) ||
      (expiry !== null && within(expiry.getTime(), f.expiresFrom?.getTime(), f.expiresTo?.getTime())))
  );
}

export function sortKey(sort: SearchSort, file: DocumentAttributes, rank: number | null): SearchKey {
  if (sort === 'relevance') return rank ?? 0;
  if (sort === 'name') return file.name;
  if (sort === 'size') return file.size;
  return file.uploadedAt.getTime();
}

/** Compares (key, file id) pairs in the order of the sort; code-unit order for names, like `collate "C"`. */
export function compareKeys(
  order: SortOrder,
  a: { key: SearchKey; fileId: string },
  b: { key: SearchKey; fileId: string },
): number {
  const sign = order === 'asc' ? 1 : -1;
  const byKey = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  const byId = a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0;
  return sign * (byKey || byId);
}

export function countBy(values: readonly string[]): FacetCount[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return sortFacet([...counts].map(([value, count]) => ({ value, count })));
}

/** Largest count first, then by value. */
export function sortFacet(counts: FacetCount[]): FacetCount[] {
  return counts.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
