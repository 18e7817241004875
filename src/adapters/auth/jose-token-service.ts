import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, createLocalJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { KeyRing } from '../../application/identity/key-ring';
import { IssuerUnavailable } from './issuer-key-set';
import type { Clock } from '../../application/ports/clock';
import type {
  AccessTokenClaims,
  AccessTokenGrant,
  AccessTokenSigner,
  AccessTokenVerifier,
  IssuedAccessToken,
  Jwks,
} from '../../application/ports/signing-keys';

const ALG = 'RS256';
/** RFC 9068 §2.1: access tokens are typed, so an ID token or other JWT is not accepted as one. */
const TYP = 'at+jwt';
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 15 * 60;
export const DEFAULT_LEEWAY_SECONDS = 30;

/** Any reason a token is not accepted; `reason` is for logs, never for the client (RFC 6750 §3.1). */
export class InvalidAccessToken extends Error {
  override readonly name = 'InvalidAccessToken';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid access token: ${reason}`, options);
  }
}

/** Opens the private key of a ring record (NodeKeyCrypto does). */
export interface PrivateKeyOpener {
  openPrivateKey(kid: string, encryptedPrivateKey: string): KeyObject;
}

export interface SignerOptions {
  /** The issuer when a grant names none (a server reached under several URLs names it per grant). */
  readonly issuer?: string;
  readonly audience: string;
  readonly lifetimeSeconds?: number;
}

export class JoseAccessTokenSigner implements AccessTokenSigner {
  private readonly lifetimeSeconds: number;
  // Decrypting and parsing PKCS#8 per token is wasted work; keys are immutable per kid.
  private readonly opened = new Map<string, KeyObject>();

  constructor(
    private readonly ring: KeyRing,
    private readonly keys: PrivateKeyOpener,
    private readonly clock: Clock,
    private readonly options: SignerOptions,
  ) {
    this.lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
    if (!Number.isInteger(this.lifetimeSeconds) || this.lifetimeSeconds <= 0) {
      throw new Error('access token lifetime must be a positive number of seconds');
    }
    // The ring keeps a retired key only for its maximum token lifetime.
    if (this.lifetimeSeconds * 1000 > ring.policy.maxTokenLifetimeMs) {
      throw new Error('access token lifetime exceeds the key ring maxTokenLifetimeMs');
    }
  }

  async sign(grant: AccessTokenGrant): Promise<IssuedAccessToken> {
    const issuer = grant.issuer ?? this.options.issuer;
    if (!issuer) throw new Error('an access token needs an issuer: name it in the grant or the signer');
    const now = this.clock.now();
    const key = await this.ring.signingKey(now);
    let privateKey = this.opened.get(key.kid);
    if (!privateKey) {
      privateKey = this.keys.openPrivateKey(key.kid, key.encryptedPrivateKey);
      this.opened.set(key.kid, privateKey);
    }
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.lifetimeSeconds;
    const token = await new SignJWT({ client_id: grant.clientId, scope: grant.scopes.join(' ') })
      .setProtectedHeader({ alg: ALG, typ: TYP, kid: key.kid })
      .setIssuer(issuer)
      .setAudience(this.options.audience)
      .setSubject(grant.subject)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(privateKey);
    return { token, expiresAt: new Date(exp * 1000), expiresIn: this.lifetimeSeconds };
  }
}

export interface VerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly leewaySeconds?: number;
}

const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'client_id', 'scope', 'jti', 'iat', 'nbf', 'exp'];

/** RFC 8725 §3.1/§3.8-3.9: algorithm, type, issuer and audience pinned; every claim required. */
export class JoseAccessTokenVerifier implements AccessTokenVerifier {
  constructor(
    private readonly keySet: JWTVerifyGetKey,
    private readonly clock: Clock,
    private readonly options: VerifierOptions,
  ) {}

  async verify(token: string): Promise<AccessTokenClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, requireKid(this.keySet), {
        algorithms: [ALG],
        typ: TYP,
        issuer: this.options.issuer,
        audience: this.options.audience, // jwtVerify checked aud against it
        clockTolerance: this.options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS,
        currentDate: this.clock.now(),
        requiredClaims: REQUIRED_CLAIMS,
      }));
    } catch (error) {
      // A bad token is an InvalidAccessToken; the issuer's keys out of reach is not the token's fault.
      if (error instanceof InvalidAccessToken || error instanceof IssuerUnavailable) throw error;
      const code = error instanceof errors.JOSEError ? error.code : 'ERR_UNKNOWN';
      throw new InvalidAccessToken(`${code}: ${(error as Error).message}`, { cause: error });
    }
    const { iss, sub, jti, iat, nbf, exp, client_id: clientId, scope } = payload;
    if (typeof clientId !== 'string' || typeof scope !== 'string') {
      throw new InvalidAccessToken('client_id and scope must be strings');
    }
    if (!iss || !sub || !jti || iat === undefined || nbf === undefined || exp === undefined) {
      throw new InvalidAccessToken('a required claim is missing');
    }
    return {
      issuer: iss,
      audience: this.options.audience, // jwtVerify checked aud against it
      subject: sub,
      clientId,
      scopes: scope.split(' ').filter((s) => s !== ''),
      jti,
      issuedAt: new Date(iat * 1000),
      notBefore: new Date(nbf * 1000),
      expiresAt: new Date(exp * 1000),
    };
  }
}

/** A kid is mandatory: without it a set holding one key would accept any header. */
function requireKid(keySet: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    if (typeof header.kid !== 'string' || header.kid === '') {
      throw new InvalidAccessToken('the header has no kid');
    }
    return keySet(header, token);
  };
}

/**
 * A key set read from the ring (or any JWKS source) on every verification, for in-process use.
 * Each distinct JWKS document is turned into a jose key set once (jose then keeps the imported
 * keys), so a source that returns the same cached document costs no key import per request.
 */
export function localKeySet(source: () => Promise<Jwks>): JWTVerifyGetKey {
  const sets = new WeakMap<Jwks, JWTVerifyGetKey>();
  return async (header, token) => {
    const jwks = await source();
    let set = sets.get(jwks);
    if (!set) {
      set = createLocalJWKSet({ keys: jwks.keys.map((k) => ({ ...k })) });
      sets.set(jwks, set);
    }
    return set(header, token);
  };
}
