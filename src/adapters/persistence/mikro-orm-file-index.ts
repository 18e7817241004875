import type { FileIndex, Page } from '../../application/ports/file-index';
import type { DocumentAttributes } from '../../domain/document/document';
import { decodeCursor, encodeCursor } from '../memory/cursor';
import type { JsonSidecarCodec } from '../sidecar/json-sidecar-codec';
import type { Orm } from './database';
import { SeFileRow } from './entities';

/** The SE metadata cache in PostgreSQL: one row per active file, holding its sidecar document. */
export class MikroOrmFileIndex implements FileIndex {
  constructor(
    private readonly orm: Orm,
    private readonly codec: JsonSidecarCodec,
  ) {}

  async upsert(seId: string, file: DocumentAttributes): Promise<void> {
    await this.orm.em.getConnection().execute(
      `insert into se_files (se_id, file_id, size, attributes, updated_at) values (?, ?, ?, ?::jsonb, ?)
       on conflict (se_id, file_id) do update
         set size = excluded.size, attributes = excluded.attributes, updated_at = excluded.updated_at`,
      // `size` is the stored size (what the SE's capacity counts); the original is in `attributes`.
      [seId, file.fileId, file.stored.size, JSON.stringify(this.codec.toDocument(file)), file.updatedAt],
    );
  }

  async get(seId: string, fileId: string): Promise<DocumentAttributes | null> {
    const row = await this.orm.em.fork().findOne(SeFileRow, { seId, fileId });
    return row ? this.codec.fromDocument(row.attributes) : null;
  }

  async remove(seId: string, fileId: string): Promise<void> {
    await this.orm.em.fork().nativeDelete(SeFileRow, { seId, fileId });
  }

  async list(
    seId: string,
    options: { cursor: string | null; limit: number },
  ): Promise<Page<DocumentAttributes>> {
    const after = options.cursor ? String(decodeCursor(options.cursor, ['uuid'])[0]) : null;
    const rows = await this.orm.em
      .fork()
      .find(SeFileRow, after ? { seId, fileId: { $gt: after } } : { seId }, {
        orderBy: { fileId: 'asc' },
        limit: options.limit + 1,
      });
    const items = rows.slice(0, options.limit).map((row) => this.codec.fromDocument(row.attributes));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last ? encodeCursor([last.fileId]) : null };
  }

  async stats(seId: string): Promise<{ files: number; bytes: number }> {
    const [row] = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ files: string; bytes: string }[]>(
        'select count(*) as files, coalesce(sum(size), 0) as bytes from se_files where se_id = ?',
        [seId],
      );
    return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  async clear(seId: string): Promise<void> {
    await this.orm.em.fork().nativeDelete(SeFileRow, { seId });
  }
}
