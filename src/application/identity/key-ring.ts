import type { Clock } from '../ports/clock';
import type { Jwks, KeyCrypto, SigningKeyRecord, SigningKeyStore } from '../ports/signing-keys';

export interface KeyRingPolicy {
  /** A new key is created when the newest one is this old (default one day). */
  readonly rotationIntervalMs: number;
  /**
   * How long a new key sits in the JWKS before it signs (default 10 min). Must exceed the cache
   * age of remote verifiers, so none meets a kid it has not fetched yet.
   */
  readonly publishLeadMs: number;
  /** The longest access-token lifetime the signer may use (default 15 min). */
  readonly maxTokenLifetimeMs: number;
  /** The clock skew verifiers accept on exp/nbf (default 30 s). */
  readonly leewayMs: number;
}

const MINUTE = 60_000;

export const DEFAULT_KEY_RING_POLICY: KeyRingPolicy = Object.freeze({
  rotationIntervalMs: 24 * 60 * MINUTE,
  publishLeadMs: 10 * MINUTE,
  maxTokenLifetimeMs: 15 * MINUTE,
  leewayMs: 30_000,
});

function checkPolicy(policy: KeyRingPolicy): void {
  const { rotationIntervalMs, publishLeadMs, maxTokenLifetimeMs, leewayMs } = policy;
  const positive = [rotationIntervalMs, publishLeadMs, maxTokenLifetimeMs].every(
    (v) => Number.isFinite(v) && v > 0,
  );
  if (!positive || !(leewayMs >= 0)) throw new Error('key ring policy: durations must be positive');
  // Otherwise successors pile up before any of them signs.
  if (publishLeadMs >= rotationIntervalMs) {
    throw new Error('key ring policy: publishLeadMs must be shorter than rotationIntervalMs');
  }
}

const at = (ms: number): Date => new Date(ms);

/**
 * The signing keys of the OAuth issuer (ARCHITECTURE.md §6). Timeline of one key: created and
 * published → signs from activatesAt → retired when its successor activates → pruned once the
 * last token it signed is past exp + leeway. Signing intervals are contiguous, so exactly one key
 * signs at any time once the first exists.
 *
 * Run ensureCurrent from one process at a time (under the leader lock): two concurrent rotations
 * would both create a successor.
 */
export class KeyRing {
  constructor(
    private readonly store: SigningKeyStore,
    private readonly crypto: KeyCrypto,
    private readonly clock: Clock,
    readonly policy: KeyRingPolicy = DEFAULT_KEY_RING_POLICY,
  ) {
    checkPolicy(policy);
  }

  /**
   * The scheduled step: creates the first key (signing at once, as no token exists yet), or a
   * successor when the newest key is a rotation interval old; prunes expired keys. Returns the
   * key that signs now.
   */
  async ensureCurrent(now: Date = this.clock.now()): Promise<SigningKeyRecord> {
    const keys = await this.store.list();
    const newest = keys.at(-1);
    if (!newest) {
      const generated = await this.crypto.generate();
      const first = { ...generated, createdAt: now, activatesAt: now, retiredAt: null };
      await this.store.save(first);
      return first;
    }
    if (now.getTime() - newest.createdAt.getTime() >= this.policy.rotationIntervalMs) {
      await this.rotateFrom(keys, now);
    }
    await this.prune(now);
    return this.signingKey(now);
  }

  /** Manual rotation: a successor published now that signs after the publish lead. */
  async rotate(now: Date = this.clock.now()): Promise<SigningKeyRecord> {
    return this.rotateFrom(await this.store.list(), now);
  }

  /** The key that signs at `now`: the newest active one that is not retired. */
  async signingKey(now: Date = this.clock.now()): Promise<SigningKeyRecord> {
    const key = signingKeyAmong(await this.store.list(), now);
    if (!key) throw new Error('no signing key is active: run KeyRing.ensureCurrent first');
    return key;
  }

  /** Every key a verifier may still need: all but the prunable ones, pending successors included. */
  async publishedKeys(now: Date = this.clock.now()): Promise<SigningKeyRecord[]> {
    return (await this.store.list()).filter((k) => !this.isPrunable(k, now));
  }

  async jwks(now: Date = this.clock.now()): Promise<Jwks> {
    return { keys: (await this.publishedKeys(now)).map((k) => k.publicJwk) };
  }

  /** Removes keys whose last token can no longer be valid; returns their kids. */
  async prune(now: Date = this.clock.now()): Promise<string[]> {
    const kids = (await this.store.list()).filter((k) => this.isPrunable(k, now)).map((k) => k.kid);
    if (kids.length > 0) await this.store.delete(kids);
    return kids;
  }

  private isPrunable(key: SigningKeyRecord, now: Date): boolean {
    if (key.retiredAt === null) return false;
    const lastValid = key.retiredAt.getTime() + this.policy.maxTokenLifetimeMs + this.policy.leewayMs;
    return lastValid <= now.getTime();
  }

  private async rotateFrom(keys: readonly SigningKeyRecord[], now: Date): Promise<SigningKeyRecord> {
    const generated = await this.crypto.generate();
    // The lead counts from when the key becomes visible, not from before its (slow) generation:
    // a verifier that read the ring meanwhile has the whole lead to read it again.
    const published = new Date(Math.max(now.getTime(), this.clock.now().getTime()));
    const activatesAt = at(published.getTime() + this.policy.publishLeadMs);
    const successor = { ...generated, createdAt: published, activatesAt, retiredAt: null };
    // Published before anything else changes: a crash between saves leaves an extra key, never a gap.
    await this.store.save(successor);
    for (const key of keys) {
      if (key.retiredAt === null || key.retiredAt > activatesAt) {
        await this.store.save({ ...key, retiredAt: activatesAt });
      }
    }
    return successor;
  }
}

export function signingKeyAmong(keys: readonly SigningKeyRecord[], now: Date): SigningKeyRecord | null {
  let best: SigningKeyRecord | null = null;
  for (const key of keys) {
    const active = key.activatesAt <= now && (key.retiredAt === null || key.retiredAt > now);
    if (active && (!best || key.activatesAt >= best.activatesAt)) best = key;
  }
  return best;
}
