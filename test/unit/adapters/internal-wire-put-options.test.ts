import { putOptionsHeaders, putOptionsToHeaders } from '../../../src/adapters/http/internal-wire';

describe('the stored-encoding headers of the internal PUT', () => {
  it.each([
    [
      { encoding: 'gzip', level: 3 },
      { 'artstore-stored-encoding': 'gzip', 'artstore-stored-level': '3' },
    ],
    [{ encoding: 'br' }, { 'artstore-stored-encoding': 'br' }],
    [{ encoding: 'identity', level: 0 }, {}],
  ] as const)('round-trips %j', (options, headers) => {
    expect(putOptionsToHeaders(options)).toEqual(headers);
    const parsed = putOptionsHeaders.parse(headers);
    expect(parsed.encoding).toBe(options.encoding);
    if (options.encoding !== 'identity') expect(parsed).toEqual(options);
  });

  it('defaults to identity without headers', () => {
    expect(putOptionsHeaders.parse({})).toEqual({ encoding: 'identity' });
    expect(putOptionsToHeaders(undefined)).toEqual({});
  });

  it.each([
    [{ 'artstore-stored-encoding': 'zstd' }, 'artstore-stored-encoding'],
    [{ 'artstore-stored-encoding': 'gzip', 'artstore-stored-level': '10' }, 'artstore-stored-level'],
    [{ 'artstore-stored-encoding': 'br', 'artstore-stored-level': 'high' }, 'artstore-stored-level'],
  ])('refuses %j, naming the header', (headers, field) => {
    const result = putOptionsHeaders.safeParse(headers);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});
