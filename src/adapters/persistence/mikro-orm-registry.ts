import type { StorageElementRegistry } from '../../application/ports/storage-element-registry';
import type { BlobBackend, StorageElementDescriptor } from '../../domain/storage-element/storage-element';
import type { StorageMode } from '../../domain/storage-mode/storage-mode';
import type { InferEntity } from '@mikro-orm/postgresql';
import type { Orm } from './database';
import { StorageElementRow } from './entities';

type Row = InferEntity<typeof StorageElementRow>;

function toDescriptor(row: Row): StorageElementDescriptor {
  return {
    id: row.id,
    mode: row.mode as StorageMode,
    backend: row.backend as BlobBackend,
    dc: row.dc,
    priority: row.priority,
    capacity: { totalBytes: row.totalBytes, usedBytes: row.usedBytes },
    fileCount: row.fileCount,
    url: row.url,
    lastSeenAt: row.lastSeenAt,
  };
}

export class MikroOrmStorageElementRegistry implements StorageElementRegistry {
  constructor(private readonly orm: Orm) {}

  async announce(se: StorageElementDescriptor): Promise<void> {
    await this.orm.em.fork().upsert(StorageElementRow, {
      id: se.id,
      mode: se.mode,
      backend: se.backend,
      dc: se.dc,
      priority: se.priority,
      totalBytes: se.capacity.totalBytes,
      usedBytes: se.capacity.usedBytes,
      fileCount: se.fileCount,
      url: se.url,
      lastSeenAt: se.lastSeenAt,
    });
  }

  async list(): Promise<StorageElementDescriptor[]> {
    const rows = await this.orm.em.fork().find(StorageElementRow, {}, { orderBy: { id: 'asc' } });
    return rows.map(toDescriptor);
  }

  async get(id: string): Promise<StorageElementDescriptor | null> {
    const row = await this.orm.em.fork().findOne(StorageElementRow, { id });
    return row ? toDescriptor(row) : null;
  }

  async recordMode(id: string, mode: StorageMode): Promise<void> {
    await this.orm.em.fork().nativeUpdate(StorageElementRow, { id }, { mode });
  }
}
