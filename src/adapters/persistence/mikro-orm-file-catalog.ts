import type {
  CatalogEntry,
  CatalogSearch,
  FileCatalog,
  SearchFacets,
  SearchPage,
} from '../../application/ports/file-catalog';
import { effectiveSort } from '../../application/ports/file-catalog';
import type { DocumentAttributes } from '../../domain/document/document';
import { expiresAt } from '../../domain/retention/retention';
import { parseSearchText, splitWords } from '../../domain/search/search-text';
import { MARK_END, MARK_START, markedSnippet, sortFacet, sortKey } from '../memory/memory-search';
import { decodeSearchCursor, encodeSearchCursor } from '../memory/search-cursor';
import type { JsonSidecarCodec } from '../sidecar/json-sidecar-codec';
import { failpoint } from '../system/failpoints';
import type { Orm } from './database';
import {
  HEADLINE_TEXT,
  RANK_WEIGHTS,
  RELEVANCE_WINDOW,
  WALK_ROWS,
  afterPosition,
  filterConditions,
  keyColumn,
  tsquery,
} from './catalog-search-sql';
import { CatalogFileRow, FileCopyRow } from './entities';

const HEADLINE_OPTIONS = `StartSel="${MARK_START}", StopSel="${MARK_END}", MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "`;

/** The catalog in PostgreSQL: the sidecar document plus the columns queries filter and sort on. */
export class MikroOrmFileCatalog implements FileCatalog {
  constructor(
    private readonly orm: Orm,
    private readonly codec: JsonSidecarCodec,
    /** How many matches relevance ranks at most (tests use a small one). */
    private readonly relevanceWindow = RELEVANCE_WINDOW,
  ) {}

  private row(file: DocumentAttributes) {
    return {
      fileId: file.fileId,
      name: file.name,
      collection: file.collection,
      contentType: file.contentType,
      size: file.size,
      sha256: file.sha256,
      uploader: file.uploader,
      uploadedAt: file.uploadedAt,
      status: file.status,
      retentionPolicy: file.retention.policy,
      expiresAt: expiresAt(file.retention),
      // The chunk digests serve the SE's verified reads only (they live in its sidecar and index):
      // a catalog row, its cache entries and search pages stay small without them.
      attributes: this.codec.toDocument({ ...file, stored: { ...file.stored, chunks: null } }),
      nameWords: splitWords(file.name).join(' '),
    };
  }

  /** One statement (one round trip, one commit): the file row and its copies. */
  async add(entry: CatalogEntry): Promise<void> {
    const row = this.row(entry.file);
    failpoint('db.catalog.before_commit');
    await this.orm.em.getConnection().execute(
      `with file as (
         insert into files (file_id, name, collection, content_type, size, sha256, uploader, uploaded_at,
                            status, retention_policy, expires_at, attributes, name_words)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?) returning file_id)
       insert into file_copies (file_id, se_id, key, created_at)
       select file.file_id, copy.se_id, copy.key, ? from file,
              json_to_recordset(?::json) as copy(se_id text, key text)`,
      [
        row.fileId,
        row.name,
        row.collection,
        row.contentType,
        row.size,
        row.sha256,
        row.uploader,
        row.uploadedAt,
        row.status,
        row.retentionPolicy,
        row.expiresAt,
        JSON.stringify(row.attributes),
        row.nameWords,
        entry.file.updatedAt,
        // JSON, not arrays: the driver would expand an array parameter into a list.
        JSON.stringify(entry.copies.map((c) => ({ se_id: c.seId, key: c.key }))),
      ],
    );
    failpoint('db.catalog.after_commit');
  }

  async restore(entry: CatalogEntry): Promise<void> {
    failpoint('db.catalog.before_commit');
    await this.orm.em.fork().transactional(async (em) => {
      await em.upsert(CatalogFileRow, this.row(entry.file));
      await em.nativeDelete(FileCopyRow, { fileId: entry.file.fileId });
      for (const copy of entry.copies) {
        await em.insert(FileCopyRow, {
          fileId: entry.file.fileId,
          seId: copy.seId,
          key: copy.key,
          createdAt: entry.file.updatedAt,
        });
      }
    });
    failpoint('db.catalog.after_commit');
  }

  /** One statement: the row changes only when the version is newer; `known` tells whether it exists. */
  async update(file: DocumentAttributes): Promise<boolean> {
    const row = this.row(file);
    failpoint('db.catalog.before_commit');
    const [result] = await this.orm.em.getConnection().execute<{ known: boolean }[]>(
      `with changed as (
         update files set name = ?, collection = ?, content_type = ?, status = ?, retention_policy = ?,
                          expires_at = ?, attributes = ?::jsonb, name_words = ?
          where file_id = ? and (attributes->>'attr_version')::int < ?
         returning file_id)
       select exists(select 1 from files where file_id = ?) as known`,
      [
        row.name,
        row.collection,
        row.contentType,
        row.status,
        row.retentionPolicy,
        row.expiresAt,
        JSON.stringify(row.attributes),
        row.nameWords,
        row.fileId,
        file.attrVersion,
        row.fileId,
      ],
    );
    failpoint('db.catalog.after_commit');
    return result?.known === true;
  }

  /** The file and its copies in one query. */
  async get(fileId: string): Promise<CatalogEntry | null> {
    const [row] = await this.orm.em
      .getConnection()
      .execute<{ attributes: Record<string, unknown>; copies: { se_id: string; key: string }[] }[]>(
        `select f.attributes,
              coalesce(json_agg(json_build_object('se_id', c.se_id, 'key', c.key)
                                order by c.created_at, c.se_id) filter (where c.se_id is not null),
                       '[]') as copies
         from files f left join file_copies c on c.file_id = f.file_id
        where f.file_id = ?
        group by f.file_id`,
        [fileId],
      );
    if (!row) return null;
    return {
      file: this.codec.fromDocument(row.attributes),
      copies: row.copies.map((c) => ({ seId: c.se_id, key: c.key })),
    };
  }

  async countUnderReplicated(seId: string, required: number): Promise<number> {
    const [row] = await this.orm.em.getConnection().execute<{ n: string | number }[]>(
      `select count(*) as n from (
         select c.file_id from file_copies c join files f on f.file_id = c.file_id
          where f.status = 'active'
            and c.file_id in (select file_id from file_copies where se_id = ?)
          group by c.file_id having count(*) < ?) short`,
      [seId, required],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Full-text search (see catalog-search-sql.ts): the page is chosen in an inner query over the
   * narrow `file_search` table; the sidecar documents are read and ts_headline runs for the page's
   * rows alone. Relevance ranks a window of candidates: on the first page the newest
   * `relevanceWindow` matches (every match when fewer), on later pages those from the floor the
   * first page fixed (kept in the cursor), so paging stays consistent while files arrive.
   */
  async search(query: CatalogSearch): Promise<SearchPage> {
    const page = await this.searchWith(query, 'walk');
    // The walk over the newest rows found fewer candidates than the window holds: the word is
    // rarer than that, and a GIN lookup of its matches is the cheap way to find them all.
    return page === null ? ((await this.searchWith(query, 'lookup')) as SearchPage) : page;
  }

  /**
   * `walk` (first relevance page only): the window is the first RELEVANCE_WINDOW matches among the
   * newest WALK_ROWS rows, read along the (uploaded_at, file_id) index; null when fewer matched.
   * `lookup`: every match through the GIN index, the newest RELEVANCE_WINDOW of them ranked. The
   * choice is made here, not by the planner: its estimate for a type-ahead prefix is a flat
   * 0.5 % a lexeme, so rare words and 5 % words look alike to it.
   */
  private async searchWith(query: CatalogSearch, strategy: 'walk' | 'lookup'): Promise<SearchPage | null> {
    const { sort, order } = effectiveSort(query);
    const after = query.cursor ? decodeSearchCursor(query.cursor, sort, order) : null;
    const expression = parseSearchText(query.text);
    if (query.text.trim() !== '' && expression.length === 0) return { items: [], nextCursor: null };
    const text = expression.length > 0 ? tsquery(expression) : null;
    const filters = filterConditions(query);
    // The text condition repeats the tsquery rather than reading it from `q`: the planner sees
    // the words and estimates how many rows match (a word in 10 % of the rows walks the date index
    // for the newest candidates, a rare one goes through the GIN index).
    const ranked = text !== null && sort === 'relevance';
    const walk = ranked && !after && strategy === 'walk';
    const params: unknown[] = [...(text?.params ?? [])];
    if (!walk) params.push(...(text?.params ?? []), ...filters.params);
    const rank = (s: string) => `ts_rank_cd('${RANK_WEIGHTS}', ${s}.search_vector, q.query)`;
    const matches = `from file_search f where ${text ? `f.search_vector @@ (${text.text}) and ` : ''}${filters.text}`;
    let sql = `with q as (select ${text ? text.text : "''::tsquery"} as query), `;
    if (ranked) {
      // The candidates, newest first: an index walk on (uploaded_at, file_id) for common words, a
      // GIN lookup for rare ones; either way only the window's rows are read and ranked.
      let candidates = `select f.file_id, f.name, f.size, f.uploaded_at, f.search_vector ${matches}`;
      if (walk) {
        candidates = `select * from (select f.file_id, f.name, f.size, f.uploaded_at, f.search_vector
            from file_search f where ${filters.text} order by f.uploaded_at desc, f.file_id desc limit ?) r
          where r.search_vector @@ (${text.text}) order by r.uploaded_at desc, r.file_id desc limit ?`;
        params.push(...filters.params, WALK_ROWS, ...text.params, this.relevanceWindow);
      } else if (after?.window) {
        candidates += ' and (f.uploaded_at, f.file_id) >= (?::timestamptz, ?::uuid)';
        params.push(new Date(after.window.uploadedAt), after.window.fileId);
      } else if (!after) {
        // `+ interval '0'`: ordered by an expression no index serves, so the matches come from GIN.
        candidates += ` order by f.uploaded_at + interval '0 s' desc, f.file_id desc limit ?`;
        params.push(this.relevanceWindow);
      }
      sql += `c as materialized (${candidates}),
        w as (select c.uploaded_at, c.file_id, count(*) over () as n from c order by c.uploaded_at, c.file_id limit 1),
        m as (select c.file_id, c.name, c.size, c.uploaded_at, ${rank('c')} as rank from c, q),`;
    } else
      sql += `w as (select null::timestamptz as uploaded_at, null::uuid as file_id, 0 as n),
        m as (select f.file_id, f.name, f.size, f.uploaded_at, null::real as rank ${matches}),`;
    sql += ` p as (select * from m`;
    if (after) {
      const condition = afterPosition(sort, order, after);
      sql += ` where ${condition.text}`;
      params.push(...condition.params);
    }
    const direction = order === 'asc' ? 'asc' : 'desc';
    sql += ` order by ${keyColumn(sort)} ${direction}, m.file_id ${direction} limit ?)
      select f.attributes, ${text && sort !== 'relevance' ? `(select ${rank('s')} from file_search s where s.file_id = p.file_id)` : 'p.rank'} as rank,
             ${text ? `ts_headline('russian', ${HEADLINE_TEXT}, q.query, ?)` : 'null'} as snippet,
             w.uploaded_at as window_at, w.file_id as window_id, w.n as window_n
        from p join files f on f.file_id = p.file_id cross join q left join w on true
       order by ${keyColumn(sort).replace('m.', 'p.')} ${direction}, p.file_id ${direction}`;
    params.push(query.limit + 1);
    if (text) params.push(HEADLINE_OPTIONS);
    const rows = await this.orm.em.getConnection().execute<
      {
        attributes: Record<string, unknown>;
        rank: number | string | null;
        snippet: string | null;
        window_at: Date | string | null;
        window_id: string | null;
        window_n: number | string | null;
      }[]
    >(sql, params);
    if (walk && Number(rows[0]?.window_n ?? 0) < this.relevanceWindow) return null;
    const items = rows.slice(0, query.limit).map((r) => ({
      file: this.codec.fromDocument(r.attributes),
      rank: r.rank === null ? null : Number(r.rank),
      snippet: r.snippet === null ? null : markedSnippet(r.snippet),
    }));
    // The window: the cursor's, or the one this first page found full.
    const first = rows[0];
    const floor =
      after?.window ??
      (!after && first && Number(first.window_n) >= this.relevanceWindow && first.window_at && first.window_id
        ? { uploadedAt: new Date(first.window_at).getTime(), fileId: first.window_id }
        : undefined);
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        rows.length > query.limit && last
          ? encodeSearchCursor(sort, order, {
              key: sortKey(sort, last.file, last.rank),
              fileId: last.file.fileId,
              window: floor,
            })
          : null,
      relevanceWindow: floor
        ? { size: this.relevanceWindow, uploadedFrom: new Date(floor.uploadedAt) }
        : null,
    };
  }

  /** Both facets in one pass over the matches (grouping sets). */
  async facets(query: CatalogSearch): Promise<SearchFacets> {
    const expression = parseSearchText(query.text);
    if (query.text.trim() !== '' && expression.length === 0) return { contentType: [], retention: [] };
    const text = expression.length > 0 ? tsquery(expression) : null;
    const filters = filterConditions(query);
    const rows = await this.orm.em
      .getConnection()
      .execute<{ content_type: string | null; retention_policy: string | null; n: string | number }[]>(
        `select f.content_type, f.retention_policy, count(*) as n
         from file_search f
        where ${text ? `f.search_vector @@ (${text.text}) and ` : ''}${filters.text}
        group by grouping sets ((f.content_type), (f.retention_policy))`,
        [...(text?.params ?? []), ...filters.params],
      );
    const counts = (pick: (r: (typeof rows)[number]) => string | null) =>
      sortFacet(rows.flatMap((r) => (pick(r) === null ? [] : [{ value: pick(r)!, count: Number(r.n) }])));
    return { contentType: counts((r) => r.content_type), retention: counts((r) => r.retention_policy) };
  }
}
