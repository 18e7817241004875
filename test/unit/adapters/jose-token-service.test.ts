import { createHmac, createPublicKey, sign as rsaSign, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InvalidAccessToken,
  JoseAccessTokenSigner,
  JoseAccessTokenVerifier,
  localKeySet,
} from '../../../src/adapters/auth/jose-token-service';
import { IssuerKeySet, IssuerUnavailable } from '../../../src/adapters/auth/issuer-key-set';
import { NodeKeyCrypto } from '../../../src/adapters/auth/node-key-crypto';
import { toProblem } from '../../../src/adapters/http/problem';
import { MemorySigningKeyStore } from '../../../src/adapters/memory/memory-signing-key-store';
import { KeyRing } from '../../../src/application/identity/key-ring';
import type { SigningKeyRecord } from '../../../src/application/ports/signing-keys';
import { FixedClock, T0 } from '../../support/builders';

const ISSUER = 'https://artstore.example/';
const AUDIENCE = 'artstore-api';
const MASTER = Buffer.alloc(32, 7).toString('base64');
const NOW = Math.floor(T0.getTime() / 1000);

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWS built by hand, for headers and payloads jose's SignJWT would refuse to produce. */
function rawRs256(header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function validPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'svc-reports',
    client_id: 'svc-reports',
    scope: 'files:read files:write',
    jti: 'jti-1',
    iat: NOW,
    nbf: NOW,
    exp: NOW + 900,
    ...overrides,
  };
}

describe('JoseAccessTokenSigner and JoseAccessTokenVerifier', () => {
  const clock = new FixedClock(T0);
  const crypto = new NodeKeyCrypto(MASTER);
  const ring = new KeyRing(new MemorySigningKeyStore(), crypto, clock);
  const signer = new JoseAccessTokenSigner(ring, crypto, clock, { issuer: ISSUER, audience: AUDIENCE });
  const verifierAt = (now: Date = T0, options: { issuer?: string; audience?: string } = {}) =>
    new JoseAccessTokenVerifier(
      localKeySet(() => ring.jwks()),
      new FixedClock(now),
      {
        issuer: options.issuer ?? ISSUER,
        audience: options.audience ?? AUDIENCE,
      },
    );
  let current: SigningKeyRecord;
  let privateKey: KeyObject;
  let stranger: KeyObject;
  let good: string;

  beforeAll(async () => {
    current = await ring.ensureCurrent();
    privateKey = crypto.openPrivateKey(current.kid, current.encryptedPrivateKey);
    const other = await crypto.generate();
    stranger = crypto.openPrivateKey(other.kid, other.encryptedPrivateKey);
    good = (
      await signer.sign({
        subject: 'svc-reports',
        clientId: 'svc-reports',
        scopes: ['files:read', 'files:write'],
      })
    ).token;
  });

  it('issues an RS256 at+jwt with kid and every claim, which verifies', async () => {
    const issued = await signer.sign({ subject: 'svc-a', clientId: 'client-a', scopes: ['files:read'] });
    expect(issued.expiresIn).toBe(900);
    expect(issued.expiresAt).toEqual(new Date(T0.getTime() + 900_000));
    const [header, payload] = issued.token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p ?? '', 'base64url').toString()));
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: current.kid });
    expect(payload).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'svc-a',
      client_id: 'client-a',
      scope: 'files:read',
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/u),
      iat: NOW,
      nbf: NOW,
      exp: NOW + 900,
    });
    await expect(verifierAt().verify(issued.token)).resolves.toEqual({
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'svc-a',
      clientId: 'client-a',
      scopes: ['files:read'],
      jti: payload.jti,
      issuedAt: T0,
      notBefore: T0,
      expiresAt: issued.expiresAt,
    });
  });

  it('accepts a hand-built token with valid claims (the forgeries below differ from it in one point)', async () => {
    const token = rawRs256({ alg: 'RS256', typ: 'at+jwt', kid: current.kid }, validPayload(), privateKey);
    await expect(verifierAt().verify(token)).resolves.toMatchObject({ subject: 'svc-reports', jti: 'jti-1' });
  });

  it('gives every token its own jti', async () => {
    const grant = { subject: 's', clientId: 'c', scopes: [] };
    const jti = async () => (await verifierAt().verify((await signer.sign(grant)).token)).jti;
    expect(await jti()).not.toBe(await jti());
  });

  it('accepts a token within the leeway on both ends', async () => {
    await expect(verifierAt(new Date(T0.getTime() + 900_000 + 29_000)).verify(good)).resolves.toBeDefined();
    await expect(verifierAt(new Date(T0.getTime() - 29_000)).verify(good)).resolves.toBeDefined();
  });

  it('refuses to sign with a lifetime longer than the ring keeps retired keys', () => {
    expect(
      () =>
        new JoseAccessTokenSigner(ring, crypto, clock, {
          issuer: ISSUER,
          audience: AUDIENCE,
          lifetimeSeconds: 901,
        }),
    ).toThrow(/maxTokenLifetimeMs/u);
  });

  const forged: [string, RegExp, () => string, (() => Date)?][] = [
    [
      'alg none',
      /ALG_NOT_ALLOWED/u,
      () => `${b64({ alg: 'none', typ: 'at+jwt', kid: current.kid })}.${b64(validPayload())}.`,
    ],
    [
      'HS256 signed with the public key as HMAC secret',
      /ALG_NOT_ALLOWED/u,
      () => {
        const header = { alg: 'HS256', typ: 'at+jwt', kid: current.kid };
        const input = `${b64(header)}.${b64(validPayload())}`;
        const secret = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' });
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      },
    ],
    [
      'an unknown kid',
      /NO_MATCHING_KEY/u,
      () => rawRs256({ alg: 'RS256', typ: 'at+jwt', kid: 'no-such-kid' }, validPayload(), privateKey),
    ],
    ['no kid', /no kid/u, () => rawRs256({ alg: 'RS256', typ: 'at+jwt' }, validPayload(), privateKey)],
    [
      'a tampered payload',
      /SIGNATURE_VERIFICATION_FAILED/u,
      () => {
        const [h, , s] = good.split('.');
        return `${h}.${b64(validPayload({ scope: 'admin' }))}.${s}`;
      },
    ],
    [
      'a wrong issuer',
      /"iss"/u,
      () =>
        rawRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: current.kid },
          validPayload({ iss: 'https://evil.example/' }),
          privateKey,
        ),
    ],
    [
      'a wrong audience',
      /"aud"/u,
      () =>
        rawRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: current.kid },
          validPayload({ aud: 'other-api' }),
          privateKey,
        ),
    ],
    [
      'expired (past exp + leeway)',
      /JWT_EXPIRED/u,
      () => good,
      () => new Date(T0.getTime() + 900_000 + 31_000),
    ],
    ['not yet valid (before nbf - leeway)', /"nbf"/u, () => good, () => new Date(T0.getTime() - 31_000)],
    [
      'no exp',
      /missing required "exp"/u,
      () =>
        rawRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: current.kid },
          validPayload({ exp: undefined }),
          privateKey,
        ),
    ],
    [
      'no jti',
      /missing required "jti"/u,
      () =>
        rawRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: current.kid },
          validPayload({ jti: undefined }),
          privateKey,
        ),
    ],
    [
      'no client_id',
      /missing required "client_id"/u,
      () =>
        rawRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: current.kid },
          validPayload({ client_id: undefined }),
          privateKey,
        ),
    ],
    [
      'a non-string scope',
      /must be strings/u,
      () =>
        rawRs256(
          { alg: 'RS256', typ: 'at+jwt', kid: current.kid },
          validPayload({ scope: ['admin'] }),
          privateKey,
        ),
    ],
    [
      'another key pair under the ring kid',
      /SIGNATURE_VERIFICATION_FAILED/u,
      () => rawRs256({ alg: 'RS256', typ: 'at+jwt', kid: current.kid }, validPayload(), stranger),
    ],
    [
      'a plain JWT type instead of at+jwt',
      /"typ"/u,
      () => rawRs256({ alg: 'RS256', typ: 'JWT', kid: current.kid }, validPayload(), privateKey),
    ],
    [
      'RS512 instead of the pinned RS256',
      /ALG_NOT_ALLOWED/u,
      () => {
        const input = `${b64({ alg: 'RS512', typ: 'at+jwt', kid: current.kid })}.${b64(validPayload())}`;
        return `${input}.${rsaSign('sha512', Buffer.from(input), privateKey).toString('base64url')}`;
      },
    ],
    [
      'a header that is not JSON',
      /Protected Header is invalid/u,
      () => `${b64('{"alg":"RS256",')}.${good.split('.')[1]}.${good.split('.')[2]}`,
    ],
    [
      'a header that is not base64url',
      /Protected Header is invalid/u,
      () => `%%%.${good.split('.')[1]}.${good.split('.')[2]}`,
    ],
    ['two segments only', /Invalid Compact JWS/u, () => good.split('.').slice(0, 2).join('.')],
    ['an empty string', /Invalid Compact JWS/u, () => ''],
  ];

  it.each(forged.map(([name, reason, token, now]) => ({ name, reason, token, now })))(
    'rejects a token with $name',
    async ({ reason, token, now }) => {
      const rejection = verifierAt(now?.()).verify(token());
      await expect(rejection).rejects.toBeInstanceOf(InvalidAccessToken);
      // The intended check refused it, not an accident of how the forgery was built.
      await expect(rejection).rejects.toMatchObject({ reason: expect.stringMatching(reason) });
    },
  );
  it('rejects a valid token when the verifier expects another issuer or audience', async () => {
    await expect(verifierAt(T0, { issuer: 'https://other.example/' }).verify(good)).rejects.toThrow(
      InvalidAccessToken,
    );
    await expect(verifierAt(T0, { audience: 'other-api' }).verify(good)).rejects.toThrow(InvalidAccessToken);
  });
});

describe('key rotation seen by verifiers', () => {
  const MIN = 60_000;

  it('a local key set follows the ring: old tokens verify until their key is pruned, new key after the lead', async () => {
    const clock = new FixedClock(T0);
    const crypto = new NodeKeyCrypto(MASTER);
    const ring = new KeyRing(new MemorySigningKeyStore(), crypto, clock);
    const signer = new JoseAccessTokenSigner(ring, crypto, clock, { issuer: ISSUER, audience: AUDIENCE });
    const verifier = new JoseAccessTokenVerifier(
      localKeySet(() => ring.jwks()),
      clock,
      { issuer: ISSUER, audience: AUDIENCE },
    );
    const grant = { subject: 's', clientId: 'c', scopes: ['files:read'] };
    const k1 = await ring.ensureCurrent();
    const next = await ring.rotate();
    clock.advance(10 * MIN - 1);
    const byOld = (await signer.sign(grant)).token;
    expect(JSON.parse(Buffer.from(byOld.split('.')[0] ?? '', 'base64url').toString()).kid).toBe(k1.kid);
    clock.advance(1);
    const byNew = (await signer.sign(grant)).token;
    expect(JSON.parse(Buffer.from(byNew.split('.')[0] ?? '', 'base64url').toString()).kid).toBe(next.kid);
    await expect(verifier.verify(byOld)).resolves.toBeDefined();
    clock.advance(15 * MIN + 30_000);
    await ring.ensureCurrent();
    expect((await ring.jwks()).keys.map((k) => k.kid)).toEqual([next.kid]);
    await expect(verifier.verify(byOld)).rejects.toThrow(InvalidAccessToken);
  });

  /** The admin's JWKS endpoint on port 0, serving the ring's set; `down` makes it answer 503. */
  async function jwksEndpoint(ring: KeyRing) {
    let fetches = 0;
    let down = false;
    const server: Server = createServer((_req, res) => {
      fetches += 1;
      if (down) {
        res.writeHead(503).end();
        return;
      }
      void ring.jwks().then((jwks) => {
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify(jwks));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`),
      fetches: () => fetches,
      setDown: (value: boolean) => (down = value),
      close: () => new Promise((resolve) => server.close(resolve)),
    };
  }

  /** A key set fresh for 5 minutes, usable for an hour while the issuer is down, kept in `dir`. */
  const keptSetOptions = (clock: FixedClock, dir: string, cooldownMs: number) => ({
    cacheMaxAgeMs: 5 * MIN,
    cooldownMs,
    staleGraceMs: 60 * MIN,
    cacheFile: join(dir, 'issuer-jwks.json'),
    now: () => clock.now().getTime(),
  });

  function issuerSetup() {
    const clock = new FixedClock(T0);
    const crypto = new NodeKeyCrypto(MASTER);
    const ring = new KeyRing(new MemorySigningKeyStore(), crypto, clock);
    const signer = new JoseAccessTokenSigner(ring, crypto, clock, { issuer: ISSUER, audience: AUDIENCE });
    const grant = { subject: 's', clientId: 'c', scopes: [] };
    const token = async () => (await signer.sign(grant)).token;
    const verifierOf = (keys: IssuerKeySet) =>
      new JoseAccessTokenVerifier(keys.getKey, clock, { issuer: ISSUER, audience: AUDIENCE });
    return { clock, ring, token, verifierOf };
  }

  it("the issuer's JWKS is fetched over HTTP and refetched when a token names a new kid", async () => {
    const { clock, ring, token, verifierOf } = issuerSetup();
    await ring.ensureCurrent();
    const endpoint = await jwksEndpoint(ring);
    try {
      const keys = new IssuerKeySet(endpoint.url, {
        cacheMaxAgeMs: 5 * MIN,
        cooldownMs: 0,
        staleGraceMs: 60 * MIN,
        now: () => clock.now().getTime(),
      });
      const verifier = verifierOf(keys);
      await expect(verifier.verify(await token())).resolves.toBeDefined();
      await expect(verifier.verify(await token())).resolves.toBeDefined();
      expect(endpoint.fetches()).toBe(1);
      await ring.rotate();
      clock.advance(10 * MIN);
      await expect(verifier.verify(await token())).resolves.toBeDefined();
      expect(endpoint.fetches()).toBe(2);
    } finally {
      await endpoint.close();
    }
  });

  it('an unreachable issuer: the last set serves within the grace, also after a restart, then a 503 — never a 401', async () => {
    const { clock, ring, token, verifierOf } = issuerSetup();
    await ring.ensureCurrent();
    const endpoint = await jwksEndpoint(ring);
    const dir = await mkdtemp(join(tmpdir(), 'artstore-jwks-'));
    const options = keptSetOptions(clock, dir, 30_000);
    try {
      const verifier = verifierOf(new IssuerKeySet(endpoint.url, options));
      await expect(verifier.verify(await token())).resolves.toBeDefined();
      endpoint.setDown(true);
      clock.advance(10 * MIN); // stale: refetched (and refused) in the background, the held set answers
      await expect(verifier.verify(await token())).resolves.toBeDefined();
      // A process started now, with the issuer still down, verifies from the kept set.
      const restarted = verifierOf(new IssuerKeySet(endpoint.url, options));
      await expect(restarted.verify(await token())).resolves.toBeDefined();
      // A forged token still fails as a bad token.
      const forged = `${(await token()).slice(0, -4)}AAAA`;
      await expect(restarted.verify(forged)).rejects.toThrow(InvalidAccessToken);
      clock.advance(60 * MIN); // past the grace: nothing usable
      const failure = await verifierOf(new IssuerKeySet(endpoint.url, options))
        .verify(await token())
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IssuerUnavailable);
      expect(toProblem(failure).code).toBe('dependency_unavailable');
      endpoint.setDown(false);
      await expect(verifier.verify(await token())).resolves.toBeDefined();
    } finally {
      await endpoint.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('a new kid while the issuer is down is a 503, and a kept set dated in the future is not trusted', async () => {
    const { clock, ring, token, verifierOf } = issuerSetup();
    await ring.ensureCurrent();
    const endpoint = await jwksEndpoint(ring);
    const dir = await mkdtemp(join(tmpdir(), 'artstore-jwks-'));
    const options = keptSetOptions(clock, dir, 0);
    try {
      const verifier = verifierOf(new IssuerKeySet(endpoint.url, options));
      await expect(verifier.verify(await token())).resolves.toBeDefined();
      const early = await token(); // signed by the key the kept set holds
      endpoint.setDown(true);
      await ring.rotate();
      clock.advance(10 * MIN); // the new key signs now; the held set does not know it
      const failure = await verifier.verify(await token()).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(IssuerUnavailable);

      // A kept set claiming to be fetched an hour from now is ignored: the fetch decides.
      const kept = JSON.parse(await readFile(options.cacheFile, 'utf8')) as { fetched_at: number };
      await writeFile(
        options.cacheFile,
        JSON.stringify({ ...kept, fetched_at: clock.now().getTime() + 60 * MIN }),
      );
      const restarted = await verifierOf(new IssuerKeySet(endpoint.url, options))
        .verify(early)
        .catch((error: unknown) => error);
      expect(restarted).toBeInstanceOf(IssuerUnavailable);
      endpoint.setDown(false);
      await expect(
        verifierOf(new IssuerKeySet(endpoint.url, options)).verify(await token()),
      ).resolves.toBeDefined();
    } finally {
      await endpoint.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
