import { createHmac, sign, type KeyObject } from 'node:crypto';
import { Client } from 'pg';
import { NodeKeyCrypto } from '../../src/adapters/auth/node-key-crypto';

/**
 * Hand-built JWTs for negative tests. Tokens signed with the issuer's real private key (read from
 * the signing_keys table and opened with the master key the test gave the admin) isolate one
 * defect at a time: a wrong `iss` signed by the real key must fail on `iss`, not on the signature.
 */
export type JsonObject = Record<string, unknown>;

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
const segment = (value: JsonObject): string => b64(JSON.stringify(value));

export function decodeJwt(token: string): { header: JsonObject; payload: JsonObject; signature: string } {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || signature === undefined) throw new Error(`not a compact JWS: ${token}`);
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as JsonObject,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JsonObject,
    signature,
  };
}

/** RS256 over whatever header and payload are given (nothing is added or checked). */
export function signRs256(header: JsonObject, payload: JsonObject, key: KeyObject): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** HS256 with `secret` as the HMAC key: the classic RS256/HS256 confusion when it is a public key. */
export function signHs256(header: JsonObject, payload: JsonObject, secret: string | Buffer): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** `alg: none`: an empty signature. */
export function unsigned(header: JsonObject, payload: JsonObject): string {
  return `${segment(header)}.${segment(payload)}.`;
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function withPayload(token: string, payload: JsonObject): string {
  const [header, , signature] = token.split('.');
  return `${header}.${segment(payload)}.${signature}`;
}

export function withRawHeader(token: string, rawHeader: string): string {
  const [, payload, signature] = token.split('.');
  return `${rawHeader}.${payload}.${signature}`;
}

/** The issuer's private signing keys by kid, decrypted with the admin's master key. */
export async function issuerPrivateKeys(
  databaseUrl: string,
  masterKey: string,
): Promise<Map<string, KeyObject>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ kid: string; encrypted_private_key: string }>(
      'select kid, encrypted_private_key from signing_keys',
    );
    const crypto = new NodeKeyCrypto(masterKey);
    return new Map(rows.map((row) => [row.kid, crypto.openPrivateKey(row.kid, row.encrypted_private_key)]));
  } finally {
    await client.end();
  }
}
