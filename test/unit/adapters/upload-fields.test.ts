import { ApplicationError } from '../../../src/application/errors';
import { DomainError } from '../../../src/domain/errors';
import {
  LIMITS,
  parseUploadFields,
  toUploadCommand,
  type RawFields,
} from '../../../src/adapters/http/upload-fields';

function errorOf(fn: () => unknown): ApplicationError {
  try {
    fn();
  } catch (error) {
    expect([ApplicationError, DomainError].some((type) => error instanceof type)).toBe(true);
    return error as ApplicationError;
  }
  throw new Error('expected an ApplicationError, nothing was thrown');
}

const many = (key: string, n: number, value: (i: number) => string): [string, string][] =>
  Array.from({ length: n }, (_, i) => [key, value(i)]);

/** ['m', v] at index i → ['metadata[k<i>]', v]. */
const meta = ([, value]: [string, string], i: number): [string, string] => [`metadata[k${i}]`, value];

describe('parseUploadFields', () => {
  it('reads every known field', () => {
    const fields = parseUploadFields([
      ['name', 'report.pdf'],
      ['retention_policy', 'permanent'],
      ['retain_until', '2030-01-01T00:00:00+02:00'],
      ['collection', 'team-a'],
      ['description', 'Quarterly report'],
      ['sha256', 'AB'.repeat(32)],
    ]);
    expect(fields).toEqual({
      name: 'report.pdf',
      retention_policy: 'permanent',
      retain_until: '2030-01-01T00:00:00+02:00',
      collection: 'team-a',
      description: 'Quarterly report',
      sha256: 'ab'.repeat(32),
    });
  });

  it('returns nothing for no fields', () => {
    expect(parseUploadFields([])).toEqual({});
  });

  it.each<[string, RawFields, string[]]>([
    [
      'repeated',
      [
        ['tags', 'a'],
        ['tags', 'b'],
      ],
      ['a', 'b'],
    ],
    ['comma-separated', [['tags', 'a, b ,c']], ['a', 'b', 'c']],
    [
      'as tags[]',
      [
        ['tags[]', 'x'],
        ['tags[]', 'y,z'],
      ],
      ['x', 'y', 'z'],
    ],
    ['with empty parts', [['tags', ',a,,  ,b,']], ['a', 'b']],
    ['empty', [['tags', '']], []],
  ])('reads tags %s', (_label, pairs, tags) => {
    expect(parseUploadFields(pairs).tags).toEqual(tags);
  });

  it('reads metadata as metadata[key] fields and as a JSON object, together', () => {
    const fields = parseUploadFields([
      ['metadata[owner]', 'bob'],
      ['metadata', '{"dept":"legal","year":"2024"}'],
      ['metadata[a b]', 'spaces ok'],
    ]);
    expect(fields.metadata).toEqual({ owner: 'bob', dept: 'legal', year: '2024', 'a b': 'spaces ok' });
  });

  it.each(['not json', '[1,2]', '"text"', 'null', '42'])('refuses metadata JSON %j', (value) => {
    const error = errorOf(() => parseUploadFields([['metadata', value]]));
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual({ field: 'metadata' });
  });

  it('refuses metadata values that are not strings', () => {
    const error = errorOf(() => parseUploadFields([['metadata', '{"n": 1}']]));
    expect(error.code).toBe('invalid_request');
    expect(error.details.field).toBe('metadata.n');
  });

  it.each(['name', 'collection', 'ttl_days', 'retention_policy', 'description', 'sha256'])(
    'refuses the field %s given twice',
    (field) => {
      const value = field === 'ttl_days' ? '3' : field === 'sha256' ? 'a'.repeat(64) : 'x';
      const error = errorOf(() =>
        parseUploadFields([
          [field, value],
          [field, value],
        ]),
      );
      expect(error.code).toBe('invalid_request');
      expect(error.details).toEqual({ field });
      expect(error.message).toContain(field);
    },
  );

  it('refuses one metadata key given twice rather than dropping a value', () => {
    const error = errorOf(() =>
      parseUploadFields([
        ['metadata[owner]', 'alice'],
        ['metadata[owner]', 'bob'],
      ]),
    );
    expect(error.code).toBe('invalid_request');
  });

  it.each(['colour', 'retention', 'file_name', 'Name'])(
    'refuses the unknown field %s, naming it',
    (field) => {
      const error = errorOf(() => parseUploadFields([[field, 'x']]));
      expect(error.code).toBe('invalid_request');
      expect(error.details).toEqual({ field });
      expect(error.message).toContain(field);
    },
  );

  it.each<[string, RawFields, string]>([
    ['a non-numeric ttl', [['ttl_days', 'soon']], 'ttl_days'],
    ['a fractional ttl', [['ttl_days', '1.5']], 'ttl_days'],
    ['a date without offset', [['retain_until', '2030-01-01T00:00:00']], 'retain_until'],
    ['a date only', [['retain_until', '2030-01-01']], 'retain_until'],
    ['a short sha256', [['sha256', 'abc']], 'sha256'],
  ])('refuses %s', (_label, pairs, field) => {
    const error = errorOf(() => parseUploadFields(pairs));
    expect(error.code).toBe('invalid_request');
    expect(String(error.details.field).startsWith(field)).toBe(true);
  });

  it.each(['__proto__', 'constructor', 'prototype', 'a\u0001b', 'k'.repeat(LIMITS.metadataKey + 1)])(
    'refuses the metadata key %j with metadata_key_invalid, before it touches an object',
    (key) => {
      for (const pairs of [
        [[`metadata[${key}]`, 'v']],
        [['metadata', JSON.stringify({ [key]: 'v' })]],
      ] as RawFields[]) {
        const error = errorOf(() => parseUploadFields(pairs)) as unknown as DomainError;
        expect(error.code).toBe('metadata_key_invalid');
        expect(String(error.details.field)).toMatch(/^metadata\[/u);
      }
    },
  );

  it('leaves the limits on lengths and counts to the use case (each has its own code there)', () => {
    const fields = parseUploadFields([
      ['name', 'n'.repeat(LIMITS.nameLength + 1)],
      ['description', 'd'.repeat(LIMITS.description + 1)],
      ...many('tags', LIMITS.tags + 1, (i) => `t${i}`),
    ]);
    expect(fields.tags).toHaveLength(LIMITS.tags + 1);
  });

  it('accepts values exactly at the limits', () => {
    const fields = parseUploadFields([
      ['name', 'n'.repeat(LIMITS.nameLength)],
      ['description', 'd'.repeat(LIMITS.description)],
      ...many('tags', LIMITS.tags, (i) => `t${i}`),
      ...many('m', LIMITS.metadataEntries, () => 'v'.repeat(LIMITS.metadataValue)).map(meta),
    ]);
    expect(fields.tags).toHaveLength(LIMITS.tags);
    expect(Object.keys(fields.metadata ?? {})).toHaveLength(LIMITS.metadataEntries);
  });

  it.each(['auto', 'none', 'gzip', 'br'])('reads compression %s', (policy) => {
    expect(parseUploadFields([['compression', policy]])).toEqual({ compression: policy });
    expect(
      toUploadCommand({ compression: policy as 'br' }, 'a.txt', 'text/plain', { size: null }),
    ).toMatchObject({ compression: policy });
  });

  it('refuses an unknown compression, naming the field', () => {
    const error = errorOf(() => parseUploadFields([['compression', 'zstd']]));
    expect(error.code).toBe('invalid_request');
    expect(error.details).toMatchObject({ field: 'compression' });
  });

  it('coerces ttl_days to a number', () => {
    expect(parseUploadFields([['ttl_days', '7']]).ttl_days).toBe(7);
  });
});

describe('toUploadCommand', () => {
  const expect0 = { size: 5, sha256: 'a'.repeat(64) };

  it('builds the command, preferring the name field over the transport name', () => {
    const fields = parseUploadFields([
      ['name', 'from-field.txt'],
      ['ttl_days', '3'],
      ['retain_until', '2030-01-01T00:00:00Z'],
      ['tags', 'a,b'],
    ]);
    expect(toUploadCommand(fields, 'from-header.txt', 'text/plain', expect0)).toEqual({
      name: 'from-field.txt',
      contentType: 'text/plain',
      collection: undefined,
      description: undefined,
      tags: ['a', 'b'],
      metadata: undefined,
      retentionPolicy: undefined,
      ttlDays: 3,
      retainUntil: new Date('2030-01-01T00:00:00Z'),
      expect: expect0,
    });
  });

  it('falls back to the transport name', () => {
    expect(toUploadCommand({}, 'upload.bin', 'application/octet-stream', expect0).name).toBe('upload.bin');
  });

  it.each<[string, string | undefined, string | undefined]>([
    ['no name at all', undefined, undefined],
    ['an empty transport name', undefined, ''],
    ['an empty name field', '', undefined],
  ])('requires a name: %s', (_label, field, transport) => {
    const fields = field === undefined ? {} : { name: field };
    const error = errorOf(() => toUploadCommand(fields, transport, 'text/plain', expect0));
    expect(error.code).toBe('invalid_request');
    expect(error.details).toEqual({ field: 'name' });
  });
});
