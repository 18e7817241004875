import { z } from 'zod';
import { ApplicationError } from '../../application/errors';
import { keepJson, keptJson } from '../system/kept-json';

const KeptToken = z.object({
  endpoint: z.string(),
  client_id: z.string(),
  scope: z.string(),
  token: z.string(),
  renewAt: z.number().finite(),
  expiresAt: z.number().finite(),
});

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
  private failedAt = Number.NEGATIVE_INFINITY;
  private droppedAt = Number.NEGATIVE_INFINITY;
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

  /**
   * The token to send. `rejected`: the token a callee just refused (`401`; e.g. the issuer's keys
   * were reset, so a token kept from before is unknown): dropped, and a new one fetched — at most
   * once every 10 s, so a callee that refuses every token cannot make us flood the issuer.
   */
  async token(rejected?: string): Promise<string> {
    this.restored ??= this.restore();
    await this.restored;
    const now = this.now();
    if (rejected && this.current?.token === rejected && now - this.droppedAt >= 10_000) {
      this.droppedAt = now;
      this.current = null;
    }
    return this.held();
  }

  private held(): Promise<string> {
    const held = this.current;
    const now = this.now();
    if (held && now < held.renewAt) return Promise.resolve(held.token);
    // Past renewal with life left: renewed in the background (at most once a second after a
    // failure), and this call goes on with the token held — an issuer down, slow or restarting
    // holds up no call. The token is valid until it expires whatever the issuer says meanwhile.
    if (held && now < held.expiresAt - 5_000) {
      if (!this.pending && now - this.failedAt >= 1_000) void this.renew().catch(() => undefined);
      return Promise.resolve(held.token);
    }
    return this.renew();
  }

  private renew(): Promise<string> {
    this.pending ??= this.fetchToken()
      .catch((error: unknown) => {
        this.failedAt = this.now();
        throw error;
      })
      .finally(() => (this.pending = null));
    return this.pending;
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
        "the token issuer cannot be reached for this process's service token",
        {},
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
        `the token issuer refused this process's service account: ${response.status} ${String(body.error ?? '')}`,
        {},
        { cause: new Error(`${this.tokenEndpoint} refused client '${this.clientId}'`) },
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
    const saved = KeptToken.safeParse(await keptJson(file));
    if (!saved.success) return;
    const { endpoint, client_id: clientId, scope, ...held } = saved.data;
    const same = endpoint === this.tokenEndpoint && clientId === this.clientId && scope === this.scope;
    if (same && this.now() < held.expiresAt - 5_000) this.current ??= held;
  }

  private async keep(held: Held): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    await keepJson(file, {
      endpoint: this.tokenEndpoint,
      client_id: this.clientId,
      scope: this.scope,
      ...held,
    });
  }
}
