import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ApplicationError } from '../../application/errors';

export interface TokenSourceOptions {
  readonly now?: () => number;
  /**
   * Where the token is kept (mode 0600) so a restarted process goes on with it while it has life
   * left, instead of needing the issuer before it can call anyone (e.g. both restarting at once).
   */
  readonly cacheFile?: string;
}

interface Held {
  readonly token: string;
  readonly renewAt: number;
  readonly expiresAt: number;
}

/**
 * This process's own access token for calling the other roles (split mode): obtained from the
 * issuer's token endpoint with client credentials, cached, and renewed when a third of its life is
 * left, so a call never leaves with a token about to expire. Concurrent callers share one request.
 */
export class ClientCredentialsTokenSource {
  private current: Held | null = null;
  private pending: Promise<string> | null = null;
  private restored: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly tokenEndpoint: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly scope: string,
    private readonly options: TokenSourceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async token(): Promise<string> {
    this.restored ??= this.restore();
    await this.restored;
    return this.held();
  }

  private held(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    this.pending ??= this.fetchToken().finally(() => (this.pending = null));
    const held = this.current;
    // The issuer down or failing (restarting) while the token still has life left: go on with it.
    // A refusal (revoked credentials) is not waited out.
    return this.pending.catch((error: unknown) => {
      const issuerDown = error instanceof ApplicationError && error.details['issuer_down'] === true;
      if (issuerDown && held && this.now() < held.expiresAt - 5_000) return held.token;
      throw error;
    });
  }

  /** Drops the cached token, e.g. after a 401 from the callee. */
  invalidate(): void {
    this.current = null;
  }

  private async fetchToken(): Promise<string> {
    const basic = Buffer.from(
      `${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.clientSecret)}`,
    ).toString('base64');
    let response: Response;
    try {
      response = await fetch(this.tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: this.scope }).toString(),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      // Like a refusal below, an unreachable storage element to the caller (a 503, not a 500).
      throw new ApplicationError(
        'storage_unavailable',
        `token endpoint ${this.tokenEndpoint} is unreachable: ${String((error as Error).cause ?? (error as Error).message)}`,
        { issuer_down: true },
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
      error?: unknown;
    };
    if (!response.ok || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      // To the caller this is an unreachable storage element; the message tells the operator why.
      throw new ApplicationError(
        'storage_unavailable',
        `token endpoint ${this.tokenEndpoint} refused client '${this.clientId}': ${response.status} ${String(body.error ?? '')}`,
        { issuer_down: response.status >= 500 },
      );
    }
    const now = this.now();
    this.current = {
      token: body.access_token,
      renewAt: now + (body.expires_in * 1000 * 2) / 3,
      expiresAt: now + body.expires_in * 1000,
    };
    await this.keep(this.current).catch(() => undefined);
    return body.access_token;
  }

  /** The token a previous run of this process kept, when it is for the same client and still has life. */
  private async restore(): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as Held & {
        endpoint: string;
        client_id: string;
        scope: string;
      };
      const same =
        saved.endpoint === this.tokenEndpoint &&
        saved.client_id === this.clientId &&
        saved.scope === this.scope;
      if (same && typeof saved.token === 'string' && this.now() < saved.expiresAt - 5_000)
        this.current ??= { token: saved.token, renewAt: saved.renewAt, expiresAt: saved.expiresAt };
    } catch {
      // None kept yet, or unreadable: the first call fetches one.
    }
  }

  private async keep(held: Held): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.tmp`;
    const saved = { endpoint: this.tokenEndpoint, client_id: this.clientId, scope: this.scope, ...held };
    await writeFile(temp, JSON.stringify(saved), { mode: 0o600 });
    await rename(temp, file);
  }
}
