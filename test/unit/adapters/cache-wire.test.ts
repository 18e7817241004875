import fc from 'fast-check';
import { canonicalJson, fromWire, stableHash, toWire } from '../../../src/adapters/cache/cache-wire';

/** JSON-like values with dates anywhere, and keys that look like the encoding's own tags. */
const key = fc.oneof(fc.string(), fc.constantFrom('$date', '$object', '__proto__', 'constructor'));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.string(),
    fc.date(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
}));

describe('cache wire format', () => {
  it('round-trips any JSON-like value with dates through JSON text', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(fromWire(JSON.parse(JSON.stringify(toWire(v))))).toEqual(v);
      }),
    );
  });

  it('keeps a date a date and a look-alike object an object', () => {
    const at = new Date('2026-03-01T10:00:00.000Z');
    const back = fromWire(JSON.parse(JSON.stringify(toWire({ at, fake: { $date: 1 } })))) as {
      at: unknown;
      fake: unknown;
    };
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at).toEqual(at);
    expect(back.fake).toEqual({ $date: 1 });
  });

  it('hashes equal values equally whatever their key order, and different values differently', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value, { maxKeys: 5 }), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
        expect(stableHash(reversed)).toBe(stableHash(record));
      }),
    );
    expect(stableHash({ text: 'a', collectionPatterns: ['x'] })).not.toBe(
      stableHash({ text: 'a', collectionPatterns: ['y'] }),
    );
    expect(stableHash({ text: 'a', cursor: null })).not.toBe(stableHash({ text: 'a' }));
  });
});
