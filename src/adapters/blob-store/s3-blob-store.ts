import type { Readable } from 'node:stream';
import { CopyDestinationOptions, CopySourceOptions, type Client } from 'minio';
import {
  BlobBackendUnavailable,
  BlobNotFound,
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type IncompleteWrite,
} from '../../application/ports/blob-store';

export interface S3BlobStoreOptions {
  readonly client: Client;
  readonly bucket: string;
  /** The storage element's place in the bucket; '' or a path ending in '/' is added if missing. */
  readonly prefix: string;
  /** Bytes buffered per multipart part (S3: at least 5 MiB, at most 10 000 parts). */
  readonly partSize?: number;
}

const MiB = 1024 * 1024;
const MAX_SINGLE_COPY = 5 * 1024 * MiB;
const isMissing = (error: unknown): boolean => {
  const code = (error as { code?: string }).code;
  return code === 'NoSuchKey' || code === 'NotFound';
};

/**
 * A failure of an S3 call during a put is the backend's, told apart from the content stream's own
 * errors (a client hanging up has the same errno as an S3 endpoint resetting).
 */
function backend<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    throw new BlobBackendUnavailable(error);
  });
}

/**
 * BlobStore on an S3 bucket prefix. An S3 object becomes visible only when its PUT or its
 * CompleteMultipartUpload succeeds, so a put replaces atomically. The multipart upload is driven
 * here rather than by minio's putObject: that one resumes whatever older upload of the key it
 * finds (a concurrent put's, too), never aborts on failure, and does not listen to the source
 * stream's errors. One part is buffered at a time; a failed put aborts its own upload.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;

  constructor(options: S3BlobStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix =
      options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.partSize = options.partSize ?? 16 * MiB;
    if (this.partSize < 5 * MiB) throw new Error('S3 multipart parts must be at least 5 MiB');
  }

  /** Creates the bucket when it is missing (start-up). */
  async ensureBucket(): Promise<void> {
    if (!(await this.client.bucketExists(this.bucket))) await this.client.makeBucket(this.bucket);
  }

  private objectName(key: string): string {
    if (key.length === 0) throw new Error('invalid blob key ""');
    return this.prefix + key;
  }

  async put(key: string, source: Readable | Buffer): Promise<BlobStat> {
    const name = this.objectName(key);
    let uploadId: string | null = null;
    const parts: { part: number; etag: string }[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    const flushPart = async (): Promise<void> => {
      uploadId ??= await backend(this.client.initiateNewMultipartUpload(this.bucket, name, {}));
      const payload = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      const part = parts.length + 1;
      const { etag } = await backend(
        this.client.uploadPart(
          { bucketName: this.bucket, objectName: name, uploadID: uploadId, partNumber: part, headers: {} },
          payload,
        ),
      );
      parts.push({ part, etag });
    };
    try {
      const chunks: Iterable<Buffer> | AsyncIterable<Buffer> = Buffer.isBuffer(source)
        ? [source]
        : (source as AsyncIterable<Buffer>);
      for await (const chunk of chunks) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        size += chunk.length;
        if (pendingBytes >= this.partSize) await flushPart();
      }
      if (uploadId === null) {
        // Everything fitted in one part: a single PUT, no multipart round trips.
        await backend(this.client.putObject(this.bucket, name, Buffer.concat(pending), size));
        return { size };
      }
      if (pendingBytes > 0) await flushPart();
      await backend(this.client.completeMultipartUpload(this.bucket, name, uploadId, parts));
      return { size };
    } catch (error) {
      if (uploadId !== null)
        await this.client.abortMultipartUpload(this.bucket, name, uploadId).catch(() => undefined);
      throw error;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const name = this.objectName(key);
    try {
      return range
        ? await this.client.getPartialObject(this.bucket, name, range.start, range.end - range.start + 1)
        : await this.client.getObject(this.bucket, name);
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFound(key);
      throw error;
    }
  }

  async read(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.get(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const info = await this.client.statObject(this.bucket, this.objectName(key));
      return { size: info.size };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** S3 DeleteObject answers 204 for a missing key too. */
  async delete(key: string): Promise<void> {
    await this.client.removeObject(this.bucket, this.objectName(key));
  }

  /** ListObjectsV2 lists completed objects only; multipart uploads in flight never appear. */
  async *list(prefix = ''): AsyncIterable<string> {
    const stream = this.client.listObjectsV2(this.bucket, this.prefix + prefix, true);
    for await (const item of stream as AsyncIterable<{ name?: string }>) {
      if (item.name !== undefined) yield item.name.slice(this.prefix.length);
    }
  }

  /** Every multipart upload under `prefix` (an object name), page after page. */
  private async *uploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const page = await this.client.listIncompleteUploadsQuery(
        this.bucket,
        prefix,
        keyMarker,
        uploadIdMarker,
        '',
      );
      yield* page.uploads as { key: string; uploadId: string; initiated: Date }[];
      if (!page.isTruncated) return;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  /** Aborts every multipart upload of exactly this key (a crashed put leaves one behind). */
  async discardIncomplete(key: string): Promise<void> {
    const name = this.objectName(key);
    for await (const upload of this.uploads(name)) {
      if (upload.key === name) await this.client.abortMultipartUpload(this.bucket, name, upload.uploadId);
    }
  }

  async *listIncomplete(): AsyncIterable<IncompleteWrite> {
    for await (const upload of this.uploads(this.prefix)) {
      yield { key: upload.key.slice(this.prefix.length), startedAt: new Date(upload.initiated) };
    }
  }

  /**
   * A server-side copy, then DeleteObject: the copy is complete before the source goes. One
   * CopyObject takes at most 5 GiB; larger objects are copied part by part (UploadPartCopy).
   */
  async move(from: string, to: string): Promise<void> {
    const source = this.objectName(from);
    const target = this.objectName(to);
    const stat = await this.stat(from);
    if (!stat) throw new BlobNotFound(from);
    try {
      if (stat.size <= MAX_SINGLE_COPY) {
        await this.client.copyObject(this.bucket, target, `/${this.bucket}/${source}`);
      } else {
        await this.client.composeObject(new CopyDestinationOptions({ Bucket: this.bucket, Object: target }), [
          new CopySourceOptions({ Bucket: this.bucket, Object: source }),
        ]);
      }
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFound(from);
      throw error;
    }
    await this.client.removeObject(this.bucket, source);
  }

  /** S3 has no medium size. */
  async space(): Promise<null> {
    return null;
  }

  toString(): string {
    return `S3BlobStore(${this.bucket}/${this.prefix})`;
  }
}
