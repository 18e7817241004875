import fc from 'fast-check';

/**
 * Building blocks of the malformed-input campaign: hostile strings, and "mostly valid, sometimes
 * not" mixes so that a request gets past its early checks often enough to reach the deep ones.
 */

const LONG = ['a'.repeat(300), 'x'.repeat(5_000), 'é'.repeat(2_000), '9'.repeat(400)];

/** Strings that have broken parsers before: empty, blank, numbers at the edges, prototypes, encodings. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\t',
      '..',
      '../../etc/passwd',
      '%',
      '%zz',
      '%00',
      '%E0%A4%A',
      '\u0000',
      '\u202e',
      '\ufeff',
      '\ud800',
      '-1',
      '0',
      '1e309',
      '-0',
      '1.5',
      '0x10',
      '9007199254740993',
      '99999999999999999999999999999999',
      'NaN',
      'Infinity',
      'null',
      'true',
      '[]',
      '{}',
      '__proto__',
      'constructor',
      'toString',
      '😀',
      'Ω≈ç√',
      '<script>',
      "' or 1=1 --",
      '${jndi:x}',
      'a,b,,c',
      ',',
      '2026-02-30T00:00:00Z',
      '2026-12-01',
      '1970-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '2026-13-01T00:00:00+25:00',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...LONG) },
);

/** Any JSON value, including the wrong type for every field. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(null, -1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 2, true, [], {}, [[[]]], {
      __proto__: { polluted: true },
    }),
  },
);

/** Usually a valid value, sometimes a hostile one, sometimes absent (undefined). */
export function mostly<T>(
  valid: fc.Arbitrary<T>,
  invalid: fc.Arbitrary<unknown> = anyJson,
): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: valid },
    { weight: 2, arbitrary: invalid },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** Header values node:http will write: UTF-8 seen as Latin-1, no control characters but tab. */
export function headerSafe(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/gu, '');
}

/** encodeURIComponent of any string: a lone surrogate becomes U+FFFD instead of throwing. */
export const enc = (text: string): string => encodeURIComponent(text.toWellFormed());

/** A query or path component: percent-encoded, or left with its own (possibly broken) escapes. */
export const component = (text: string, raw: boolean): string =>
  raw ? text.replace(/[^\u0021-\u007e]/gu, (c) => enc(c)).replace(/[#?\s]/gu, (c) => enc(c)) : enc(text);

/** A path parameter: one of the valid ids, another well-formed id, or junk. */
export function pathParam(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...valid).map((v) => v.toUpperCase()) },
    { weight: 2, arbitrary: fc.uuid().map(String) },
    { weight: 2, arbitrary: fc.tuple(nastyString, fc.boolean()).map(([s, raw]) => component(s, raw)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%2e%2e',
        '..%2f..%2f',
        '%2F',
        '%00',
        '%ff',
        'a'.repeat(9_000),
        '%E2%80%AE',
        '%',
      ),
    },
  );
}

/** A query string of known parameters (valid values most of the time), unknown ones and duplicates. */
export function queryString(known: Readonly<Record<string, fc.Arbitrary<string>>>): fc.Arbitrary<string> {
  const entries = Object.entries(known).map(([key, valid]) =>
    fc
      .tuple(
        fc.oneof(
          { weight: 4, arbitrary: valid },
          { weight: 2, arbitrary: nastyString },
          { weight: 4, arbitrary: fc.constant(undefined) },
        ),
        fc.nat(9),
        fc.boolean(),
      )
      .map(([value, roll, raw]) => {
        if (value === undefined) return [];
        const one = `${enc(key)}=${component(value, raw && roll < 2)}`;
        return roll === 9 ? [one, one] : roll === 8 ? [enc(key)] : [one];
      }),
  );
  const unknown = fc.oneof(
    { weight: 9, arbitrary: fc.constant<string[]>([]) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', 'LIMIT', 'limit[]')),
          nastyString,
        )
        .map(([k, v]) => [`${enc(k)}=${enc(v)}`]),
    },
  );
  return fc.tuple(fc.tuple(...entries), unknown).map(([parts, extra]) => {
    const all = [...parts.flat(), ...extra];
    return all.length === 0 ? '' : `?${all.join('&')}`;
  });
}

/** A JSON body: an object of known fields (each mostly valid), unknown fields, or no object at all. */
export function jsonBody(fields: Readonly<Record<string, fc.Arbitrary<unknown>>>): fc.Arbitrary<string> {
  const object = fc
    .tuple(
      fc.record(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, mostly(v)]))),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: fc.dictionary(nastyString, anyJson, { maxKeys: 3 }) },
      ),
    )
    .map(([known, extra]) => {
      const body: Record<string, unknown> = { ...extra };
      for (const [k, v] of Object.entries(known)) if (v !== undefined) body[k] = v;
      return JSON.stringify(body);
    });
  return fc.oneof(
    { weight: 12, arbitrary: object },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'undefined') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"a":}',
        "{'single':'quotes'}",
        '{"a":1,}',
        '{"a":1}{"b":2}',
        '\ufeff{}',
        '[]',
        'null',
        '"text"',
        '{"__proto__":{"admin":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
        '['.repeat(5_000) + ']'.repeat(5_000),
        '{"a":'.repeat(3_000) + '1' + '}'.repeat(3_000),
        JSON.stringify({ description: 'x'.repeat(70_000) }),
        `{"a":"${'\\ud800'}"}`,
        '{"a":1e999999}',
      ),
    },
  );
}

export const isoDate = (yearsAhead: number): fc.Arbitrary<string> =>
  fc
    .integer({ min: 1, max: yearsAhead * 365 })
    .map((days) => new Date(Date.now() + days * 86_400_000).toISOString());

export const smallInt = (min: number, max: number): fc.Arbitrary<string> =>
  fc.integer({ min, max }).map(String);
