import {
  decodeDraft,
  encodeDraft,
  putOptionsHeaders,
  putOptionsToHeaders,
} from '../../../src/adapters/http/internal-wire';

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

describe('the draft line of an internal put', () => {
  const draft = {
    fileId: '0b9f3f2e-8d1c-4c55-9a57-3d6f0f1e2a10',
    name: 'report.pdf',
    originalName: null,
    contentType: 'application/pdf',
    sniffedContentType: 'application/pdf',
    collection: 'default',
    uploader: 'alice',
    uploadedAt: new Date('2026-12-01T10:00:00.000Z'),
    description: 'yearly',
    tags: ['finance'],
    metadata: { dept: 'accounts' },
    retention: { policy: 'permanent', retainUntil: null, legalHold: false },
  } as const;

  it('round-trips a new document without a version (it starts at 1)', () => {
    const decoded = decodeDraft(encodeDraft(draft));
    expect(decoded).toEqual(draft);
    expect(decoded.attrVersion).toBeUndefined();
  });

  it('carries the version a finalized copy continues from', () => {
    expect(decodeDraft(encodeDraft({ ...draft, attrVersion: 4 })).attrVersion).toBe(4);
    expect(() =>
      decodeDraft(JSON.stringify({ ...JSON.parse(encodeDraft(draft)), attr_version: 0 })),
    ).toThrow();
  });
});
