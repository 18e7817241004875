import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { FuzzRequest } from './fuzz-client';
import {
  anyJson,
  component,
  enc,
  headerSafe,
  isoDate,
  jsonBody,
  nastyString,
  pathParam,
  queryString,
  smallInt,
} from './fuzz-arbitraries';

/** What the campaign set up before fuzzing: valid values that let requests reach deep validation. */
export interface Fixtures {
  /** Bearer tokens: the bootstrap admin's (every public scope), a storage role's, a read-only one. */
  readonly tokens: { readonly admin: string; readonly internal: string; readonly readonly: string };
  /** Tokens that must be refused: forged, unsigned, HS256 with the public key, expired, foreign. */
  readonly badTokens: readonly string[];
  readonly files: {
    readonly temporary: string;
    readonly permanent: string;
    readonly patch: string;
    readonly hold: string;
    readonly finalize: readonly string[];
    readonly doomed: readonly string[];
    readonly internal: string;
  };
  readonly contentSha256: string;
  readonly storageElements: readonly string[];
  readonly accounts: readonly string[];
  readonly accountClient: { readonly id: string; readonly secret: string };
  readonly users: readonly string[];
  readonly username: string;
  readonly refreshTokens: readonly string[];
  readonly sagas: readonly string[];
  readonly uploads: readonly string[];
}

/** Which answers to count on for the side-effect checks. */
export type Effect = 'creates' | 'deletes' | 'patches' | 'holds' | 'internal_creates' | 'none';

export interface Endpoint {
  readonly name: string;
  readonly method: string;
  /** Token endpoint: RFC 6749 error bodies rather than problem details. */
  readonly oauth?: boolean;
  readonly effect?: Effect;
  /** Relative weight of the time it needs (1 = a cheap refusal). */
  readonly arbitrary: fc.Arbitrary<FuzzRequest>;
}

const SCOPE_LIST = [
  'files:read',
  'files:write',
  'files:delete',
  'files:legal_hold',
  'admin:read',
  'admin:write',
  'audit:read',
  'storage:read',
  'storage:write',
];
const SHA256_B64 = (text: string): string => createHash('sha256').update(text).digest('base64');

type Auth = 'admin' | 'internal' | 'none';

function authorization(fx: Fixtures, auth: Auth, rarelyValid: boolean): fc.Arbitrary<string | undefined> {
  const good = auth === 'none' ? undefined : `Bearer ${fx.tokens[auth]}`;
  const other = auth === 'internal' ? fx.tokens.admin : fx.tokens.internal;
  return fc.oneof(
    { weight: auth === 'none' ? 6 : rarelyValid ? 1 : 16, arbitrary: fc.constant(good) },
    {
      weight: rarelyValid ? 30 : 3,
      arbitrary: fc.constantFrom(
        undefined,
        'Bearer',
        'Bearer ',
        'Basic YWRtaW46YWRtaW4=',
        'Digest username="x"',
        `bearer  ${fx.tokens.admin}`,
        `Bearer ${fx.tokens.admin}x`,
        `Bearer ${fx.tokens.admin.slice(0, -10)}`,
        `Bearer ${other}`,
        `Bearer ${fx.tokens.readonly}`,
        `Bearer ${fx.tokens.admin}, Bearer ${fx.tokens.admin}`,
        `Bearer ${'a'.repeat(10_000)}`,
        'Bearer a.b.c',
        'Bearer ..',
        'Bearer =====',
        ...fx.badTokens.map((t) => `Bearer ${t}`),
      ),
    },
    { weight: 1, arbitrary: nastyString.map((s) => headerSafe(`Bearer ${s}`)) },
  );
}

/** Headers every request may carry, hostile or not. */
const commonHeaders: fc.Arbitrary<Record<string, string | undefined>> = fc.record(
  {
    'x-request-id': fc.oneof(
      fc.constantFrom('fuzz-1', 'a'.repeat(200), '../x', ''),
      nastyString.map(headerSafe),
    ),
    accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'application/problem+json;q=0', ''),
    'accept-encoding': fc.constantFrom(
      'gzip',
      'br',
      'identity',
      'gzip;q=0, identity;q=0',
      '*;q=0',
      'x'.repeat(300),
    ),
  },
  { requiredKeys: [] },
);

interface Shape {
  readonly name: string;
  readonly method: string;
  /** Path with `{param}` slots. */
  readonly path: string;
  readonly params?: Readonly<Record<string, readonly string[]>>;
  readonly auth: Auth;
  readonly query?: Readonly<Record<string, fc.Arbitrary<string>>>;
  readonly headers?: Readonly<Record<string, fc.Arbitrary<string>>>;
  readonly json?: Readonly<Record<string, fc.Arbitrary<unknown>>>;
  /** A body of its own (upload bytes, a form, a tus chunk) with its content type. */
  readonly body?: fc.Arbitrary<{ body: Buffer | string; type?: string; headers?: Record<string, string> }>;
  readonly oauth?: boolean;
  readonly effect?: Effect;
  /** Costly when accepted (a new RSA key): mostly refused tokens, so the campaign fits its time. */
  readonly rarelyValid?: boolean;
}

const JSON_TYPES = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  'multipart/form-data; boundary=x',
  'application/json; boundary=',
  '',
);

function endpoint(fx: Fixtures, shape: Shape): Endpoint {
  const params = Object.entries(shape.params ?? {});
  const path = fc.tuple(...params.map(([, valid]) => pathParam(valid))).map((values) => {
    let p = shape.path;
    params.forEach(([key], i) => (p = p.replace(`{${key}}`, values[i]!)));
    return p;
  });
  const query = shape.query
    ? queryString(shape.query)
    : fc.oneof(
        { weight: 9, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: queryString({ limit: smallInt(1, 5) }) },
      );
  const specific = fc.record(
    Object.fromEntries(
      Object.entries(shape.headers ?? {}).map(([k, v]) => [
        k,
        fc.oneof(
          { weight: 5, arbitrary: v },
          { weight: 2, arbitrary: nastyString.map(headerSafe) },
          { weight: 3, arbitrary: fc.constant(undefined) },
        ),
      ]),
    ),
  );
  const body: fc.Arbitrary<{
    body?: Buffer | string;
    type?: string;
    headers?: Record<string, string>;
  } | null> = shape.json
    ? fc
        .tuple(
          jsonBody(shape.json),
          fc.oneof(
            { weight: 8, arbitrary: fc.constant('application/json') },
            { weight: 1, arbitrary: JSON_TYPES },
          ),
        )
        .map(([b, type]) => ({ body: b, type }))
    : shape.body
      ? shape.body
      : fc.oneof(
          { weight: 9, arbitrary: fc.constant(null) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              { body: '{}', type: 'application/json' },
              { body: 'garbage', type: 'text/plain' },
            ),
          },
        );
  const arbitrary = fc
    .tuple(
      path,
      query,
      authorization(fx, shape.auth, shape.rarelyValid === true),
      commonHeaders,
      specific,
      body,
    )
    .map(([p, q, auth, common, own, b]): FuzzRequest => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...common, ...own })) if (v !== undefined) headers[k] = v;
      if (auth !== undefined) headers.authorization = auth;
      if (b?.type !== undefined && b.type !== '') headers['content-type'] = b.type;
      if (b?.headers) Object.assign(headers, b.headers);
      return { method: shape.method, path: `${p}${q}`, headers, body: b?.body };
    });
  return { name: shape.name, method: shape.method, oauth: shape.oauth, effect: shape.effect, arbitrary };
}

const RANGES = fc.oneof(
  fc.constantFrom(
    'bytes=0-0',
    'bytes=0-',
    'bytes=-1',
    'bytes=-0',
    'bytes=5-1',
    'bytes=0-99999999999999999999',
    'bytes=99999999-',
    'bytes=0-1,2-3,4-5',
    'bytes=0-1,0-1',
    'bytes=1-0,',
    'bytes=,',
    'bytes=',
    'bytes',
    'items=0-1',
    'bytes=0x1-2',
    'bytes = 0-1',
    'bytes=-',
    'bytes=1e3-2e3',
    'bytes=0-1,' + '2-3,'.repeat(300) + '4-5',
  ),
  fc
    .array(fc.tuple(fc.option(fc.nat(200_000)), fc.option(fc.nat(200_000))), { minLength: 1, maxLength: 4 })
    .map((rs) => `bytes=${rs.map(([a, b]) => `${a ?? ''}-${b ?? ''}`).join(',')}`),
);

const DIGESTS = (valid: string): string[] => [
  `sha-256=:${valid}:`,
  'sha-256=:AAAA:',
  'sha-256=AAAA',
  'sha-256=::',
  'sha-512=:x:',
  'md5=:AAAA:',
  `sha-256=:${valid}:, sha-256=:${SHA256_B64('other')}:`,
  'sha-256',
  ',,,',
  `sha-256=:${SHA256_B64('other')}:`,
];

/** Raw upload bodies with the headers that describe them (lengths, digests, codings). */
function rawUploadBody(): Shape['body'] {
  return fc
    .tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.string({ maxLength: 64 }) },
        {
          weight: 1,
          arbitrary: fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a).toString('latin1')),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom('%PDF-1.7\n', '\x89PNG\r\n\x1a\n', '\x1f\x8b\x08\x00garbage'),
        },
      ),
      fc.constantFrom(
        'application/octet-stream',
        'text/plain',
        'application/pdf',
        'image/png',
        '',
        'text',
        'a/b/c',
        'application/json; charset=x',
        '*/*',
      ),
      fc.record(
        {
          'artstore-name': fc.oneof(
            fc.constantFrom('a.txt', 'report.pdf', '%E2%82%AC.txt'),
            nastyString.map((s) => component(s, true)),
          ),
          'artstore-retention-policy': fc.constantFrom('temporary', 'permanent', 'forever', ''),
          'artstore-ttl-days': fc.oneof(smallInt(0, 400), nastyString.map(headerSafe)),
          'artstore-retain-until': fc.oneof(isoDate(5), nastyString.map(headerSafe)),
          'artstore-collection': fc.constantFrom('default', 'Bad Collection', 'a'.repeat(70), '%ZZ'),
          'artstore-tags': fc.constantFrom('a,b', ',,,', 'x'.repeat(200), '%00'),
          'artstore-metadata': fc.constantFrom('%7B%22a%22%3A%22b%22%7D', '%7B', '[1]', '%7B%22a%22%3A1%7D'),
          'artstore-compression': fc.constantFrom('auto', 'none', 'gzip', 'br', 'zstd'),
          'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'deflate', 'gzip, br', 'x-gzip'),
          'content-disposition': fc.constantFrom(
            'attachment; filename="d.txt"',
            "attachment; filename*=UTF-8''%E2%82%AC.txt",
            "attachment; filename*=UTF-8''%ZZ",
            'inline',
            'attachment; filename=',
            ';;;',
          ),
          expect: fc.constantFrom('100-continue', 'nothing'),
          'want-content-digest': fc.constantFrom('sha-256=1', 'sha-256=x', '=='),
        },
        { requiredKeys: [] },
      ),
      fc.nat(5),
      fc.nat(9),
    )
    .map(([text, type, meta, roll, pick]) => {
      const body = Buffer.from(text, 'latin1');
      const headers: Record<string, string> = { ...meta };
      const b64 = createHash('sha256').update(body).digest('base64');
      if (roll === 0) headers['content-digest'] = `sha-256=:${b64}:`;
      if (roll === 1) headers['repr-digest'] = DIGESTS(b64)[pick]!;
      if (roll === 2) headers['content-digest'] = `sha-256=:${SHA256_B64('other')}:`;
      return { body, type, headers };
    });
}

const BOUNDARY = 'fuzzboundary';

/** multipart/form-data bodies: fields then a file, with the mistakes clients make. */
function multipartBody(): Shape['body'] {
  const field = fc.tuple(
    fc.constantFrom(
      'name',
      'retention_policy',
      'ttl_days',
      'retain_until',
      'collection',
      'description',
      'tags',
      'metadata',
      'metadata[k]',
      'sha256',
      'compression',
      'unknown',
      '__proto__',
    ),
    fc.oneof(fc.constantFrom('temporary', 'permanent', '7', 'x.txt', '{"a":"b"}', 'a,b'), nastyString),
  );
  return fc
    .tuple(
      fc.array(field, { maxLength: 5 }),
      fc.string({ maxLength: 64 }),
      fc.nat(9),
      fc.constantFrom('f.txt', '', '..', 'ä.pdf', 'CON'),
    )
    .map(([fields, content, roll, fileName]) => {
      const part = (headers: string, value: string): string =>
        `--${BOUNDARY}\r\n${headers}\r\n\r\n${value}\r\n`;
      const fieldParts = fields
        .map(([k, v]) => part(`Content-Disposition: form-data; name="${k}"`, v))
        .join('');
      const file = part(
        `Content-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: text/plain`,
        content,
      );
      const end = `--${BOUNDARY}--\r\n`;
      const variants = [
        fieldParts + file + end,
        fieldParts + file + end,
        fieldParts + file + end,
        file + fieldParts + end,
        fieldParts + file + file + end,
        fieldParts + end,
        fieldParts + file,
        `--${BOUNDARY}\r\nno headers here\r\n` + end,
        fieldParts + file.slice(0, Math.floor(file.length / 2)),
        'not multipart at all',
      ];
      const type =
        roll === 9
          ? 'multipart/form-data'
          : roll === 8
            ? `multipart/form-data; boundary=""`
            : `multipart/form-data; boundary=${BOUNDARY}`;
      return { body: variants[roll]!, type };
    });
}

/** tus creation: Upload-Length / Defer-Length / Metadata, sometimes with the first bytes. */
function tusCreation(): Shape['body'] {
  const meta = fc.oneof(
    fc.constantFrom(
      `filename ${Buffer.from('a.txt').toString('base64')}`,
      `filename ${Buffer.from('a.txt').toString('base64')},retention_policy ${Buffer.from('permanent').toString('base64')}`,
      `ttl_days ${Buffer.from('0').toString('base64')}`,
      'filename',
      'filename !!!',
      'a b c',
      ',',
      `filename ${Buffer.from('a').toString('base64')},filename ${Buffer.from('b').toString('base64')}`,
      `metadata ${Buffer.from('{"a":1}').toString('base64')}`,
    ),
    nastyString.map(headerSafe),
  );
  return fc
    .tuple(
      fc.record(
        {
          'tus-resumable': fc.constantFrom('1.0.0', '1.0.0', '0.2.2', '', '1.0.0, 1.0.0'),
          'upload-length': fc.oneof(
            smallInt(0, 64),
            fc.constantFrom('-1', '1e3', '99999999999999999999', '', '1.5', ' 5'),
          ),
          'upload-defer-length': fc.constantFrom('1', '0', 'yes'),
          'upload-metadata': meta,
          'upload-concat': fc.constantFrom('partial', 'final;/a /b'),
        },
        { requiredKeys: [] },
      ),
      fc.option(fc.string({ maxLength: 64 }), { freq: 3 }),
    )
    .map(([headers, chunk]) => ({
      body: chunk ?? '',
      type: chunk === null ? undefined : 'application/offset+octet-stream',
      headers: headers as Record<string, string>,
    }));
}

function tusPatch(): Shape['body'] {
  return fc
    .tuple(
      fc.record(
        {
          'tus-resumable': fc.constantFrom('1.0.0', '1.0.0', '1.0.0', '0.2.2', ''),
          'upload-offset': fc.oneof(
            smallInt(0, 3),
            fc.constantFrom('-1', '1e3', '99999999999999999999', '', 'x'),
          ),
          'upload-checksum': fc.constantFrom(
            `sha1 ${Buffer.alloc(20).toString('base64')}`,
            'sha256 AAAA',
            'crc32 AAAA',
            'sha1',
            'md5 !!!',
            `SHA256 ${Buffer.alloc(32).toString('base64')}`,
          ),
          'upload-length': smallInt(0, 64),
        },
        { requiredKeys: [] },
      ),
      fc.string({ maxLength: 64 }),
      fc.constantFrom(
        'application/offset+octet-stream',
        'application/offset+octet-stream',
        'application/octet-stream',
        '',
      ),
    )
    .map(([headers, chunk, type]) => ({ body: chunk, type, headers: headers as Record<string, string> }));
}

function tokenForm(fx: Fixtures): Shape['body'] {
  return fc
    .tuple(
      fc.record(
        {
          grant_type: fc.oneof(
            fc.constantFrom('client_credentials', 'client_credentials', 'password', 'authorization_code', ''),
            nastyString,
          ),
          scope: fc.oneof(
            fc.constantFrom('files:read', 'admin:write storage:write', '', 'files:read files:read', 'x'),
            nastyString,
          ),
          client_id: fc.oneof(fc.constant(fx.accountClient.id), nastyString),
          client_secret: fc.oneof(fc.constant(fx.accountClient.secret), fc.constant('wrong'), nastyString),
        },
        { requiredKeys: [] },
      ),
      fc.nat(9),
      fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded',
        'application/json',
        'text/plain',
        '',
      ),
    )
    .map(([form, roll, type]) => {
      const pairs = Object.entries(form).map(([k, v]) => `${enc(k)}=${enc(v as string)}`);
      if (roll === 9) pairs.push(pairs[0] ?? 'grant_type=client_credentials');
      const body = roll === 8 ? '%%%&&&==' : roll === 7 ? 'x'.repeat(20_000) : pairs.join('&');
      const basic = `Basic ${Buffer.from(`${fx.accountClient.id}:${fx.accountClient.secret}`).toString('base64')}`;
      const headers: Record<string, string> = {};
      if (roll === 1 || roll === 2) headers.authorization = basic;
      if (roll === 3) headers.authorization = 'Basic !!!';
      if (roll === 4) headers.authorization = `Basic ${Buffer.from('no-colon').toString('base64')}`;
      if (roll === 5) headers.authorization = `Basic ${Buffer.from('%zz:%zz').toString('base64')}`;
      return { body, type, headers };
    });
}

/** The internal SE upload: a JSON draft line, then the bytes. */
function internalPut(fx: Fixtures): Shape['body'] {
  const draft = fc.record(
    {
      file_id: fc.oneof(fc.uuid().map(String), fc.constant(fx.files.internal), nastyString),
      name: fc.oneof(fc.constant('x.txt'), anyJson),
      content_type: fc.oneof(fc.constant('text/plain'), anyJson),
      collection: fc.oneof(fc.constant('default'), anyJson),
      uploader: fc.constant('fuzz'),
      uploaded_at: fc.oneof(fc.constant(new Date().toISOString()), anyJson),
      description: fc.constant(null),
      tags: fc.oneof(fc.constant([]), anyJson),
      metadata: fc.oneof(fc.constant({}), anyJson),
      retention: fc.oneof(
        fc.constant({
          policy: 'temporary',
          ttl_days: 1,
          expires_at: new Date(Date.now() + 86_400_000).toISOString(),
        }),
        anyJson,
      ),
    },
    { requiredKeys: ['file_id'] },
  );
  return fc
    .tuple(
      draft,
      fc.string({ maxLength: 64 }),
      fc.nat(5),
      fc.record(
        {
          'artstore-content-length': smallInt(0, 70),
          'artstore-expect-sha256': fc.constantFrom('00', 'a'.repeat(64)),
          'artstore-stored-encoding': fc.constantFrom('identity', 'gzip', 'zz'),
        },
        { requiredKeys: [] },
      ),
    )
    .map(([d, content, roll, headers]) => ({
      body:
        roll === 5
          ? `{"file_id":${'['.repeat(100)}`
          : roll === 4
            ? content
            : `${JSON.stringify(d)}\n${content}`,
      type: 'application/octet-stream',
      headers: headers as Record<string, string>,
    }));
}

/** Every public endpoint, the tus protocol and the storage elements' internal API (ARCHITECTURE §5). */
export function endpoints(fx: Fixtures): Endpoint[] {
  const f = fx.files;
  const readable = [f.temporary, f.permanent];
  const ses = fx.storageElements;
  const limit = smallInt(1, 1_000);
  const cursor = fc.constantFrom('eyJ9', 'AAAA', '!!', 'a'.repeat(600), '', 'eyJpZCI6MX0');
  const iso = fc.oneof(isoDate(2), fc.constant('2026-01-01'));
  const metaRecord = fc.dictionary(
    fc.constantFrom('k', 'dept', 'a b', ''),
    fc.constantFrom('v', '', 'x'.repeat(5_000)),
    { maxKeys: 3 },
  );
  const E = (shape: Shape): Endpoint => endpoint(fx, shape);
  const internal = '/internal/v1/storage-elements/{se}';
  return [
    // health and discovery
    E({ name: 'GET /health/live', method: 'GET', path: '/health/live', auth: 'none' }),
    E({ name: 'GET /health/ready', method: 'GET', path: '/health/ready', auth: 'none' }),
    E({ name: 'GET /metrics', method: 'GET', path: '/metrics', auth: 'none' }),
    E({ name: 'GET /.well-known/jwks.json', method: 'GET', path: '/.well-known/jwks.json', auth: 'none' }),
    E({
      name: 'GET /.well-known/oauth-authorization-server',
      method: 'GET',
      path: '/.well-known/oauth-authorization-server',
      auth: 'none',
    }),
    E({
      name: 'POST /oauth/token',
      method: 'POST',
      path: '/oauth/token',
      auth: 'none',
      oauth: true,
      body: tokenForm(fx),
    }),
    // uploads
    E({
      name: 'POST /api/v1/files (raw)',
      method: 'POST',
      path: '/api/v1/files',
      auth: 'admin',
      effect: 'creates',
      query: {
        name: fc.constantFrom('a.txt', 'r.pdf', '..', 'CON'),
        retention_policy: fc.constantFrom('temporary', 'permanent'),
        ttl_days: smallInt(0, 400),
        retain_until: isoDate(3),
        collection: fc.constantFrom('default', 'other'),
        tags: fc.constantFrom('a', 'a,b'),
        'metadata[k]': fc.constantFrom('v'),
        sha256: fc.constantFrom(fx.contentSha256, 'F'.repeat(64), 'xyz'),
        compression: fc.constantFrom('auto', 'none', 'gzip', 'br'),
        description: fc.constantFrom('d'),
      },
      body: rawUploadBody(),
    }),
    E({
      name: 'POST /api/v1/files (multipart)',
      method: 'POST',
      path: '/api/v1/files',
      auth: 'admin',
      effect: 'creates',
      body: multipartBody(),
    }),
    // tus
    E({
      name: 'OPTIONS /api/v1/uploads',
      method: 'OPTIONS',
      path: '/api/v1/uploads',
      auth: 'none',
      headers: {
        'access-control-request-method': fc.constantFrom('POST', 'PATCH'),
        origin: fc.constantFrom('http://x', 'null'),
      },
    }),
    E({
      name: 'POST /api/v1/uploads',
      method: 'POST',
      path: '/api/v1/uploads',
      auth: 'admin',
      effect: 'creates',
      body: tusCreation(),
    }),
    E({
      name: 'OPTIONS /api/v1/uploads/{id}',
      method: 'OPTIONS',
      path: '/api/v1/uploads/{id}',
      params: { id: fx.uploads },
      auth: 'none',
    }),
    E({
      name: 'HEAD /api/v1/uploads/{id}',
      method: 'HEAD',
      path: '/api/v1/uploads/{id}',
      params: { id: fx.uploads },
      auth: 'admin',
      headers: { 'tus-resumable': fc.constantFrom('1.0.0', '2') },
    }),
    E({
      name: 'PATCH /api/v1/uploads/{id}',
      method: 'PATCH',
      path: '/api/v1/uploads/{id}',
      params: { id: fx.uploads },
      auth: 'admin',
      effect: 'creates',
      body: tusPatch(),
    }),
    E({
      name: 'DELETE /api/v1/uploads/{id}',
      method: 'DELETE',
      path: '/api/v1/uploads/{id}',
      params: { id: fx.uploads },
      auth: 'admin',
      headers: { 'tus-resumable': fc.constantFrom('1.0.0', '1.0.0', '2') },
    }),
    // metadata and content
    E({
      name: 'GET /api/v1/files/{id}',
      method: 'GET',
      path: '/api/v1/files/{id}',
      params: { id: readable },
      auth: 'admin',
    }),
    ...(['GET', 'HEAD'] as const).map((method) =>
      E({
        name: `${method} /api/v1/files/{id}/content`,
        method,
        path: '/api/v1/files/{id}/content',
        params: { id: readable },
        auth: 'admin',
        headers: {
          range: RANGES,
          'if-range': fc.constantFrom(
            `"${fx.contentSha256}"`,
            '"x"',
            'W/"x"',
            new Date().toUTCString(),
            'yesterday',
            '',
          ),
          'if-none-match': fc.constantFrom(`"${fx.contentSha256}"`, '*', 'W/"a", "b"', '"', ',,'),
          'if-modified-since': fc.constantFrom(
            new Date().toUTCString(),
            'Thu, 01 Jan 1970 00:00:00 GMT',
            'not a date',
            '9999999999999',
          ),
          'accept-encoding': fc.constantFrom('gzip', 'br;q=1, gzip;q=0', 'identity;q=0', '*', 'gzip;q=x'),
        },
      }),
    ),
    E({
      name: 'GET /api/v1/files/{id}/fixity',
      method: 'GET',
      path: '/api/v1/files/{id}/fixity',
      params: { id: readable },
      auth: 'admin',
      query: { limit },
    }),
    E({
      name: 'PATCH /api/v1/files/{id}',
      method: 'PATCH',
      path: '/api/v1/files/{id}',
      params: { id: [f.patch] },
      auth: 'admin',
      effect: 'patches',
      headers: {
        'if-match': fc.constantFrom('"1"', '*', '"x"', 'W/"1"', '"1", "2"', '"99999999999999999999"'),
      },
      json: {
        description: fc.oneof(fc.constant(null), fc.constantFrom('new', 'x'.repeat(5_000))),
        tags: fc.array(fc.constantFrom('a', 'b', '', 'x'.repeat(200), '\u0007'), { maxLength: 4 }),
        metadata: metaRecord,
        retain_until: isoDate(3),
      },
    }),
    E({
      name: 'PUT /api/v1/files/{id}/legal-hold',
      method: 'PUT',
      path: '/api/v1/files/{id}/legal-hold',
      params: { id: [f.hold] },
      auth: 'admin',
      effect: 'holds',
      json: { reason: fc.constantFrom('audit', ' ', 'x'.repeat(2_000)) },
    }),
    E({
      name: 'DELETE /api/v1/files/{id}/legal-hold',
      method: 'DELETE',
      path: '/api/v1/files/{id}/legal-hold',
      params: { id: [f.hold] },
      auth: 'admin',
      effect: 'holds',
      json: { reason: fc.constantFrom('done', 'x'.repeat(2_000)) },
    }),
    E({
      name: 'POST /api/v1/files/{id}/finalize',
      method: 'POST',
      path: '/api/v1/files/{id}/finalize',
      params: { id: f.finalize },
      auth: 'admin',
      json: { retain_until: isoDate(3) },
    }),
    E({
      name: 'POST /api/v1/files/{id}/restore',
      method: 'POST',
      path: '/api/v1/files/{id}/restore',
      params: { id: readable },
      auth: 'admin',
      query: { days: smallInt(0, 30) },
    }),
    E({
      name: 'GET /api/v1/files/{id}/restore',
      method: 'GET',
      path: '/api/v1/files/{id}/restore',
      params: { id: readable },
      auth: 'admin',
    }),
    E({
      name: 'GET /api/v1/search',
      method: 'GET',
      path: '/api/v1/search',
      auth: 'admin',
      query: {
        q: fc.oneof(
          fc.constantFrom('report', 'a & b', '"unterminated', '!!!', 'or', '*', ':*', '-x'),
          nastyString,
        ),
        limit: smallInt(0, 150),
        cursor,
        sort: fc.constantFrom('relevance', 'date', 'name', 'size', 'rank'),
        order: fc.constantFrom('asc', 'desc', 'up'),
        collection: fc.constantFrom('default', 'a,b', ',', ''),
        content_type: fc.constantFrom('text/plain', 'text/*'),
        tags: fc.constantFrom('a', 'a,b,c'),
        tags_mode: fc.constantFrom('all', 'any', 'none'),
        uploader: fc.constantFrom('x'),
        size_min: smallInt(-1, 1_000),
        size_max: fc.constantFrom('0', '1e3', '9007199254740993'),
        uploaded_from: iso,
        uploaded_to: iso,
        retention: fc.constantFrom('temporary', 'permanent', 'both'),
        expires_from: iso,
        expires_to: iso,
        status: fc.constantFrom('active', 'active,deleted', 'gone'),
        se: fc.constantFrom(...ses),
        facets: fc.constantFrom('true', 'false', '1'),
      },
    }),
    E({
      name: 'DELETE /api/v1/files/{id}',
      method: 'DELETE',
      path: '/api/v1/files/{id}',
      params: { id: f.doomed },
      auth: 'admin',
      effect: 'deletes',
      query: { reason: fc.constantFrom('x') },
    }),
    // sagas and audit
    E({
      name: 'GET /api/v1/sagas',
      method: 'GET',
      path: '/api/v1/sagas',
      auth: 'admin',
      query: {
        status: fc.constantFrom('running', 'done', 'x'),
        kind: fc.constantFrom('upload', 'finalize', 'x'),
        file_id: fc.constantFrom(f.temporary, 'x'),
        limit,
        cursor,
      },
    }),
    E({
      name: 'GET /api/v1/sagas/{id}',
      method: 'GET',
      path: '/api/v1/sagas/{id}',
      params: { id: fx.sagas },
      auth: 'admin',
    }),
    E({
      name: 'GET /api/v1/audit',
      method: 'GET',
      path: '/api/v1/audit',
      auth: 'admin',
      query: {
        from: iso,
        to: iso,
        actor: fc.constantFrom('x'),
        actor_kind: fc.constantFrom('user', 'service', 'robot'),
        action: fc.constantFrom('file.deleted', 'x'),
        action_prefix: fc.constantFrom('file.', ''),
        outcome: fc.constantFrom('success', 'failure', 'maybe'),
        target: fc.constantFrom(f.temporary),
        limit,
        cursor,
      },
    }),
    E({ name: 'GET /api/v1/audit/verify', method: 'GET', path: '/api/v1/audit/verify', auth: 'admin' }),
    // people
    E({
      name: 'POST /api/v1/auth/login',
      method: 'POST',
      path: '/api/v1/auth/login',
      auth: 'none',
      json: {
        username: fc.constantFrom(fx.username, 'nobody'),
        password: fc.constantFrom('wrong password 1!', ''),
      },
    }),
    E({
      name: 'POST /api/v1/auth/refresh',
      method: 'POST',
      path: '/api/v1/auth/refresh',
      auth: 'none',
      json: { refresh_token: fc.constantFrom(...fx.refreshTokens, 'x') },
    }),
    E({
      name: 'POST /api/v1/auth/logout',
      method: 'POST',
      path: '/api/v1/auth/logout',
      auth: 'none',
      json: { refresh_token: fc.constantFrom('x', 'a'.repeat(300)) },
    }),
    E({
      name: 'POST /api/v1/me/password',
      method: 'POST',
      path: '/api/v1/me/password',
      auth: 'admin',
      json: {
        old_password: fc.constantFrom('x'),
        new_password: fc.constantFrom('short', 'Correct-Horse-Battery-9'),
      },
    }),
    E({
      name: 'POST /api/v1/admin/users',
      method: 'POST',
      path: '/api/v1/admin/users',
      auth: 'admin',
      json: {
        username: fc.constantFrom(fx.username, 'ab', 'a'.repeat(300)),
        password: fc.constantFrom('short', 'password123456'),
        role: fc.constantFrom('admin', 'operator', 'readonly', 'root'),
      },
    }),
    E({
      name: 'GET /api/v1/admin/users',
      method: 'GET',
      path: '/api/v1/admin/users',
      auth: 'admin',
      query: { limit, cursor },
    }),
    E({
      name: 'GET /api/v1/admin/users/{id}',
      method: 'GET',
      path: '/api/v1/admin/users/{id}',
      params: { id: fx.users },
      auth: 'admin',
    }),
    E({
      name: 'PATCH /api/v1/admin/users/{id}',
      method: 'PATCH',
      path: '/api/v1/admin/users/{id}',
      params: { id: fx.users },
      auth: 'admin',
      json: { role: fc.constantFrom('operator', 'readonly', 'god') },
    }),
    E({
      name: 'POST /api/v1/admin/users/{id}/reset-password',
      method: 'POST',
      path: '/api/v1/admin/users/{id}/reset-password',
      params: { id: fx.users },
      auth: 'admin',
      json: { password: fc.constantFrom('short', 'aaaaaaaaaaaaaaaa', fx.username) },
    }),
    E({
      name: 'DELETE /api/v1/admin/users/{id}',
      method: 'DELETE',
      path: '/api/v1/admin/users/{id}',
      params: { id: [fx.users[1] ?? fx.users[0]!] },
      auth: 'admin',
    }),
    // service accounts and keys
    E({
      name: 'POST /api/v1/admin/service-accounts',
      method: 'POST',
      path: '/api/v1/admin/service-accounts',
      auth: 'admin',
      json: {
        name: fc.constantFrom('fuzz', '', ' '),
        scopes: fc.subarray(SCOPE_LIST),
        collections: fc.constantFrom(
          { 'files:read': ['default'] },
          { 'files:read': [] },
          { nope: ['x'] },
          { 'files:read': ['[[['] },
        ),
        rate_limit_per_minute: fc.oneof(fc.constant(null), fc.integer({ min: -1, max: 200_000 })),
        secret_ttl_days: fc.integer({ min: 0, max: 4_000 }),
        internal: fc.boolean(),
      },
    }),
    E({
      name: 'GET /api/v1/admin/service-accounts',
      method: 'GET',
      path: '/api/v1/admin/service-accounts',
      auth: 'admin',
      query: { limit, cursor },
    }),
    E({
      name: 'GET /api/v1/admin/service-accounts/{id}',
      method: 'GET',
      path: '/api/v1/admin/service-accounts/{id}',
      params: { id: fx.accounts },
      auth: 'admin',
    }),
    E({
      name: 'PATCH /api/v1/admin/service-accounts/{id}',
      method: 'PATCH',
      path: '/api/v1/admin/service-accounts/{id}',
      params: { id: fx.accounts },
      auth: 'admin',
      json: {
        name: fc.constantFrom('renamed', ''),
        scopes: fc.subarray(SCOPE_LIST),
        rate_limit_per_minute: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 10 })),
      },
    }),
    ...['suspend', 'activate'].map((action) =>
      E({
        name: `POST /api/v1/admin/service-accounts/{id}/${action}`,
        method: 'POST',
        path: `/api/v1/admin/service-accounts/{id}/${action}`,
        params: { id: fx.accounts },
        auth: 'admin',
      }),
    ),
    E({
      name: 'POST /api/v1/admin/service-accounts/{id}/rotate-secret',
      method: 'POST',
      path: '/api/v1/admin/service-accounts/{id}/rotate-secret',
      params: { id: fx.accounts },
      auth: 'admin',
      json: { secret_ttl_days: fc.integer({ min: 0, max: 4_000 }) },
    }),
    E({
      name: 'DELETE /api/v1/admin/service-accounts/{id}',
      method: 'DELETE',
      path: '/api/v1/admin/service-accounts/{id}',
      params: { id: [fx.accounts[1] ?? fx.accounts[0]!] },
      auth: 'admin',
    }),
    E({ name: 'GET /api/v1/admin/keys', method: 'GET', path: '/api/v1/admin/keys', auth: 'admin' }),
    // storage elements (admin)
    E({
      name: 'GET /api/v1/storage-elements',
      method: 'GET',
      path: '/api/v1/storage-elements',
      auth: 'admin',
    }),
    ...['', '/info', '/scrub'].map((suffix) =>
      E({
        name: `GET /api/v1/storage-elements/{id}${suffix}`,
        method: 'GET',
        path: `/api/v1/storage-elements/{id}${suffix}`,
        params: { id: ses },
        auth: 'admin',
      }),
    ),
    E({
      name: 'POST /api/v1/storage-elements/{id}/reconcile',
      method: 'POST',
      path: '/api/v1/storage-elements/{id}/reconcile',
      params: { id: ses },
      auth: 'admin',
      json: { repair: fc.boolean(), checksums: fc.boolean() },
    }),
    E({
      name: 'POST /api/v1/storage-elements/{id}/scrub',
      method: 'POST',
      path: '/api/v1/storage-elements/{id}/scrub',
      params: { id: ses },
      auth: 'admin',
      json: { rate_bytes_per_second: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 1e9 })) },
    }),
    E({
      name: 'POST /api/v1/storage-elements/{id}/rebuild',
      method: 'POST',
      path: '/api/v1/storage-elements/{id}/rebuild',
      params: { id: ses },
      auth: 'admin',
    }),
    E({
      name: 'POST /api/v1/admin/catalog/rebuild',
      method: 'POST',
      path: '/api/v1/admin/catalog/rebuild',
      auth: 'admin',
    }),
    // the storage elements' internal API: the roles' own token, and others
    E({
      name: 'PUT /internal/…/files/{id}',
      method: 'PUT',
      path: `${internal}/files/{id}`,
      params: { se: ses, id: [f.internal] },
      auth: 'internal',
      effect: 'internal_creates',
      body: internalPut(fx),
    }),
    E({
      name: 'GET /internal/…/files/{id}',
      method: 'GET',
      path: `${internal}/files/{id}`,
      params: { se: ses, id: readable },
      auth: 'internal',
    }),
    E({
      name: 'GET /internal/…/files/{id}/content',
      method: 'GET',
      path: `${internal}/files/{id}/content`,
      params: { se: ses, id: readable },
      auth: 'internal',
      query: { purpose: fc.constantFrom('download', 'restore', 'stored', 'x') },
      headers: { range: RANGES },
    }),
    E({
      name: 'PATCH /internal/…/files/{id}',
      method: 'PATCH',
      path: `${internal}/files/{id}`,
      params: { se: ses, id: [f.internal] },
      auth: 'internal',
      json: {
        change: fc.record(
          { description: fc.constantFrom('x'), legal_hold: fc.boolean() },
          { requiredKeys: [] },
        ),
        if_attr_version: fc.integer({ min: -1, max: 3 }),
        target_attr_version: fc.integer({ min: -1, max: 3 }),
      },
    }),
    E({
      name: 'GET /internal/…/info',
      method: 'GET',
      path: `${internal}/info`,
      params: { se: ses },
      auth: 'internal',
    }),
    E({
      name: 'GET /internal/…/attributes',
      method: 'GET',
      path: `${internal}/attributes`,
      params: { se: ses },
      auth: 'internal',
      query: { limit, cursor },
    }),
    E({
      name: 'GET /internal/…/scrub',
      method: 'GET',
      path: `${internal}/scrub`,
      params: { se: ses },
      auth: 'internal',
    }),
    E({
      name: 'POST /internal/…/reconcile',
      method: 'POST',
      path: `${internal}/reconcile`,
      params: { se: ses },
      auth: 'internal',
      json: { repair: fc.constant(false), checksums: fc.boolean() },
    }),
    E({
      name: 'POST /internal/…/scrub',
      method: 'POST',
      path: `${internal}/scrub`,
      params: { se: ses },
      auth: 'internal',
      json: { rate_bytes_per_second: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 1e9 })) },
    }),
    E({
      name: 'POST /internal/…/rebuild',
      method: 'POST',
      path: `${internal}/rebuild`,
      params: { se: ses },
      auth: 'internal',
    }),
    E({
      name: 'POST /internal/…/files/{id}/discard',
      method: 'POST',
      path: `${internal}/files/{id}/discard`,
      params: { se: ses, id: [f.internal] },
      auth: 'internal',
    }),
    E({
      name: 'DELETE /internal/…/files/{id}',
      method: 'DELETE',
      path: `${internal}/files/{id}`,
      params: { se: ses, id: [f.internal] },
      auth: 'internal',
    }),
    // last: what changes the deployment itself
    E({
      name: 'POST /api/v1/admin/keys/rotate',
      method: 'POST',
      path: '/api/v1/admin/keys/rotate',
      auth: 'admin',
      rarelyValid: true,
    }),
    E({
      name: 'POST /api/v1/storage-elements/{id}/mode',
      method: 'POST',
      path: '/api/v1/storage-elements/{id}/mode',
      params: { id: ses },
      auth: 'admin',
      json: { mode: fc.constantFrom('edit', 'rw', 'ro', 'ar', 'RW'), confirm: fc.boolean() },
    }),
    E({
      name: 'PUT /internal/…/mode',
      method: 'PUT',
      path: `${internal}/mode`,
      params: { se: ses },
      auth: 'internal',
      json: { mode: fc.constantFrom('edit', 'rw', 'ro', 'ar'), confirm: fc.boolean() },
    }),
  ];
}
