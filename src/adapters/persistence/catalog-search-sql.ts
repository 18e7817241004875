import type { CatalogSearch, SearchSort, SortOrder } from '../../application/ports/file-catalog';
import type { SearchExpression, SearchTerm } from '../../domain/search/search-text';
import { splitWords } from '../../domain/search/search-text';
import type { SearchPosition } from '../memory/search-cursor';

/** SQL text with `?` placeholders and their values, in order. */
export interface Sql {
  readonly text: string;
  readonly params: unknown[];
}

/** A collection glob (`*`, `?`) as a LIKE pattern with `\` escaping LIKE's own wildcards. */
export function globToLike(glob: string): string {
  return glob
    .replace(/[\\%_]/gu, (c) => `\\${c}`)
    .replaceAll('*', '%')
    .replaceAll('?', '_');
}

const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/**
 * One term as a tsquery: its Russian/English stems OR its exact form ('simple'), the parts of a
 * word with digits in it (`v2` → v <-> 2) as the name index holds them, and, for the word being
 * typed, every lexeme it starts. Words hold letters and digits only, so the prefix text is safe.
 */
function termQuery(term: SearchTerm, params: unknown[]): string {
  if (term.kind === 'phrase') {
    const text = term.words.join(' ');
    params.push(text, text);
    return `(phraseto_tsquery('russian', ?) || phraseto_tsquery('simple', ?))`;
  }
  const word = term.words[0] ?? '';
  const parts = [`plainto_tsquery('russian', ?)`, `plainto_tsquery('simple', ?)`];
  params.push(word, word);
  const split = splitWords(word);
  if (split.length > 1) {
    parts.push(`phraseto_tsquery('simple', ?)`);
    params.push(split.join(' '));
  }
  if (term.prefix) {
    parts.push(`to_tsquery('simple', ?)`);
    params.push(`'${word}':*`);
  }
  return `(${parts.join(' || ')})`;
}

/** The whole search text as one tsquery expression: groups ORed, atoms ANDed, exclusions negated. */
export function tsquery(expression: SearchExpression): Sql {
  const params: unknown[] = [];
  const groups = expression.map(
    (group) =>
      `(${group.map((atom) => (atom.negated ? '!!' : '') + termQuery(atom.term, params)).join(' && ')})`,
  );
  return { text: groups.join(' || '), params };
}

/** The conditions of grants and filters on `file_search f` (no text condition), ANDed. */
export function filterConditions(query: CatalogSearch): Sql {
  const where: string[] = [];
  const params: unknown[] = [];
  const f = query.filters ?? {};
  const statuses = f.statuses ?? ['active'];
  where.push(`f.status in (${placeholders(statuses)})`);
  params.push(...statuses);
  if (query.collectionPatterns) {
    if (query.collectionPatterns.length === 0) where.push('false');
    else {
      where.push(`(${query.collectionPatterns.map(() => "f.collection like ? escape '\\'").join(' or ')})`);
      params.push(...query.collectionPatterns.map(globToLike));
    }
  }
  const add = (condition: string, ...values: unknown[]): void => {
    where.push(condition);
    params.push(...values);
  };
  if (f.collections) add(`f.collection in (${placeholders(f.collections)})`, ...f.collections);
  if (f.contentTypes) add(`f.content_type in (${placeholders(f.contentTypes)})`, ...f.contentTypes);
  if (f.tagsAll) add(`f.tags @> ?::jsonb`, JSON.stringify(f.tagsAll));
  if (f.tagsAny)
    add(
      `exists (select 1 from jsonb_array_elements_text(f.tags) t(tag) where t.tag in (${placeholders(f.tagsAny)}))`,
      ...f.tagsAny,
    );
  if (f.uploader !== undefined) add('f.uploader = ?', f.uploader);
  if (f.sizeMin !== undefined) add('f.size >= ?', f.sizeMin);
  if (f.sizeMax !== undefined) add('f.size <= ?', f.sizeMax);
  if (f.uploadedFrom) add('f.uploaded_at >= ?', f.uploadedFrom);
  if (f.uploadedTo) add('f.uploaded_at <= ?', f.uploadedTo);
  if (f.retention) add('f.retention_policy = ?', f.retention);
  if (f.expiresFrom || f.expiresTo) where.push('f.expires_at is not null');
  if (f.expiresFrom) add('f.expires_at >= ?', f.expiresFrom);
  if (f.expiresTo) add('f.expires_at <= ?', f.expiresTo);
  if (f.seId !== undefined)
    add('exists (select 1 from file_copies c where c.file_id = f.file_id and c.se_id = ?)', f.seId);
  return { text: where.join(' and '), params };
}

/** The sort key column of the inner query (`m.key`). */
export function keyColumn(sort: SearchSort): string {
  if (sort === 'relevance') return 'm.rank';
  if (sort === 'name') return 'm.name collate "C"';
  if (sort === 'size') return 'm.size';
  return 'm.uploaded_at';
}

/** The keyset condition: rows strictly after the cursor's position in the sort's order. */
export function afterPosition(sort: SearchSort, order: SortOrder, at: SearchPosition): Sql {
  const op = order === 'asc' ? '>' : '<';
  const key =
    sort === 'relevance'
      ? '?::real'
      : sort === 'name'
        ? '? collate "C"'
        : sort === 'size'
          ? '?::bigint'
          : '?::timestamptz';
  const value = sort === 'date' ? new Date(Number(at.key)) : at.key;
  return { text: `(${keyColumn(sort)}, m.file_id) ${op} (${key}, ?::uuid)`, params: [value, at.fileId] };
}

/** The text ts_headline marks up: the same fields the index holds, in weight order. */
export const HEADLINE_TEXT = `concat_ws(' ', f.name, f.attributes->>'description',
  (select string_agg(t, ' ') from jsonb_array_elements_text(coalesce(f.attributes->'tags', '[]')) t),
  (select string_agg(v, ' ') from jsonb_each_text(coalesce(f.attributes->'metadata', '{}')) m(k, v)))`;

/** Rank weights for D, C, B, A (metadata, tags, description, name). */
export const RANK_WEIGHTS = '{0.1, 0.2, 0.4, 1.0}';

/**
 * Relevance ranks at most this many matches: the newest ones (see MikroOrmFileCatalog.search).
 * Ranking reads every candidate's tsvector; a word in 10 % of a 1 M-file catalog would otherwise
 * read 100 000 rows per page.
 */
export const RELEVANCE_WINDOW = 200;

/** How many of the newest rows a first relevance page walks looking for a full window. */
export const WALK_ROWS = 20_000;
