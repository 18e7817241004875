import { DomainError } from '../../../src/domain/errors';
import {
  checkDescriptiveFields,
  checkMetadataKey,
  METADATA_LIMITS as L,
} from '../../../src/domain/document/metadata-limits';

const none = { description: null, tags: [], metadata: {} };

function codeOf(fn: () => unknown): { code: string; field: unknown } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return { code: (error as DomainError).code, field: (error as DomainError).details.field };
  }
  throw new Error('expected a DomainError');
}

describe('checkDescriptiveFields', () => {
  it('accepts everything exactly at the limits, trimming and de-duplicating tags', () => {
    const tags = Array.from({ length: L.tags - 1 }, (_, i) => `${i}`.padEnd(L.tagLength, 't'));
    const checked = checkDescriptiveFields({
      description: 'd'.repeat(L.description),
      tags: [...tags, ' x ', 'x', '', tags[0]!],
      metadata: { ['k'.repeat(L.metadataKey)]: 'v'.repeat(L.metadataValue) },
    });
    expect(checked.tags).toHaveLength(L.tags);
    expect(checked.tags.at(-1)).toBe('x');
  });

  it.each<[string, Parameters<typeof checkDescriptiveFields>[0], string, string]>([
    [
      'a long description',
      { ...none, description: 'd'.repeat(L.description + 1) },
      'description_too_long',
      'description',
    ],
    [
      'too many tags',
      { ...none, tags: Array.from({ length: L.tags + 1 }, (_, i) => `t${i}`) },
      'too_many_tags',
      'tags',
    ],
    ['a long tag', { ...none, tags: ['t'.repeat(L.tagLength + 1)] }, 'tag_too_long', 'tags'],
    ['a tag with DEL', { ...none, tags: ['a\u007f'] }, 'invalid_tag', 'tags'],
    [
      'too many metadata entries',
      {
        ...none,
        metadata: Object.fromEntries(Array.from({ length: L.metadataEntries + 1 }, (_, i) => [`k${i}`, ''])),
      },
      'too_many_metadata_entries',
      'metadata',
    ],
    [
      'a long metadata value',
      { ...none, metadata: { k: 'v'.repeat(L.metadataValue + 1) } },
      'metadata_value_too_long',
      'metadata[k]',
    ],
    [
      'a total over 64 KiB',
      {
        ...none,
        metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'я'.repeat(2000)])),
      },
      'metadata_too_large',
      'metadata',
    ],
  ])('refuses %s', (_label, fields, code, field) => {
    expect(codeOf(() => checkDescriptiveFields(fields))).toEqual({ code, field });
  });
});

describe('checkMetadataKey', () => {
  it.each(['', '__proto__', 'constructor', 'prototype', 'a\nb', 'a\u0085', 'k'.repeat(L.metadataKey + 1)])(
    'refuses %j with metadata_key_invalid',
    (key) => {
      expect(codeOf(() => checkMetadataKey(key)).code).toBe('metadata_key_invalid');
    },
  );

  it.each(['owner', 'a b', 'ключ', 'x.y-z_1', 'k'.repeat(L.metadataKey)])('accepts %j', (key) => {
    expect(() => checkMetadataKey(key)).not.toThrow();
  });
});
