import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, clientToken, createAccount } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startSplit } from '../support/split';
import {
  decodeJwt,
  issuerPrivateKeys,
  signHs256,
  signRs256,
  unsigned,
  withPayload,
  withRawHeader,
  type JsonObject,
} from '../support/jwt-forgery';

afterAll(killAll);

/**
 * Every role verifies tokens the same way (RFC 8725 pinning, RFC 6750 answers), whether it holds
 * the key ring (admin) or fetches the issuer's JWKS (ingester, query, storage). Each forgery is
 * sent to one protected endpoint of each role of a split deployment.
 */
describe('forged and malformed bearer tokens are refused by every role (split deployment)', () => {
  const masterKey = randomBytes(32).toString('hex');
  let db: TestDatabase;
  let dataDir: string;
  const processes: ArtStoreProcess[] = [];
  let urls: Record<Role, string>;
  /** A genuine token per role: the bootstrap admin's, and an internal account's for the storage API. */
  const genuine = {} as Record<Role, string>;
  let realKey: { kid: string; privateKey: KeyObject; publicJwk: JsonObject };

  type Role = 'admin' | 'ingester' | 'query' | 'storage';
  const ROLES: readonly Role[] = ['admin', 'ingester', 'query', 'storage'];
  const SE = 'edit-1';

  /** The protected endpoint of each role, called with the given Authorization header (or none). */
  const call = (role: Role, authorization?: string): Promise<Response> => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    switch (role) {
      case 'admin':
        return anonymousFetch(`${urls.admin}/api/v1/storage-elements`, { headers });
      case 'ingester':
        return anonymousFetch(`${urls.ingester}/api/v1/files?name=x.txt`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/octet-stream' },
          body: 'hello, world',
        });
      case 'query':
        return anonymousFetch(`${urls.query}/api/v1/search?q=x`, { headers });
      case 'storage':
        return anonymousFetch(`${urls.storage}/internal/v1/storage-elements/${SE}/info`, { headers });
    }
  };
  const SUCCESS: Record<Role, number> = { admin: 200, ingester: 201, query: 200, storage: 200 };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-jwt-'));
    const split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [{ id: SE, mode: 'edit' }],
      adminEnv: { ARTSTORE_AUTH_MASTER_KEY: masterKey },
    });
    processes.push(...split.processes);
    const { admin, ingester, query, adminToken } = split;
    const storage = split.storage.get(SE)!;
    const storageCaller = await createAccount(admin.url, {
      name: 'test caller role',
      scopes: ['storage:read', 'storage:write'],
      internal: true,
    });
    urls = { admin: admin.url, ingester: ingester.url, query: query.url, storage: storage.url };
    genuine.admin = genuine.ingester = genuine.query = adminToken;
    genuine.storage = await clientToken(admin.url, storageCaller);

    const { header } = decodeJwt(adminToken);
    const kid = String(header.kid);
    const privateKey = (await issuerPrivateKeys(db.url, masterKey)).get(kid);
    if (!privateKey) throw new Error(`the signing key ${kid} is not in signing_keys`);
    const jwks = (await (await anonymousFetch(`${admin.url}/.well-known/jwks.json`)).json()) as {
      keys: JsonObject[];
    };
    const publicJwk = jwks.keys.find((k) => k.kid === kid);
    if (!publicJwk) throw new Error(`the JWKS does not publish ${kid}`);
    realKey = { kid, privateKey, publicJwk };
  });

  afterAll(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop()));
    expect(codes).toEqual(processes.map(() => 0));
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  const claimsOf = (role: Role): JsonObject => decodeJwt(genuine[role]).payload;
  const realHeader = (): JsonObject => ({ alg: 'RS256', typ: 'at+jwt', kid: realKey.kid });
  /** Signed by the issuer's real key: only the named defect is wrong. */
  const resigned = (role: Role, changes: JsonObject, header: JsonObject = realHeader()): string => {
    const payload = Object.fromEntries(
      Object.entries({ ...claimsOf(role), ...changes }).filter(([, value]) => value !== undefined),
    );
    return signRs256(header, payload, realKey.privateKey);
  };

  it.each(ROLES)('%s: a genuine token is accepted', async (role) => {
    const response = await call(role, `Bearer ${genuine[role]}`);
    expect(response.status).toBe(SUCCESS[role]);
  });

  it.each(ROLES)(
    '%s: the same claims re-signed by the issuer key are accepted (the forgery harness is sound)',
    async (role) => {
      const response = await call(role, `Bearer ${resigned(role, { jti: randomBytes(8).toString('hex') })}`);
      expect(response.status).toBe(SUCCESS[role]);
    },
  );

  it.each(ROLES)(
    '%s: no Authorization header is a 401 Bearer challenge without an error code',
    async (role) => {
      const response = await call(role);
      expect(response.status).toBe(401);
      const challenge = response.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="artstore"/u);
      // RFC 6750 §3.1: no error code when the request carried no authentication information.
      expect(challenge).not.toContain('error=');
    },
  );

  it.each(ROLES)("%s: 'Bearer' with no token is a 401 Bearer challenge", async (role) => {
    const response = await call(role, 'Bearer');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /u);
  });

  /** Each forgery, built from the role's genuine token. */
  const FORGERIES: Record<string, (role: Role) => string> = {
    'alg none': (role) => unsigned({ alg: 'none', typ: 'at+jwt', kid: realKey.kid }, claimsOf(role)),
    'HS256 keyed with the issuer public key (PEM from the JWKS)': (role) =>
      signHs256(
        { alg: 'HS256', typ: 'at+jwt', kid: realKey.kid },
        claimsOf(role),
        createPublicKey({ key: realKey.publicJwk as never, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString(),
      ),
    'HS256 keyed with the issuer public JWK as JSON': (role) =>
      signHs256(
        { alg: 'HS256', typ: 'at+jwt', kid: realKey.kid },
        claimsOf(role),
        JSON.stringify(realKey.publicJwk),
      ),
    'an unknown kid (signed by the real key)': (role) =>
      resigned(role, {}, { ...realHeader(), kid: `unknown-${randomBytes(6).toString('hex')}` }),
    'no kid (signed by the real key)': (role) => resigned(role, {}, { alg: 'RS256', typ: 'at+jwt' }),
    'typ JWT instead of at+jwt (signed by the real key)': (role) =>
      resigned(role, {}, { ...realHeader(), typ: 'JWT' }),
    'a tampered payload (scope widened, signature kept)': (role) =>
      withPayload(genuine[role], {
        ...claimsOf(role),
        scope:
          'files:read files:write files:delete admin:read admin:write audit:read storage:read storage:write',
      }),
    'a tampered payload (sub changed, signature kept)': (role) =>
      withPayload(genuine[role], { ...claimsOf(role), sub: 'someone-else' }),
    'a wrong iss (signed by the real key)': (role) => resigned(role, { iss: 'https://issuer.example' }),
    'an iss differing only by a trailing slash (signed by the real key)': (role) =>
      resigned(role, { iss: `${String(claimsOf(role).iss)}/` }),
    'a wrong aud (signed by the real key)': (role) => resigned(role, { aud: 'not-artstore' }),
    'an expired token (exp 2 min ago, beyond the leeway)': (role) =>
      resigned(role, { iat: now() - 1020, nbf: now() - 1020, exp: now() - 120 }),
    'a token not yet valid (nbf in 5 min, beyond the leeway)': (role) =>
      resigned(role, { iat: now(), nbf: now() + 300, exp: now() + 900 }),
    'no exp (signed by the real key)': (role) => resigned(role, { exp: undefined }),
    'no scope claim (signed by the real key)': (role) => resigned(role, { scope: undefined }),
    'another RSA key pair using the real kid': (role) =>
      signRs256(realHeader(), claimsOf(role), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    'a malformed header (base64url of text that is not JSON)': (role) =>
      withRawHeader(genuine[role], Buffer.from('not json at all').toString('base64url')),
    'a malformed header (not base64url)': (role) => withRawHeader(genuine[role], '~~~~'),
    'a header that is a JSON array': (role) =>
      withRawHeader(genuine[role], Buffer.from('["RS256"]').toString('base64url')),
    'two segments only': (role) => genuine[role].split('.').slice(0, 2).join('.'),
    'a garbage string': () => 'garbage',
  };

  const cases = ROLES.flatMap((role) => Object.keys(FORGERIES).map((name) => [role, name] as const));
  it.each(cases)('%s: %s → 401 invalid_token', async (role, name) => {
    const response = await call(role, `Bearer ${FORGERIES[name]!(role)}`);
    const body = await response.text();
    expect({ status: response.status, body }).toEqual({ status: 401, body: expect.any(String) });
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer realm="artstore"/u);
    expect(challenge).toContain('error="invalid_token"');
    expect(JSON.parse(body)).toMatchObject({ status: 401, code: 'invalid_token' });
  });

  it.each(ROLES)(
    '%s: a header that is not a bearer token at all is 401 with a Bearer challenge',
    async (role) => {
      for (const header of ['Bearer not a token', 'Basic dXNlcjpwYXNz', `Token ${genuine[role]}`]) {
        const response = await call(role, header);
        expect({ header, status: response.status }).toEqual({ header, status: 401 });
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /u);
      }
    },
  );

  it('an account created after the roles started gets tokens that every role accepts', async () => {
    // Guards against the roles above accepting tokens only because they were all warmed up.
    const account = await createAccount(urls.admin, {
      name: 'late reader',
      scopes: ['files:read', 'admin:read'],
    });
    const token = await clientToken(urls.admin, account);
    expect((await call('query', `Bearer ${token}`)).status).toBe(200);
    expect((await call('admin', `Bearer ${token}`)).status).toBe(200);
  });
});
