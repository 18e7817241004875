import { AsyncLocalStorage } from 'node:async_hooks';
import type { Readable } from 'node:stream';
import { DataStore, Upload } from '@tus/utils';
import type { ChunkChecksum, ResumableUploads } from '../../application/ingester/resumable-uploads';
import type { UploadRecord } from '../../application/ports/upload-store';
import type { Principal } from '../../domain/access/principal';
import type { Logger } from '../telemetry/logger';

/** What one HTTP request hands to the store through @tus/server, which only passes ids along. */
export interface TusRequestContext {
  readonly principal: Principal;
  readonly log?: Logger;
  readonly checksum: ChunkChecksum | undefined;
  /** The error tus caught, kept so the route answers with our problem details. */
  error?: unknown;
}

export const tusRequest = new AsyncLocalStorage<TusRequestContext>();

function current(): TusRequestContext {
  const context = tusRequest.getStore();
  if (!context) throw new Error('a tus store call outside a request');
  return context;
}

export const EXTENSIONS = ['creation', 'creation-with-upload', 'expiration', 'termination', 'checksum'];

export function toTusUpload(record: UploadRecord): Upload {
  return new Upload({
    id: record.id,
    size: record.length ?? undefined,
    offset: record.offset,
    metadata: { ...record.metadata },
    creation_date: record.createdAt.toISOString(),
  });
}

/** @tus/server's DataStore over ResumableUploads: state in the UploadStore, bytes in the StagingArea. */
export class ArtStoreDataStore extends DataStore {
  constructor(private readonly uploads: ResumableUploads) {
    super();
    this.extensions = EXTENSIONS;
  }

  override async create(upload: Upload): Promise<Upload> {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(upload.metadata ?? {})) metadata[key] = value ?? '';
    const record = await this.uploads.create(current().principal, {
      id: upload.id,
      length: upload.size ?? 0,
      metadata,
    });
    upload.creation_date = record.createdAt.toISOString();
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    return toTusUpload(await this.uploads.get(id));
  }

  override write(stream: Readable, id: string, offset: number): Promise<number> {
    return this.uploads.receive(id, offset, stream, current().checksum);
  }

  override async remove(id: string): Promise<void> {
    await this.uploads.terminate(id);
  }

  override async deleteExpired(): Promise<number> {
    return (await this.uploads.sweep()).removed;
  }

  override getExpiration(): number {
    return this.uploads.expiryMs;
  }
}
