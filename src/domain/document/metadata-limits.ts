import { DomainError } from '../errors';

/** Limits on what a client may attach to a document; docs/api.md lists them with their error codes. */
export const METADATA_LIMITS = {
  description: 4096,
  tags: 64,
  tagLength: 128,
  metadataEntries: 64,
  metadataKey: 128,
  metadataValue: 4096,
  /** Description, tags and metadata together, as UTF-8 JSON. */
  totalBytes: 64 * 1024,
} as const;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Keys that would act on an object's prototype rather than be data.
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface DescriptiveFields {
  readonly description: string | null;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Checks a document's description, tags and metadata against METADATA_LIMITS; tags are trimmed and
 * de-duplicated. Each violation has its own code and names the offending field.
 */
export function checkDescriptiveFields(fields: DescriptiveFields): DescriptiveFields {
  const { description, metadata } = fields;
  const L = METADATA_LIMITS;
  if (description !== null && description.length > L.description) {
    fail(
      'description_too_long',
      `description is ${description.length} characters; at most ${L.description}`,
      {
        field: 'description',
        limit: L.description,
      },
    );
  }
  const tags = [...new Set(fields.tags.map((t) => t.trim()).filter((t) => t !== ''))];
  if (tags.length > L.tags) {
    fail('too_many_tags', `${tags.length} tags given; at most ${L.tags}`, { field: 'tags', limit: L.tags });
  }
  for (const tag of tags) {
    if (tag.length > L.tagLength)
      fail('tag_too_long', `tag '${tag.slice(0, 32)}…' is longer than ${L.tagLength} characters`, {
        field: 'tags',
        limit: L.tagLength,
      });
    if (CONTROL.test(tag))
      fail('invalid_tag', `tag ${JSON.stringify(tag)} contains a control character`, { field: 'tags' });
  }
  const entries = Object.entries(metadata);
  if (entries.length > L.metadataEntries) {
    fail(
      'too_many_metadata_entries',
      `${entries.length} metadata entries given; at most ${L.metadataEntries}`,
      {
        field: 'metadata',
        limit: L.metadataEntries,
      },
    );
  }
  for (const [key, value] of entries) {
    checkMetadataKey(key);
    if (value.length > L.metadataValue)
      fail('metadata_value_too_long', `metadata '${key}' is longer than ${L.metadataValue} characters`, {
        field: `metadata[${key}]`,
        limit: L.metadataValue,
      });
  }
  const total = new TextEncoder().encode(JSON.stringify({ description, tags, metadata })).length;
  if (total > L.totalBytes) {
    fail(
      'metadata_too_large',
      `description, tags and metadata take ${total} bytes; at most ${L.totalBytes}`,
      {
        field: 'metadata',
        limit: L.totalBytes,
      },
    );
  }
  return { description, tags, metadata };
}

export function checkMetadataKey(key: string): void {
  const why =
    key.length === 0
      ? 'is empty'
      : key.length > METADATA_LIMITS.metadataKey
        ? `is longer than ${METADATA_LIMITS.metadataKey} characters`
        : RESERVED_KEYS.has(key)
          ? 'is reserved'
          : CONTROL.test(key)
            ? 'contains a control character'
            : null;
  if (why !== null)
    fail('metadata_key_invalid', `metadata key ${JSON.stringify(key.slice(0, 64))} ${why}`, {
      field: `metadata[${key.slice(0, 64)}]`,
    });
}

function fail(code: DomainError['code'], message: string, details: Record<string, unknown>): never {
  throw new DomainError(code, message, details);
}
