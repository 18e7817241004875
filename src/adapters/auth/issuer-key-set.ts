import { createLocalJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { Jwks } from '../../application/ports/signing-keys';
import { keepJson, keptJson } from '../system/kept-json';

const KeptKeys = z.object({
  url: z.string(),
  fetched_at: z.number().finite(),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
});

export interface IssuerKeySetOptions {
  /** How long a fetched JWKS counts as fresh; keep it below the ring's publishLeadMs. */
  readonly cacheMaxAgeMs: number;
  /** Minimum time between fetches, also on an unknown kid. */
  readonly cooldownMs: number;
  readonly timeoutMs?: number;
  /**
   * How long the last JWKS fetched stays usable while the issuer cannot be reached (restarting,
   * down): tokens signed with its keys keep verifying instead of every request failing. The keys
   * are public; what the window costs is that a key retired meanwhile is still accepted.
   */
  readonly staleGraceMs: number;
  /** Where the last JWKS is kept across restarts, so a process starting while the issuer is down can verify. */
  readonly cacheFile?: string;
  readonly now?: () => number;
}

interface Held {
  readonly jwks: Jwks;
  readonly fetchedAt: number;
  readonly keys: JWTVerifyGetKey;
}

/** The issuer's JWKS could not be had and nothing held is recent enough: a 503 (not a 401) to the caller. */
export class IssuerUnavailable extends Error {
  override readonly name = 'DependencyUnavailable';
  constructor(url: string, cause: unknown) {
    super(
      `the token issuer's keys (${url}) cannot be fetched: ${String((cause as Error).cause ?? (cause as Error).message)}`,
      { cause },
    );
  }
}

/**
 * The issuer's JWKS over HTTP for a role without the admin (split mode), like jose's remote set —
 * refreshed when stale and when a token names an unknown kid — but an issuer that cannot be
 * reached is not a reason to reject every token: the last set fetched (also from before a restart,
 * kept in `cacheFile`) is used for up to `staleGraceMs` while it is refetched in the background.
 * With nothing usable, verification fails with IssuerUnavailable (a 503) rather than as a bad token.
 */
export class IssuerKeySet {
  private held: Held | null = null;
  private loaded: Promise<void> | null = null;
  private fetching: Promise<Held> | null = null;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastFailure: unknown = null;
  private readonly now: () => number;

  constructor(
    private readonly url: URL,
    private readonly options: IssuerKeySetOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    this.loaded ??= this.loadCache();
    await this.loaded;
    const held = await this.usable();
    try {
      return await held.keys(header, token);
    } catch (error) {
      // A key published since the last fetch: the fetch under way, or a new one (once per cooldown).
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const refetch = this.fetching ?? (this.mayFetch() ? this.fetch() : null);
      if (!refetch) throw error;
      let fresh: Held;
      try {
        fresh = await refetch;
      } catch (cause) {
        // The token may be signed by a key published since: that cannot be told now (a 503, not a 401).
        throw new IssuerUnavailable(this.url.href, cause);
      }
      if (fresh === held) throw error;
      return fresh.keys(header, token);
    }
  };

  /** A fresh set, or a stale one within the grace (refetched in the background), or a fetch awaited. */
  private async usable(): Promise<Held> {
    const held = this.held;
    const age = held ? this.now() - held.fetchedAt : Number.POSITIVE_INFINITY;
    if (held && age < this.options.cacheMaxAgeMs) return held;
    if (held && age < this.options.staleGraceMs) {
      if (this.mayFetch()) void this.fetch().catch(() => undefined);
      return held;
    }
    // Nothing usable: wait for a fetch, but after a failed one fail at once until the cooldown ends
    // (a black-holed issuer would otherwise hold every request for the fetch timeout).
    if (!this.fetching && !this.mayFetch() && this.lastFailure)
      throw new IssuerUnavailable(this.url.href, this.lastFailure);
    try {
      return await this.fetch();
    } catch (error) {
      throw new IssuerUnavailable(this.url.href, error);
    }
  }

  private mayFetch(): boolean {
    return !this.fetching && this.now() - this.lastAttempt >= this.options.cooldownMs;
  }

  private fetch(): Promise<Held> {
    this.fetching ??= this.download()
      .then(
        (held) => {
          this.lastFailure = null;
          return held;
        },
        (error: unknown) => {
          this.lastFailure = error;
          throw error;
        },
      )
      .finally(() => (this.fetching = null));
    return this.fetching;
  }

  private async download(): Promise<Held> {
    this.lastAttempt = this.now();
    const response = await fetch(this.url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
    });
    if (response.status !== 200) throw new Error(`the issuer answered ${response.status}`);
    const jwks = (await response.json()) as Jwks;
    const held = this.hold(jwks, this.now());
    await this.saveCache(held).catch(() => undefined);
    return held;
  }

  private hold(jwks: Jwks, fetchedAt: number): Held {
    // createLocalJWKSet checks the document's shape; it throws on anything that is not a JWK Set.
    const keys = createLocalJWKSet({ keys: jwks.keys.map((k) => ({ ...k })) });
    this.held = { jwks, fetchedAt, keys };
    return this.held;
  }

  private async loadCache(): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    const saved = KeptKeys.safeParse(await keptJson(file));
    if (!saved.success || saved.data.url !== this.url.href) return;
    const age = this.now() - saved.data.fetched_at;
    // A time ahead of now (a clock set back, a restored file) would make the set fresh forever.
    if (age < 0 || age >= this.options.staleGraceMs) return;
    try {
      this.hold(saved.data.jwks as unknown as Jwks, saved.data.fetched_at);
    } catch {
      // Not a JWK Set after all: the first verification fetches.
    }
  }

  private async saveCache(held: Held): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    await keepJson(file, { url: this.url.href, fetched_at: held.fetchedAt, jwks: held.jwks });
  }
}
