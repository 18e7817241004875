import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LocalFsBlobStore } from '../../src/adapters/blob-store/local-fs-blob-store';
import type { Orm } from '../../src/adapters/persistence/database';
import { MikroOrmFileIndex } from '../../src/adapters/persistence/mikro-orm-file-index';
import { MikroOrmFixityLog } from '../../src/adapters/persistence/mikro-orm-fixity-log';
import { JsonSidecarCodec } from '../../src/adapters/sidecar/json-sidecar-codec';
import { SystemClock, UuidV7Ids } from '../../src/adapters/system/system-clock';
import { FileStateStore } from '../../src/adapters/wal/file-state-store';
import { FileWriteAheadLog } from '../../src/adapters/wal/file-write-ahead-log';
import type { BlobStore } from '../../src/application/ports/blob-store';
import {
  StorageElementService,
  type StorageElementObserver,
  type StorageElementSettings,
} from '../../src/application/storage/storage-element-service';

export interface LocalElement {
  readonly service: StorageElementService;
  readonly wal: FileWriteAheadLog;
  /** Stops background work and closes the WAL (what the process does on shutdown). */
  close(): Promise<void>;
}

/**
 * A started storage element on its real adapters under `root`: blobs in `<root>/blobs`, the WAL
 * in `<root>/wal`, its mode in `<root>/state.json`, cache rows and fixity checks in PostgreSQL.
 * Opening it again on the same root is a restart.
 */
export async function openLocalElement(
  root: string,
  orm: Orm,
  options: Partial<StorageElementSettings> & {
    readonly observer?: StorageElementObserver;
    /** Another blob store than `<root>/blobs` (an S3 bucket); the WAL and state stay under `root`. */
    readonly blobs?: BlobStore;
  } = {},
): Promise<LocalElement> {
  const { observer, blobs, ...settings } = options;
  const codec = new JsonSidecarCodec();
  const wal = await FileWriteAheadLog.openAt(join(root, 'wal'));
  const service = new StorageElementService(
    {
      id: `se-${randomBytes(3).toString('hex')}`,
      backend: 'local',
      dc: 'dc1',
      priority: 1,
      capacityBytes: null,
      initialMode: 'edit',
      version: 'test',
      ...settings,
    },
    {
      blobs: blobs ?? new LocalFsBlobStore(join(root, 'blobs')),
      wal,
      index: new MikroOrmFileIndex(orm, codec),
      state: new FileStateStore(join(root, 'state.json')),
      sidecars: codec,
      clock: new SystemClock(),
      ids: new UuidV7Ids(),
      fixity: new MikroOrmFixityLog(orm),
      ...(observer ? { observer } : {}),
    },
  );
  await service.start();
  return {
    service,
    wal,
    close: async () => {
      await service.stop();
      await wal.close();
    },
  };
}
