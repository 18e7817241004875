import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import {
  anonymousFetch,
  authorize,
  clientToken,
  createAccount,
  type ClientCredentials,
} from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { decodeJwt } from '../support/jwt-forgery';

afterAll(killAll);

/** RFC 6749 Appendix B: application/x-www-form-urlencoded, as §2.3.1 requires before Basic-encoding. */
const formEncode = (text: string): string => new URLSearchParams({ v: text }).toString().slice(2);
const basic = (id: string, secret: string, encode: (s: string) => string = formEncode): string =>
  `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;

interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * The token endpoint (RFC 6749 §2.3.1, §3.3, §4.4, §5.1-5.2), its metadata (RFC 8414) and key set
 * (RFC 7517), on an all-in-one server, and a real OAuth client library against it.
 */
describe('OAuth 2.0 token endpoint conformance (--role all)', () => {
  // Reserved characters of form-urlencoding and of Basic (':'), and spaces.
  const bootstrapId = 'ops.team_1-x';
  const bootstrapSecret = `a:b+c%41 d&e=f %%25 ${randomBytes(6).toString('hex')} :+&%`;
  const bootstrap: ClientCredentials = { clientId: bootstrapId, clientSecret: bootstrapSecret };
  let db: TestDatabase;
  let dataDir: string;
  let server: ArtStoreProcess;
  let base: string;

  const token = async (
    form: Record<string, string> | string,
    headers: Record<string, string> = {},
    url = base,
  ): Promise<TokenAnswer> => {
    const response = await anonymousFetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
    });
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`token endpoint answered ${response.status} with a body that is not JSON: ${text}`);
    }
    return { status: response.status, headers: response.headers, body };
  };

  const expectOAuthError = (answer: TokenAnswer, status: number, error: string): void => {
    expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error });
    expect(typeof answer.body.error_description).toBe('string');
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/u);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-oauth-'));
    server = await startServe(['--role', 'all', '--data-dir', dataDir], {
      ARTSTORE_DATABASE_URL: db.url,
      ARTSTORE_BOOTSTRAP_CLIENT_ID: bootstrapId,
      ARTSTORE_BOOTSTRAP_CLIENT_SECRET: bootstrapSecret,
    });
    base = server.url;
    authorize(base, await clientToken(base, bootstrap));
  });

  afterAll(async () => {
    if (server) expect(await server.stop()).toBe(0);
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  describe('client authentication (§2.3.1)', () => {
    it('accepts HTTP Basic with the secret form-urlencoded (":" "+" "%" "&" and spaces in it)', async () => {
      const answer = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(bootstrapId, bootstrapSecret) },
      );
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
      expect(typeof answer.body.access_token).toBe('string');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('pragma')).toBe('no-cache');
      const { header, payload } = decodeJwt(String(answer.body.access_token));
      expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
      expect(typeof header.kid).toBe('string');
      expect(payload).toMatchObject({ iss: base, aud: 'artstore', sub: bootstrapId, client_id: bootstrapId });
      expect(Number(payload.exp) - Number(payload.iat)).toBe(900);
    });

    it('decodes a percent-encoded client id (unreserved characters encoded needlessly)', async () => {
      const encodeAll = (text: string): string =>
        [...Buffer.from(text)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
      const answer = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(bootstrapId, bootstrapSecret, encodeAll) },
      );
      expect(answer.status).toBe(200);
      expect(decodeJwt(String(answer.body.access_token)).payload.client_id).toBe(bootstrapId);
    });

    it('refuses at start a bootstrap client id with reserved characters (config allows [\\w.-] only)', async () => {
      const other = await createTestDatabase();
      const otherDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-oauth-id-'));
      try {
        await expect(
          startServe(['--role', 'all', '--data-dir', otherDir], {
            ARTSTORE_DATABASE_URL: other.url,
            ARTSTORE_BOOTSTRAP_CLIENT_ID: 'ops:team+1',
            ARTSTORE_BOOTSTRAP_CLIENT_SECRET: bootstrapSecret,
          }),
        ).rejects.toThrow(/bootstrap_client_id/u);
      } finally {
        await other.drop();
        await rm(otherDir, { recursive: true, force: true });
      }
    });

    it('accepts client_secret_post (credentials in the form body)', async () => {
      const answer = await token({
        grant_type: 'client_credentials',
        client_id: bootstrapId,
        client_secret: bootstrapSecret,
      });
      expect(answer.status).toBe(200);
      expect(decodeJwt(String(answer.body.access_token)).payload.client_id).toBe(bootstrapId);
    });

    it('uses a generated secret, and after rotate-secret only the new one', async () => {
      const account = await createAccount(base, { name: 'rotating client', scopes: ['files:read'] });
      const first = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(account.clientId, account.clientSecret) },
      );
      expect(first.status).toBe(200);
      const rotated = await fetch(`${base}/api/v1/admin/service-accounts/${account.clientId}/rotate-secret`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(rotated.status).toBe(200);
      expect(rotated.headers.get('cache-control')).toBe('no-store');
      const newSecret = String(((await rotated.json()) as { client_secret: string }).client_secret);
      expect(newSecret).not.toBe(account.clientSecret);
      const old = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(account.clientId, account.clientSecret) },
      );
      expectOAuthError(old, 401, 'invalid_client');
      const fresh = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(account.clientId, newSecret) },
      );
      expect(fresh.status).toBe(200);
    });

    it('answers invalid_client with 401 and a Basic challenge: wrong secret, unknown client, no credentials', async () => {
      const account = await createAccount(base, { name: 'victim of typos', scopes: ['files:read'] });
      const answers = [
        await token(
          { grant_type: 'client_credentials' },
          { authorization: basic(account.clientId, 'wrong') },
        ),
        await token({ grant_type: 'client_credentials' }, { authorization: basic('sa_nobody', 'wrong') }),
        await token({
          grant_type: 'client_credentials',
          client_id: account.clientId,
          client_secret: 'wrong',
        }),
        await token({ grant_type: 'client_credentials' }),
        await token({ grant_type: 'client_credentials' }, { authorization: 'Basic !!!' }),
        // The secret Basic-encoded without form-urlencoding: '%' and '+' no longer mean themselves.
        await token(
          { grant_type: 'client_credentials' },
          { authorization: basic(bootstrapId, bootstrapSecret, (s) => s) },
        ),
      ];
      for (const answer of answers) {
        expectOAuthError(answer, 401, 'invalid_client');
        expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /u);
      }
      // One answer for every failure (RFC 6749 §5.2 leaks nothing about which part was wrong).
      expect(new Set(answers.slice(0, 3).map((a) => a.body.error_description)).size).toBe(1);
    });

    it('refuses Basic and body credentials at once with invalid_request', async () => {
      const answer = await token(
        { grant_type: 'client_credentials', client_id: bootstrapId, client_secret: bootstrapSecret },
        { authorization: basic(bootstrapId, bootstrapSecret) },
      );
      expectOAuthError(answer, 400, 'invalid_request');
    });

    it('answers the 11th failure within a minute with 429 and Retry-After, also for the right secret', async () => {
      const account = await createAccount(base, { name: 'brute-forced', scopes: ['files:read'] });
      const wrong = { authorization: basic(account.clientId, 'not the secret') };
      for (let attempt = 1; attempt <= 10; attempt++) {
        const answer = await token({ grant_type: 'client_credentials' }, wrong);
        expect({ attempt, status: answer.status }).toEqual({ attempt, status: 401 });
      }
      for (const headers of [wrong, { authorization: basic(account.clientId, account.clientSecret) }]) {
        const limited = await token({ grant_type: 'client_credentials' }, headers);
        expect(limited.status).toBe(429);
        const retryAfter = Number(limited.headers.get('retry-after'));
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(limited.headers.get('cache-control')).toBe('no-store');
        expect(typeof limited.body.error).toBe('string');
      }
      // The budget is per client: another client from the same address is unaffected.
      expect(
        (
          await token(
            { grant_type: 'client_credentials' },
            { authorization: basic(bootstrapId, bootstrapSecret) },
          )
        ).status,
      ).toBe(200);
    });
  });

  describe('request validation (§4.4.2, §5.2)', () => {
    const auth = (): Record<string, string> => ({ authorization: basic(bootstrapId, bootstrapSecret) });

    it('missing grant_type → invalid_request', async () => {
      expectOAuthError(await token({}, auth()), 400, 'invalid_request');
    });

    it('grant_type=password → unsupported_grant_type', async () => {
      expectOAuthError(
        await token({ grant_type: 'password', username: 'admin', password: 'x' }, auth()),
        400,
        'unsupported_grant_type',
      );
    });

    it('a repeated parameter → invalid_request', async () => {
      expectOAuthError(
        await token('grant_type=client_credentials&grant_type=client_credentials', auth()),
        400,
        'invalid_request',
      );
    });

    it('a JSON body (wrong content type) → invalid_request', async () => {
      const response = await anonymousFetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth() },
        body: JSON.stringify({ grant_type: 'client_credentials' }),
      });
      expectOAuthError(
        {
          status: response.status,
          headers: response.headers,
          body: (await response.json()) as Record<string, unknown>,
        },
        400,
        'invalid_request',
      );
    });

    it('an unknown scope → invalid_scope; a scope the client does not hold → invalid_scope', async () => {
      expectOAuthError(
        await token({ grant_type: 'client_credentials', scope: 'files:read launch:missiles' }, auth()),
        400,
        'invalid_scope',
      );
      expectOAuthError(
        await token({ grant_type: 'client_credentials', scope: 'storage:read' }, auth()),
        400,
        'invalid_scope',
      );
    });

    it('honours scope narrowing: the token carries only what was asked, and is held to it', async () => {
      const answer = await token({ grant_type: 'client_credentials', scope: 'files:read' }, auth());
      expect(answer.status).toBe(200);
      expect(answer.body.scope).toBe('files:read');
      const accessToken = String(answer.body.access_token);
      expect(decodeJwt(accessToken).payload.scope).toBe('files:read');
      const headers = { authorization: `Bearer ${accessToken}` };
      expect((await anonymousFetch(`${base}/api/v1/search?q=x`, { headers })).status).toBe(200);
      const upload = await anonymousFetch(`${base}/api/v1/files?name=x.txt`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        body: 'x',
      });
      expect(upload.status).toBe(403);
      expect(upload.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
      expect(upload.headers.get('www-authenticate')).toContain('scope="files:write"');
      // Without a scope parameter the token carries every scope the client holds (§3.3 default).
      const all = await token({ grant_type: 'client_credentials' }, auth());
      expect(String(all.body.scope).split(' ').sort()).toEqual([
        'admin:read',
        'admin:write',
        'audit:read',
        'files:delete',
        'files:legal_hold',
        'files:read',
        'files:write',
      ]);
    });
  });

  describe('metadata (RFC 8414) and keys (RFC 7517)', () => {
    const localhost = (): string => base.replace('127.0.0.1', 'localhost');

    it('publishes metadata whose issuer is the base URL the client used', async () => {
      for (const url of [base, localhost()]) {
        const response = await anonymousFetch(`${url}/.well-known/oauth-authorization-server`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/u);
        const metadata = (await response.json()) as Record<string, unknown>;
        expect(metadata).toMatchObject({
          issuer: url,
          token_endpoint: `${url}/oauth/token`,
          jwks_uri: `${url}/.well-known/jwks.json`,
          grant_types_supported: ['client_credentials'],
          response_types_supported: [],
        });
        expect(metadata.token_endpoint_auth_methods_supported).toEqual(
          expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
        );
        expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['files:read', 'admin:write']));
      }
    });

    it("binds a token to the issuer it was obtained from: a localhost token is not 127.0.0.1's", async () => {
      const answer = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(bootstrapId, bootstrapSecret) },
        localhost(),
      );
      expect(answer.status).toBe(200);
      const accessToken = String(answer.body.access_token);
      expect(decodeJwt(accessToken).payload.iss).toBe(localhost());
      const headers = { authorization: `Bearer ${accessToken}` };
      expect((await anonymousFetch(`${localhost()}/api/v1/search?q=x`, { headers })).status).toBe(200);
      const elsewhere = await anonymousFetch(`${base}/api/v1/search?q=x`, { headers });
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.headers.get('www-authenticate')).toContain('error="invalid_token"');
    });

    it('publishes RSA public keys with kid, alg and use, and nothing private', async () => {
      const response = await anonymousFetch(`${base}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/u);
      const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
        expect(typeof key.kid).toBe('string');
        expect(typeof key.n).toBe('string');
        expect(key.e).toBe('AQAB');
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
      }
      const signed = decodeJwt(await clientToken(base, bootstrap)).header.kid;
      expect(keys.map((k) => k.kid)).toContain(signed);
    });
  });

  // The e2e setup's global fetch adds this suite's bearer token to every request to the server;
  // the library gets the plain fetch so the token endpoint sees only the client's own credentials.
  describe('a real OAuth client library (openid-client 6)', () => {
    it('discovers the server, obtains a token with client_secret_basic, and ArtStore accepts it', async () => {
      const client = await import('openid-client');
      const config = await client.discovery(
        new URL(base),
        bootstrapId,
        undefined,
        client.ClientSecretBasic(bootstrapSecret),
        {
          algorithm: 'oauth2',
          execute: [client.allowInsecureRequests],
          [client.customFetch]: anonymousFetch,
        },
      );
      expect(config.serverMetadata().issuer).toBe(base);
      const granted = await client.clientCredentialsGrant(config, { scope: 'files:read' });
      expect(granted.token_type.toLowerCase()).toBe('bearer');
      expect(granted.scope).toBe('files:read');
      const search = await anonymousFetch(`${base}/api/v1/search?q=anything`, {
        headers: { authorization: `Bearer ${granted.access_token}` },
      });
      expect(search.status).toBe(200);
    });

    it('obtains a token with client_secret_post as well', async () => {
      const client = await import('openid-client');
      const config = await client.discovery(
        new URL(base),
        bootstrapId,
        undefined,
        client.ClientSecretPost(bootstrapSecret),
        {
          algorithm: 'oauth2',
          execute: [client.allowInsecureRequests],
          [client.customFetch]: anonymousFetch,
        },
      );
      const granted = await client.clientCredentialsGrant(config);
      const search = await anonymousFetch(`${base}/api/v1/search?q=anything`, {
        headers: { authorization: `Bearer ${granted.access_token}` },
      });
      expect(search.status).toBe(200);
    });

    it('surfaces invalid_client to the library as an OAuth error', async () => {
      const client = await import('openid-client');
      const config = await client.discovery(
        new URL(base),
        bootstrapId,
        undefined,
        client.ClientSecretBasic('wrong secret'),
        {
          algorithm: 'oauth2',
          execute: [client.allowInsecureRequests],
          [client.customFetch]: anonymousFetch,
        },
      );
      const refused = (await client.clientCredentialsGrant(config).then(
        () => null,
        (error: unknown) => error,
      )) as { status?: number; cause?: unknown; response?: Response } | null;
      // RFC 6749 §5.2: the library sees the 401 Basic challenge and the invalid_client body.
      expect(refused).toMatchObject({ status: 401, cause: [{ scheme: 'basic' }] });
      expect(await refused?.response?.json()).toMatchObject({ error: 'invalid_client' });
    });
  });
});
