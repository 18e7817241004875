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

  async add(entry: CatalogEntry): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      await em.insert(CatalogFileRow, this.row(entry.file));
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

  async get(fileId: string): Promise<CatalogEntry | null> {
    const em = this.orm.em.fork();
    const row = await em.findOne(CatalogFileRow, { fileId });
    if (!row) return null;
    const copies = await em.find(FileCopyRow, { fileId }, { orderBy: { createdAt: 'asc', seId: 'asc' } });
    return {
      file: this.codec.fromDocument(row.attributes),
      copies: copies.map((c) => ({ seId: c.seId, key: c.key })),
    };
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
      .fork()
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
