import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every ArtStore endpoint but health, metrics and OAuth needs a bearer token. Tests sign in once
 * per server (`authorize`) and this module's fetch then sends that token to that origin, unless a
 * request sets its own Authorization header. `anonymousFetch` never adds one.
 */
export const anonymousFetch: typeof fetch = globalThis.fetch.bind(globalThis);
const tokens = new Map<string, string>();

export function authorize(baseUrl: string, token: string): void {
  tokens.set(new URL(baseUrl).origin, token);
}

/** The Authorization header the authorizing fetch would send to `url`'s origin, if any. */
export function authorizationFor(url: string): Record<string, string> {
  const token = tokens.get(new URL(url).origin);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export function forgetTokens(): void {
  tokens.clear();
}

const authorizingFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const token = tokens.get(url.origin);
  if (!token) return anonymousFetch(input, init);
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  return anonymousFetch(input, { ...init, headers });
};

export function installAuthorizingFetch(): void {
  globalThis.fetch = authorizingFetch;
}

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** What the admin role wrote to its data directory on first start. */
export async function bootstrapCredentials(dataDir: string): Promise<ClientCredentials> {
  const file = JSON.parse(await readFile(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as {
    service_account: { client_id: string; client_secret: string };
  };
  return { clientId: file.service_account.client_id, clientSecret: file.service_account.client_secret };
}

/** RFC 6749 §4.4 with HTTP Basic; throws with the answer when refused. */
export async function clientToken(
  adminUrl: string,
  credentials: ClientCredentials,
  scope?: string,
): Promise<string> {
  const basic = Buffer.from(
    `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
  ).toString('base64');
  const response = await anonymousFetch(`${adminUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString(),
    // A grant that hangs (the admin black-holed) fails, so whoever renews tries again.
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) {
    throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

/** Signs in with the bootstrap account of `dataDir` and authorizes every given server with it. */
export async function signInAsBootstrapAdmin(
  adminUrl: string,
  dataDir: string,
  ...others: string[]
): Promise<string> {
  const token = await clientToken(adminUrl, await bootstrapCredentials(dataDir));
  for (const url of [adminUrl, ...others]) authorize(url, token);
  return token;
}

/** Creates a service account through the admin API; returns its credentials. */
export async function createAccount(
  adminUrl: string,
  settings: { name: string; scopes: string[]; internal?: boolean; collections?: Record<string, string[]> },
): Promise<ClientCredentials> {
  const response = await fetch(`${adminUrl}/api/v1/admin/service-accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
  const body = (await response.json()) as { client_id?: string; client_secret?: string };
  if (response.status !== 201 || !body.client_id || !body.client_secret) {
    throw new Error(`creating account answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return { clientId: body.client_id, clientSecret: body.client_secret };
}

/** The token registered for a server, for requests written by hand (raw sockets). */
export function tokenFor(baseUrl: string): string {
  const token = tokens.get(new URL(baseUrl).origin);
  if (!token) throw new Error(`no token for ${baseUrl}: sign in first`);
  return token;
}

/** `Host` and `Authorization` lines for a raw HTTP/1.1 request to a server the test signed in to. */
export function rawAuthHeaders(baseUrl: string): string {
  return `Host: ${new URL(baseUrl).host}\r\nAuthorization: Bearer ${tokenFor(baseUrl)}\r\n`;
}

/** A token with the storage scopes, as a role's own internal account would hold. */
export async function internalToken(adminUrl: string): Promise<string> {
  const account = await createAccount(adminUrl, {
    name: `test role ${Math.random().toString(36).slice(2)}`,
    scopes: ['storage:read', 'storage:write'],
    internal: true,
  });
  return clientToken(adminUrl, account);
}

/**
 * Access tokens live 15 minutes, so a client running longer signs in again, as a real one would:
 * `signIn` every `everyMs`, and every `retryMs` after a failure (the admin killed or cut off).
 * Returns the function that stops it.
 */
export function keepSignedIn(
  signIn: () => Promise<unknown>,
  everyMs = 4 * 60_000,
  retryMs = 5_000,
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout;
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      signIn().then(
        () => schedule(everyMs),
        () => schedule(retryMs),
      );
    }, ms);
    timer.unref();
  };
  schedule(everyMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
