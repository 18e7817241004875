import { createPublicKey } from 'node:crypto';
import { clientToken, createAccount, internalToken, signInAsBootstrapAdmin } from '../../support/auth';
import { json, rawUpload, sha256Hex } from '../../support/http';
import {
  decodeJwt,
  issuerPrivateKeys,
  signHs256,
  signRs256,
  unsigned,
  withPayload,
} from '../../support/jwt-forgery';
import type { Fixtures } from './fuzz-endpoints';

/** Deterministic content of the readable fixtures: big enough for interesting ranges. */
export const CONTENT = Buffer.from(Array.from({ length: 100_000 }, (_, i) => 97 + ((i * 7) % 26)));

async function upload(base: string, name: string, query: Record<string, string>): Promise<string> {
  const response = await rawUpload(base, CONTENT, { name, ...query });
  if (response.status !== 201)
    throw new Error(`fixture upload answered ${response.status}: ${await response.text()}`);
  return (await json<{ file_id: string }>(response)).file_id;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status >= 300)
    throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
  return json(response);
}

async function tusUpload(base: string): Promise<string> {
  const response = await fetch(`${base}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': '64',
      'upload-metadata': `filename ${Buffer.from('tus.txt').toString('base64')}`,
    },
  });
  const location = response.headers.get('location');
  if (response.status !== 201 || !location) throw new Error(`tus creation answered ${response.status}`);
  return location.split('/').at(-1)!;
}

/** Everything the fuzzer's valid values point at, on a fresh all-in-one server. */
export async function createFixtures(
  base: string,
  dataDir: string,
  databaseUrl: string,
  masterKey: string,
): Promise<Fixtures> {
  const admin = await signInAsBootstrapAdmin(base, dataDir);
  const internal = await internalToken(base);
  const reader = await createAccount(base, { name: 'fuzz reader', scopes: ['files:read'] });
  const readonly = await clientToken(base, reader);

  const { header, payload } = decodeJwt(admin);
  const keys = await issuerPrivateKeys(databaseUrl, masterKey);
  const key = keys.get(String(header.kid))!;
  const jwks = await json<{ keys: Record<string, unknown>[] }>(await fetch(`${base}/.well-known/jwks.json`));
  const publicPem = createPublicKey({ key: jwks.keys[0]! as never, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const now = Math.floor(Date.now() / 1000);
  const badTokens = [
    signRs256(header, { ...payload, exp: now - 60, iat: now - 3600, nbf: now - 3600 }, key),
    signRs256(header, { ...payload, nbf: now + 3600 }, key),
    signRs256(header, { ...payload, iss: 'http://evil.example' }, key),
    signRs256(header, { ...payload, aud: 'someone-else' }, key),
    signRs256(header, { ...payload, sub: 'sa_nobody' }, key),
    signRs256(header, { ...payload, scope: 12 }, key),
    signRs256({ ...header, kid: 'unknown' }, payload, key),
    withPayload(admin, { ...payload, scope: 'storage:write admin:write' }),
    unsigned({ alg: 'none', typ: 'JWT' }, payload),
    signHs256({ ...header, alg: 'HS256' }, payload, publicPem),
  ];

  const files = {
    temporary: await upload(base, 'temporary.txt', {}),
    permanent: await upload(base, 'permanent.txt', { retention_policy: 'permanent' }),
    patch: await upload(base, 'patch.txt', {}),
    hold: await upload(base, 'hold.txt', { retention_policy: 'permanent' }),
    finalize: await Promise.all([1, 2, 3].map((i) => upload(base, `finalize-${i}.txt`, {}))),
    doomed: await Promise.all([1, 2, 3, 4, 5].map((i) => upload(base, `doomed-${i}.txt`, {}))),
    internal: await upload(base, 'internal.txt', {}),
  };

  const ses = await json<{ items: { id: string }[] }>(await fetch(`${base}/api/v1/storage-elements`));
  const accounts = await Promise.all(
    [1, 2].map(async (i) =>
      String(
        (
          await post(`${base}/api/v1/admin/service-accounts`, {
            name: `fuzz victim ${i}`,
            scopes: ['files:read'],
          })
        ).client_id,
      ),
    ),
  );
  const username = 'fuzz-user';
  const password = 'Fuzzing-Is-Fun-2026!';
  const users = [
    String((await post(`${base}/api/v1/admin/users`, { username, password, role: 'readonly' })).id),
    String(
      (await post(`${base}/api/v1/admin/users`, { username: 'fuzz-victim', password, role: 'readonly' })).id,
    ),
  ];
  const refreshTokens = await Promise.all(
    [1, 2].map(async () =>
      String((await post(`${base}/api/v1/auth/login`, { username, password })).refresh_token),
    ),
  );
  const sagas = await json<{ items: { saga_id?: string; id?: string }[] }>(
    await fetch(`${base}/api/v1/sagas?limit=3`),
  );
  const uploads = await Promise.all([1, 2, 3].map(() => tusUpload(base)));
  return {
    tokens: { admin, internal, readonly },
    badTokens,
    files,
    contentSha256: sha256Hex(CONTENT),
    storageElements: ses.items.map((s) => s.id),
    accounts,
    accountClient: { id: reader.clientId, secret: reader.clientSecret },
    users,
    username,
    refreshTokens,
    sagas: sagas.items.map((s) => String(s.saga_id ?? s.id)),
    uploads,
  };
}

/**
 * Access tokens live 15 minutes and a tier-2 run outlasts them: the fixtures again with new
 * tokens for the same principals (bootstrap admin, an internal account of its own, the reader).
 * A grant refused (the fuzzer may have changed the reader's secret) keeps the old token.
 */
export async function tokenRenewer(
  base: string,
  dataDir: string,
): Promise<(fx: Fixtures) => Promise<Fixtures>> {
  const internal = await createAccount(base, {
    name: 'fuzz internal (renewed tokens)',
    scopes: ['storage:read', 'storage:write'],
    internal: true,
  });
  const keep = (token: Promise<string>, old: string) => token.catch(() => old);
  return async (fx) => ({
    ...fx,
    tokens: {
      admin: await keep(signInAsBootstrapAdmin(base, dataDir), fx.tokens.admin),
      internal: await keep(clientToken(base, internal), fx.tokens.internal),
      readonly: await keep(
        clientToken(base, { clientId: fx.accountClient.id, clientSecret: fx.accountClient.secret }),
        fx.tokens.readonly,
      ),
    },
  });
}
