import { z } from 'zod';
import { SidecarInvalid, type SidecarCodec } from '../../application/ports/sidecar-codec';
import { FILE_STATUSES, STORED_ENCODINGS, type DocumentAttributes } from '../../domain/document/document';
import { frameIndexProblem } from '../../domain/document/frames';
import { CHUNK_DIGEST_ALGORITHM, chunkDigestsProblem } from '../../domain/document/chunks';
import type { Retention } from '../../domain/retention/retention';
import { CHECKSUM_FIELD, sidecarChecksum } from './sidecar-checksum';

/**
 * docs/sidecar-format.md describes this schema; bump SCHEMA_VERSION and keep a reader for every
 * older one. Version 2 is version 1 plus the `checksum` field, which a version 2 sidecar must carry:
 * no single flipped bit turns the digit 2 into 1, so damage cannot pass for an older sidecar.
 */
export const SCHEMA_VERSION = 2;

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const sha256 = z.string().regex(/^[0-9a-f]{64}$/u);

const retention = z.discriminatedUnion('policy', [
  z.object({ policy: z.literal('temporary'), ttl_days: z.number().int().min(1), expires_at: isoDate }),
  z.object({ policy: z.literal('permanent'), retain_until: isoDate.nullable(), legal_hold: z.boolean() }),
]);

const sidecarV1 = z.object({
  schema_version: z.union([z.literal(1), z.literal(2)]),
  file_id: z.uuid(),
  name: z.string().min(1),
  // Added after version 1 was first written: absent in older sidecars, read as null.
  original_name: z.string().nullable().default(null),
  content_type: z.string().min(1),
  sniffed_content_type: z.string().nullable().default(null),
  size: z.number().int().nonnegative(),
  sha256,
  collection: z.string().min(1),
  uploader: z.string(),
  uploaded_at: isoDate,
  updated_at: isoDate,
  description: z.string().nullable(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.string()),
  retention,
  status: z.enum(FILE_STATUSES),
  attr_version: z.number().int().positive(),
  stored: z.object({
    key: z.string().min(1),
    encoding: z.enum(STORED_ENCODINGS),
    size: z.number().int().nonnegative(),
    sha256,
    // Absent in sidecars written before compression (identity content).
    frames: z
      .object({
        frame_size: z.number().int().positive(),
        stored_sizes: z.array(z.number().int().positive()),
      })
      .nullish(),
    // Absent in sidecars written before chunk digests: such content is verified as before.
    chunks: z
      .object({
        chunk_size: z.number().int().positive(),
        algorithm: z.literal(CHUNK_DIGEST_ALGORITHM),
        digests: z.base64(),
      })
      .nullish(),
  }),
});

/** Stands in for the frame list while pretty-printing, which would give every number its own line. */
const FRAMES_PLACEHOLDER = '\u0000stored_sizes\u0000';

/** Decoded length of valid base64 (padding included), without decoding it. */
function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

function encodeRetention(r: Retention): Record<string, unknown> {
  return r.policy === 'temporary'
    ? { policy: r.policy, ttl_days: r.ttlDays, expires_at: r.expiresAt.toISOString() }
    : { policy: r.policy, retain_until: r.retainUntil?.toISOString() ?? null, legal_hold: r.legalHold };
}

export class JsonSidecarCodec implements SidecarCodec {
  encode(file: DocumentAttributes): Buffer {
    const sizes = file.stored.frames?.storedSizes;
    const document = this.toDocument(file);
    const text = JSON.stringify(
      { ...document, [CHECKSUM_FIELD]: sidecarChecksum(document) },
      (key, value: unknown) => (key === 'stored_sizes' ? FRAMES_PLACEHOLDER : value),
      2,
    );
    // One line for the frame list (a 1 GiB file has 1 024 entries).
    const compact = sizes ? text.replace(JSON.stringify(FRAMES_PLACEHOLDER), JSON.stringify(sizes)) : text;
    return Buffer.from(`${compact}\n`, 'utf8');
  }

  /** Checks the whole sidecar, then its checksum: a sidecar of version 2 on without a matching one is damaged. */
  decode(content: Buffer): DocumentAttributes {
    let raw: unknown;
    try {
      raw = JSON.parse(content.toString('utf8'));
    } catch (error) {
      throw new SidecarInvalid(`not JSON: ${(error as Error).message}`);
    }
    const file = this.fromDocument(raw);
    const document = raw as Record<string, unknown>;
    if (document.schema_version !== 1) {
      const recorded = document[CHECKSUM_FIELD];
      if (typeof recorded !== 'string') throw new SidecarInvalid(`${CHECKSUM_FIELD}: missing`);
      if (recorded !== sidecarChecksum(document))
        throw new SidecarInvalid(`${CHECKSUM_FIELD}: differs from the sidecar's content`);
    }
    return file;
  }

  /**
   * The sidecar as a JSON value without its checksum (also what the PostgreSQL caches keep in
   * their `attributes` column, and what goes between roles: their storage has checks of its own).
   */
  toDocument(file: DocumentAttributes): Record<string, unknown> {
    return {
      schema_version: SCHEMA_VERSION,
      file_id: file.fileId,
      name: file.name,
      original_name: file.originalName,
      content_type: file.contentType,
      sniffed_content_type: file.sniffedContentType,
      size: file.size,
      sha256: file.sha256,
      collection: file.collection,
      uploader: file.uploader,
      uploaded_at: file.uploadedAt.toISOString(),
      updated_at: file.updatedAt.toISOString(),
      description: file.description,
      tags: file.tags,
      metadata: file.metadata,
      retention: encodeRetention(file.retention),
      status: file.status,
      attr_version: file.attrVersion,
      stored: {
        key: file.stored.key,
        encoding: file.stored.encoding,
        size: file.stored.size,
        sha256: file.stored.sha256,
        ...(file.stored.frames
          ? {
              frames: {
                frame_size: file.stored.frames.frameSize,
                stored_sizes: file.stored.frames.storedSizes,
              },
            }
          : {}),
        ...(file.stored.chunks
          ? {
              chunks: {
                chunk_size: file.stored.chunks.chunkSize,
                algorithm: file.stored.chunks.algorithm,
                digests: file.stored.chunks.digests,
              },
            }
          : {}),
      },
    };
  }

  fromDocument(raw: unknown): DocumentAttributes {
    const parsed = sidecarV1.safeParse(raw);
    if (!parsed.success) {
      throw new SidecarInvalid(
        parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      );
    }
    const s = parsed.data;
    const frames = s.stored.frames
      ? { frameSize: s.stored.frames.frame_size, storedSizes: s.stored.frames.stored_sizes }
      : null;
    if ((s.stored.encoding === 'identity') !== (frames === null))
      throw new SidecarInvalid(
        `stored.frames: ${frames ? 'identity content has no frames' : `${s.stored.encoding} content needs a frame index`}`,
      );
    const problem = frames && frameIndexProblem(frames, s.size, s.stored.size);
    if (problem) throw new SidecarInvalid(`stored.frames: ${problem}`);
    const chunks = s.stored.chunks
      ? {
          chunkSize: s.stored.chunks.chunk_size,
          algorithm: s.stored.chunks.algorithm,
          digests: s.stored.chunks.digests,
        }
      : null;
    const chunksProblem =
      chunks &&
      chunkDigestsProblem(
        { chunkSize: chunks.chunkSize, digestBytes: base64Bytes(chunks.digests) },
        s.stored.size,
      );
    if (chunksProblem) throw new SidecarInvalid(`stored.chunks: ${chunksProblem}`);
    return {
      fileId: s.file_id,
      name: s.name,
      originalName: s.original_name,
      contentType: s.content_type,
      sniffedContentType: s.sniffed_content_type,
      size: s.size,
      sha256: s.sha256,
      collection: s.collection,
      uploader: s.uploader,
      uploadedAt: s.uploaded_at,
      updatedAt: s.updated_at,
      description: s.description,
      tags: s.tags,
      metadata: s.metadata,
      retention:
        s.retention.policy === 'temporary'
          ? { policy: 'temporary', ttlDays: s.retention.ttl_days, expiresAt: s.retention.expires_at }
          : { policy: 'permanent', retainUntil: s.retention.retain_until, legalHold: s.retention.legal_hold },
      status: s.status,
      attrVersion: s.attr_version,
      stored: {
        key: s.stored.key,
        encoding: s.stored.encoding,
        size: s.stored.size,
        sha256: s.stored.sha256,
        frames,
        chunks,
      },
    };
  }
}
