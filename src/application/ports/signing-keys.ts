/** The public half of an RS256 signing key as published in the JWKS (RFC 7517 §4, RFC 7518 §6.3.1). */
export interface PublicJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
}

/** A JWK Set document, as served at `/.well-known/jwks.json`. */
export interface Jwks {
  readonly keys: readonly PublicJwk[];
}

/**
 * One key of the ring. `encryptedPrivateKey` is opaque to the application: only the KeyCrypto
 * adapter that produced it can open it. The key may sign from `activatesAt` until `retiredAt`
 * (null while no successor exists) and is published from `createdAt` until it is pruned.
 */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  readonly encryptedPrivateKey: string;
  readonly createdAt: Date;
  readonly activatesAt: Date;
  readonly retiredAt: Date | null;
}

export interface SigningKeyStore {
  /** Inserts, or replaces the record with the same kid. */
  save(record: SigningKeyRecord): Promise<void>;
  /** Every record, oldest first (createdAt, then kid). */
  list(): Promise<SigningKeyRecord[]>;
  /** Removes the records with these kids; unknown kids are ignored. */
  delete(kids: readonly string[]): Promise<void>;
}

export interface GeneratedKey {
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  readonly encryptedPrivateKey: string;
}

/** Makes new key pairs; the private half leaves it only encrypted. */
export interface KeyCrypto {
  generate(): Promise<GeneratedKey>;
}

/** What a token is issued for (RFC 6749 §4.4: the client is the subject). */
export interface AccessTokenGrant {
  /** The issuer identifier the client reached (RFC 8414 §2); the signer's own when absent. */
  readonly issuer?: string;
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresAt: Date;
  /** Seconds, for the `expires_in` of the token response (RFC 6749 §5.1). */
  readonly expiresIn: number;
}

/** The claims of a verified access token (RFC 9068 §2.2). */
export interface AccessTokenClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly jti: string;
  readonly issuedAt: Date;
  readonly notBefore: Date;
  readonly expiresAt: Date;
}

export interface AccessTokenSigner {
  sign(grant: AccessTokenGrant): Promise<IssuedAccessToken>;
}

/** Rejects every token it cannot fully trust; never returns partial claims. */
export interface AccessTokenVerifier {
  verify(token: string): Promise<AccessTokenClaims>;
}
