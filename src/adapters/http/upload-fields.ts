import { z } from 'zod';
import type { UploadCommand } from '../../application/ingester/upload-document';
import type { ContentExpectations } from '../../application/ports/storage-element-client';
import { ApplicationError } from '../../application/errors';
import { COMPRESSION_POLICIES } from '../../domain/document/compression';
import { MAX_RAW_FILE_NAME_LENGTH } from '../../domain/document/file-name';
import { checkMetadataKey, METADATA_LIMITS } from '../../domain/document/metadata-limits';
import { invalid } from './validation';

export const LIMITS = { nameLength: MAX_RAW_FILE_NAME_LENGTH, ...METADATA_LIMITS } as const;

/**
 * One schema for upload metadata, whether it comes from the query, headers or multipart fields.
 * It checks shapes only: names, description, tags and metadata are checked against their limits
 * by the use case (file-name.ts, metadata-limits.ts), each with its own error code.
 */
const fields = z.strictObject({
  name: z.string().optional(),
  retention_policy: z.string().max(32).optional(),
  ttl_days: z.coerce.number().int().optional(),
  retain_until: z.iso.datetime({ offset: true }).optional(),
  collection: z.string().max(128).optional(),
  description: z.string().optional(),
  tags: z.array(z.string().trim()).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  compression: z.enum(COMPRESSION_POLICIES).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/u, 'must be 64 hex digits')
    .transform((s) => s.toLowerCase())
    .optional(),
});
export type UploadFields = z.infer<typeof fields>;

/** Raw name/value pairs as they arrive; `tags` may repeat or be comma-separated, metadata as `metadata[key]` or JSON. */
export type RawFields = ReadonlyArray<readonly [string, string]>;

export function parseUploadFields(pairs: RawFields): UploadFields {
  // No prototype: a field named __proto__ must be an unknown field, not a prototype assignment.
  const raw = Object.create(null) as Record<string, unknown>;
  const tags: string[] = [];
  const metadata: Record<string, string> = {};
  let sawTags = false;
  let sawMetadata = false;
  const addMetadata = (key: string, value: unknown): void => {
    if (Object.hasOwn(metadata, key)) {
      throw new ApplicationError('invalid_request', `metadata key '${key}' is given more than once`, {
        field: `metadata[${key}]`,
      });
    }
    // Before the assignment: `__proto__` must be refused, not act on the object.
    checkMetadataKey(key);
    metadata[key] = value as string;
  };
  for (const [key, value] of pairs) {
    // PostgreSQL text cannot hold U+0000 (validation.ts, nulField).
    if (key.includes('\u0000') || value.includes('\u0000'))
      throw new ApplicationError('invalid_request', `${key}: must not contain a NUL character (U+0000)`, {
        field: key,
      });
    const metaKey = /^metadata\[(.+)\]$/u.exec(key)?.[1];
    if (metaKey !== undefined) {
      sawMetadata = true;
      addMetadata(metaKey, value);
    } else if (key === 'metadata') {
      sawMetadata = true;
      for (const [k, v] of Object.entries(parseJsonObject(value))) addMetadata(k, v);
    } else if (key === 'tags' || key === 'tags[]') {
      sawTags = true;
      tags.push(...value.split(',').filter((t) => t.trim() !== ''));
    } else if (raw[key] !== undefined) {
      throw new ApplicationError('invalid_request', `field '${key}' is given more than once`, { field: key });
    } else {
      raw[key] = value;
    }
  }
  if (sawTags) raw.tags = tags;
  if (sawMetadata) raw.metadata = metadata;
  const parsed = fields.safeParse(raw);
  if (!parsed.success) throw invalid(parsed.error);
  return parsed.data;
}

function parseJsonObject(value: string): Record<string, string> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, string>;
  } catch {
    // reported below
  }
  throw new ApplicationError('invalid_request', 'metadata must be a JSON object of strings', {
    field: 'metadata',
  });
}

export function toUploadCommand(
  f: UploadFields,
  name: string | undefined,
  contentType: string,
  expect: ContentExpectations,
): UploadCommand {
  const fileName = f.name ?? name;
  if (fileName === undefined || fileName === '') {
    throw new ApplicationError(
      'invalid_request',
      'a file name is required (name field, ArtStore-Name header or Content-Disposition filename)',
      {
        field: 'name',
      },
    );
  }
  return {
    name: fileName,
    contentType,
    collection: f.collection,
    description: f.description,
    tags: f.tags,
    metadata: f.metadata,
    retentionPolicy: f.retention_policy,
    ttlDays: f.ttl_days,
    retainUntil: f.retain_until ? new Date(f.retain_until) : undefined,
    compression: f.compression,
    expect,
  };
}
