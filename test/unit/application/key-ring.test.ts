import { MemorySigningKeyStore } from '../../../src/adapters/memory/memory-signing-key-store';
import {
  DEFAULT_KEY_RING_POLICY,
  KeyRing,
  type KeyRingPolicy,
} from '../../../src/application/identity/key-ring';
import type { GeneratedKey, KeyCrypto } from '../../../src/application/ports/signing-keys';
import { FixedClock, T0 } from '../../support/builders';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Keys k1, k2, … in creation order; no real cryptography needed for the timeline. */
class SequenceKeyCrypto implements KeyCrypto {
  private n = 0;
  async generate(): Promise<GeneratedKey> {
    this.n += 1;
    const kid = `k${this.n}`;
    return {
      kid,
      publicJwk: { kty: 'RSA', n: `n${this.n}`, e: 'AQAB', kid, alg: 'RS256', use: 'sig' },
      encryptedPrivateKey: `sealed-${kid}`,
    };
  }
}

function aRing(policy: KeyRingPolicy = DEFAULT_KEY_RING_POLICY) {
  const clock = new FixedClock(T0);
  const store = new MemorySigningKeyStore();
  const ring = new KeyRing(store, new SequenceKeyCrypto(), clock, policy);
  return { clock, store, ring };
}

const at = (offsetMs: number): Date => new Date(T0.getTime() + offsetMs);
const kids = async (ring: KeyRing, now: Date): Promise<string[]> =>
  (await ring.publishedKeys(now)).map((k) => k.kid);

// Defaults: rotate daily, publish 10 min ahead, tokens live 15 min, 30 s leeway.
// A key retired at R stays published until R + 15 min + 30 s.
describe('KeyRing timeline (ensureCurrent on a schedule, default policy)', () => {
  const KEEP = 15 * MIN + 30_000;
  const steps: { name: string; at: number; signs: string; published: string[] }[] = [
    { name: 'first key signs at once', at: 0, signs: 'k1', published: ['k1'] },
    { name: 'no rotation before the interval', at: DAY - 1, signs: 'k1', published: ['k1'] },
    { name: 'successor published, not yet signing', at: DAY, signs: 'k1', published: ['k1', 'k2'] },
    { name: 'just before the lead ends', at: DAY + 10 * MIN - 1, signs: 'k1', published: ['k1', 'k2'] },
    { name: 'successor signs after the lead', at: DAY + 10 * MIN, signs: 'k2', published: ['k1', 'k2'] },
    {
      name: 'retired key kept while its tokens may live',
      at: DAY + 10 * MIN + KEEP - 1,
      signs: 'k2',
      published: ['k1', 'k2'],
    },
    {
      name: 'retired key pruned after last exp + leeway',
      at: DAY + 10 * MIN + KEEP,
      signs: 'k2',
      published: ['k2'],
    },
    { name: 'next rotation a day after k2 was created', at: 2 * DAY, signs: 'k2', published: ['k2', 'k3'] },
    { name: 'k3 signs', at: 2 * DAY + 10 * MIN, signs: 'k3', published: ['k2', 'k3'] },
  ];
  const { ring, store } = aRing();
  it.each(steps)('$name (t0 + $at ms): $signs signs, published $published', async (step) => {
    const now = at(step.at);
    const signing = await ring.ensureCurrent(now);
    expect(signing.kid).toBe(step.signs);
    await expect(ring.signingKey(now)).resolves.toMatchObject({ kid: step.signs });
    expect(await kids(ring, now)).toEqual(step.published);
    // Pruning happened in the store itself, not only in the published view.
    expect((await store.list()).map((k) => k.kid)).toEqual(step.published);
  });
});

describe('KeyRing', () => {
  it('publishes every key before it signs anything, with contiguous signing intervals', async () => {
    const { ring } = aRing();
    const seen = new Set<string>();
    for (let t = 0; t <= 5 * DAY; t += 5 * MIN) {
      const now = at(t);
      const signing = await ring.ensureCurrent(now);
      const published = await kids(ring, now);
      expect(published).toContain(signing.kid);
      if (!seen.has(signing.kid) && t > 0) {
        // First time it signs: it must have been published for at least the lead already.
        expect(now.getTime() - signing.createdAt.getTime()).toBeGreaterThanOrEqual(10 * MIN);
      }
      seen.add(signing.kid);
    }
    // k6 was created at day 5 and is only published so far.
    expect([...seen]).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);
    expect(await kids(ring, at(5 * DAY))).toEqual(['k5', 'k6']);
  });

  it('keeps a key for a verifier until the last token it could have signed has expired', async () => {
    const { ring } = aRing();
    await ring.ensureCurrent(at(0));
    await ring.rotate(at(HOUR));
    const retiredAt = at(HOUR + 10 * MIN);
    const k1 = (await ring.publishedKeys(at(HOUR))).find((k) => k.kid === 'k1');
    expect(k1?.retiredAt).toEqual(retiredAt);
    // A token signed by k1 1 ms before retirement expires 15 min later; verifiers allow 30 s more.
    const lastTokenInvalid = retiredAt.getTime() - 1 + 15 * MIN + 30_000;
    expect(await kids(ring, new Date(lastTokenInvalid))).toContain('k1');
    await expect(ring.prune(new Date(lastTokenInvalid))).resolves.toEqual([]);
    await expect(ring.prune(new Date(lastTokenInvalid + 1))).resolves.toEqual(['k1']);
    expect(await kids(ring, new Date(lastTokenInvalid + 1))).toEqual(['k2']);
  });

  it('manual rotate publishes a successor that signs only after the lead and retires the current key then', async () => {
    const { ring, clock } = aRing();
    await ring.ensureCurrent();
    clock.advance(3 * HOUR);
    const successor = await ring.rotate();
    expect(successor).toMatchObject({
      kid: 'k2',
      createdAt: at(3 * HOUR),
      activatesAt: at(3 * HOUR + 10 * MIN),
      retiredAt: null,
    });
    await expect(ring.signingKey()).resolves.toMatchObject({ kid: 'k1' });
    expect((await ring.jwks()).keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
    clock.advance(10 * MIN);
    await expect(ring.signingKey()).resolves.toMatchObject({ kid: 'k2' });
    // The schedule counts from the newest key: no second rotation right after a manual one.
    await ring.ensureCurrent(at(DAY));
    expect(await kids(ring, at(DAY))).toEqual(['k2']);
    await ring.ensureCurrent(at(3 * HOUR + DAY));
    expect(await kids(ring, at(3 * HOUR + DAY))).toEqual(['k2', 'k3']);
  });

  it('two manual rotations within the lead: each key signs in turn, none is left unretired', async () => {
    const { ring } = aRing();
    await ring.ensureCurrent(at(0));
    await ring.rotate(at(HOUR));
    await ring.rotate(at(HOUR + 5 * MIN));
    const signer = async (t: number) => (await ring.signingKey(at(t))).kid;
    expect(await signer(HOUR + 9 * MIN)).toBe('k1');
    expect(await signer(HOUR + 10 * MIN)).toBe('k2');
    expect(await signer(HOUR + 15 * MIN)).toBe('k3');
    const records = await ring.publishedKeys(at(HOUR + 15 * MIN));
    expect(records.map((k) => [k.kid, k.retiredAt])).toEqual([
      ['k1', at(HOUR + 10 * MIN)],
      ['k2', at(HOUR + 15 * MIN)],
      ['k3', null],
    ]);
  });

  it('serves the JWKS as the public JWKs of the published keys only', async () => {
    const { ring } = aRing();
    await ring.ensureCurrent(at(0));
    const jwks = await ring.jwks(at(0));
    expect(jwks).toEqual({ keys: [{ kty: 'RSA', n: 'n1', e: 'AQAB', kid: 'k1', alg: 'RS256', use: 'sig' }] });
    expect(JSON.stringify(jwks)).not.toContain('sealed');
  });

  it('has no signing key before ensureCurrent ran', async () => {
    const { ring } = aRing();
    await expect(ring.signingKey()).rejects.toThrow(/ensureCurrent/u);
    await expect(ring.jwks()).resolves.toEqual({ keys: [] });
  });

  it.each([
    ['a lead as long as the interval', { publishLeadMs: DAY }],
    ['a zero interval', { rotationIntervalMs: 0 }],
    ['a negative token lifetime', { maxTokenLifetimeMs: -1 }],
    ['a negative leeway', { leewayMs: -1 }],
  ])('rejects a policy with %s', (_name, override) => {
    expect(() => aRing({ ...DEFAULT_KEY_RING_POLICY, ...override })).toThrow(/key ring policy/u);
  });

  it('follows a custom policy (hourly rotation, 1 min lead, 5 min tokens, no leeway)', async () => {
    const { ring } = aRing({
      rotationIntervalMs: HOUR,
      publishLeadMs: MIN,
      maxTokenLifetimeMs: 5 * MIN,
      leewayMs: 0,
    });
    await ring.ensureCurrent(at(0));
    await ring.ensureCurrent(at(HOUR));
    expect((await ring.signingKey(at(HOUR + MIN - 1))).kid).toBe('k1');
    expect((await ring.signingKey(at(HOUR + MIN))).kid).toBe('k2');
    expect(await kids(ring, at(HOUR + 6 * MIN - 1))).toEqual(['k1', 'k2']);
    await ring.ensureCurrent(at(HOUR + 6 * MIN));
    expect(await kids(ring, at(HOUR + 6 * MIN))).toEqual(['k2']);
  });
});
