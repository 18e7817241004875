import type { CatalogEntry, CatalogSearch, FileCatalog } from '../../application/ports/file-catalog';
import type { Page } from '../../application/ports/file-index';
import type { DocumentAttributes } from '../../domain/document/document';
import { expiresAt } from '../../domain/retention/retention';
import { decodeCursor, encodeCursor } from '../memory/cursor';
import type { JsonSidecarCodec } from '../sidecar/json-sidecar-codec';
import type { Orm } from './database';
import { CatalogFileRow, FileCopyRow } from './entities';

/** A collection glob (`*`, `?`) as a LIKE pattern with `\` escaping LIKE's own wildcards. */
function globToLike(glob: string): string {
  return glob
    .replace(/[\\%_]/gu, (c) => `\\${c}`)
    .replaceAll('*', '%')
    .replaceAll('?', '_');
}

/** The catalog in PostgreSQL: the sidecar document plus the columns queries filter and sort on. */
export class MikroOrmFileCatalog implements FileCatalog {
  constructor(
    private readonly orm: Orm,
    private readonly codec: JsonSidecarCodec,
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
      attributes: this.codec.toDocument(file),
    };
  }

  /** One statement (one round trip, one commit): the file row and its copies. */
  async add(entry: CatalogEntry): Promise<void> {
    const row = this.row(entry.file);
    await this.orm.em.getConnection().execute(
      `with file as (
         insert into files (file_id, name, collection, content_type, size, sha256, uploader, uploaded_at,
                            status, retention_policy, expires_at, attributes)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb) returning file_id)
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
        entry.file.updatedAt,
        // JSON, not arrays: the driver would expand an array parameter into a list.
        JSON.stringify(entry.copies.map((c) => ({ se_id: c.seId, key: c.key }))),
      ],
    );
  }

  async restore(entry: CatalogEntry): Promise<void> {
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
  }

  /** One statement: the row changes only when the version is newer; `known` tells whether it exists. */
  async update(file: DocumentAttributes): Promise<boolean> {
    const row = this.row(file);
    const [result] = await this.orm.em.getConnection().execute<{ known: boolean }[]>(
      `with changed as (
         update files set name = ?, collection = ?, content_type = ?, status = ?, retention_policy = ?,
                          expires_at = ?, attributes = ?::jsonb
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
        row.fileId,
        file.attrVersion,
        row.fileId,
      ],
    );
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

  /** Name search for now (substring, case-insensitive); newest first with a keyset cursor. */
  async search(query: CatalogSearch): Promise<Page<DocumentAttributes>> {
    const params: unknown[] = [`%${query.text.replace(/[\\%_]/gu, (c) => `\\${c}`)}%`];
    let sql = `select attributes, uploaded_at, file_id from files where status = 'active' and name ilike ?`;
    if (query.collectionPatterns) {
      if (query.collectionPatterns.length === 0) return { items: [], nextCursor: null };
      sql += ` and (${query.collectionPatterns.map(() => "collection like ? escape '\\'").join(' or ')})`;
      params.push(...query.collectionPatterns.map(globToLike));
    }
    if (query.cursor) {
      const [at, id] = decodeCursor(query.cursor, ['millis', 'uuid']);
      sql += ' and (uploaded_at, file_id) < (?, ?)';
      params.push(new Date(Number(at)), String(id));
    }
    sql += ' order by uploaded_at desc, file_id desc limit ?';
    params.push(query.limit + 1);
    const rows = await this.orm.em
      .getConnection()
      .execute<{ attributes: Record<string, unknown> }[]>(sql, params);
    const items = rows.slice(0, query.limit).map((r) => this.codec.fromDocument(r.attributes));
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        rows.length > query.limit && last ? encodeCursor([last.uploadedAt.getTime(), last.fileId]) : null,
    };
  }
}
