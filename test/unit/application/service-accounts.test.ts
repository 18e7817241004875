import {
  JoseAccessTokenSigner,
  JoseAccessTokenVerifier,
  localKeySet,
} from '../../../src/adapters/auth/jose-token-service';
import { NodeKeyCrypto } from '../../../src/adapters/auth/node-key-crypto';
import { ScryptSecretHasher } from '../../../src/adapters/auth/scrypt-secret-hasher';
import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { AuditTrail } from '../../../src/application/audit/audit-trail';
import { MemoryRateLimiter } from '../../../src/adapters/memory/memory-rate-limiter';
import { MemoryServiceAccountStore } from '../../../src/adapters/memory/memory-service-account-store';
import { MemorySigningKeyStore } from '../../../src/adapters/memory/memory-signing-key-store';
import { ClientCredentialsGrant } from '../../../src/application/identity/client-credentials';
import { KeyRing } from '../../../src/application/identity/key-ring';
import { ManageServiceAccounts } from '../../../src/application/identity/service-accounts';
import { SCOPES, type Principal } from '../../../src/domain/access/principal';
import {
  grantScopes,
  parseScopeList,
  servicePrincipal,
  type ServiceAccount,
} from '../../../src/domain/access/service-account';
import { FixedClock, T0 } from '../../support/builders';

const ISSUER = 'http://artstore.test';
const AUDIENCE = 'artstore';
const admin: Principal = { kind: 'user', subject: 'admin', scopes: new Set(SCOPES), collections: {} };
const reader: Principal = { kind: 'user', subject: 'ro', scopes: new Set(['admin:read']), collections: {} };

function setUp() {
  const clock = new FixedClock(T0);
  const store = new MemoryServiceAccountStore();
  const hasher = new ScryptSecretHasher({ N: 2 ** 10, r: 8, p: 1 });
  const crypto = new NodeKeyCrypto(Buffer.alloc(32, 3));
  const ring = new KeyRing(new MemorySigningKeyStore(), crypto, clock);
  const signer = new JoseAccessTokenSigner(ring, crypto, clock, { issuer: ISSUER, audience: AUDIENCE });
  const verifier = new JoseAccessTokenVerifier(
    localKeySet(() => ring.jwks()),
    clock,
    {
      issuer: ISSUER,
      audience: AUDIENCE,
    },
  );
  const audit = new MemoryAuditLog(clock);
  const trail = new AuditTrail(audit);
  return {
    clock,
    store,
    audit,
    ring,
    verifier,
    manage: new ManageServiceAccounts(store, hasher, clock, trail),
    grant: new ClientCredentialsGrant(store, hasher, signer, clock, new MemoryRateLimiter(clock), trail),
  };
}

describe('scope lists (RFC 6749 §3.3)', () => {
  it.each<[string | undefined, { scopes: string[] } | { refused: string[] }]>([
    [undefined, { scopes: ['files:read', 'files:write'] }],
    ['', { scopes: ['files:read', 'files:write'] }],
    ['files:read', { scopes: ['files:read'] }],
    ['files:read  files:read', { scopes: ['files:read'] }],
    ['files:read admin:write', { refused: ['admin:write'] }],
    ['files:read everything', { refused: ['everything'] }],
  ])('asking for %p out of files:read files:write gives %p', (requested, expected) => {
    expect(grantScopes(['files:read', 'files:write'], requested)).toEqual(expected);
  });

  it('separates known scopes from unknown words', () => {
    expect(parseScopeList('files:read root files:delete')).toEqual({
      scopes: ['files:read', 'files:delete'],
      unknown: ['root'],
    });
  });

  it('limits a principal to the token scopes the account still holds, with its collection grants', () => {
    const account = { id: 'sa_1', scopes: ['files:read'], collections: { 'files:read': ['hr-*'] } };
    const principal = servicePrincipal(account as unknown as ServiceAccount, ['files:read', 'admin:write']);
    expect([...principal.scopes]).toEqual(['files:read']);
    expect(principal.collections).toEqual({ 'files:read': ['hr-*'] });
    expect(principal).toMatchObject({ kind: 'service', subject: 'sa_1' });
  });
});

describe('ManageServiceAccounts', () => {
  it('shows the secret once and never the hash', async () => {
    const { manage, store } = setUp();
    const created = await manage.create(admin, { name: 'robot', scopes: ['files:read'] });
    expect(created.clientSecret).toMatch(/^[\w-]{43}$/u);
    expect(created.account.id).toMatch(/^sa_[0-9a-f]{24}$/u);
    expect(created.account).not.toHaveProperty('secretHash');
    expect((await store.get(created.account.id))?.secretHash).not.toContain(created.clientSecret);
    expect(await manage.get(admin, created.account.id)).not.toHaveProperty('secretHash');
    const page = await manage.list(admin, { cursor: null, limit: 10 });
    expect(page.items.map((a) => a.id)).toEqual([created.account.id]);
    expect(page.items[0]).not.toHaveProperty('secretHash');
  });

  it('expires secrets after 90 days by default', async () => {
    const { manage } = setUp();
    const { account } = await manage.create(admin, { name: 'robot', scopes: [] });
    expect(account.secretExpiresAt.getTime() - T0.getTime()).toBe(90 * 86_400_000);
  });

  it('needs admin:write to change and admin:read to look', async () => {
    const { manage } = setUp();
    const { account } = await manage.create(admin, { name: 'robot', scopes: [] });
    await expect(manage.create(reader, { name: 'x', scopes: [] })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(manage.setStatus(reader, account.id, 'suspended')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(manage.rotateSecret(reader, account.id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(manage.delete(reader, account.id)).rejects.toMatchObject({ code: 'forbidden' });
    const nobody: Principal = { ...reader, scopes: new Set() };
    await expect(manage.get(nobody, account.id)).rejects.toMatchObject({ code: 'forbidden' });
    expect((await manage.get(reader, account.id)).name).toBe('robot');
  });

  it('answers account_not_found for an unknown id on every operation', async () => {
    const { manage } = setUp();
    for (const call of [
      () => manage.get(admin, 'sa_x'),
      () => manage.update(admin, 'sa_x', { name: 'y' }),
      () => manage.setStatus(admin, 'sa_x', 'suspended'),
      () => manage.rotateSecret(admin, 'sa_x'),
      () => manage.delete(admin, 'sa_x'),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'account_not_found' });
    }
  });

  it('updates name, scopes, grants and rate limit, and leaves the rest', async () => {
    const { manage, clock } = setUp();
    const { account } = await manage.create(admin, { name: 'robot', scopes: ['files:read'] });
    clock.advance(1000);
    const changed = await manage.update(admin, account.id, {
      name: 'renamed',
      scopes: ['files:read', 'files:write'],
      collections: { 'files:write': ['inbox'] },
      rateLimitPerMinute: 60,
    });
    expect(changed).toMatchObject({
      name: 'renamed',
      scopes: ['files:read', 'files:write'],
      collections: { 'files:write': ['inbox'] },
      rateLimitPerMinute: 60,
      status: 'active',
      createdAt: account.createdAt,
    });
    expect(changed.updatedAt.getTime()).toBe(T0.getTime() + 1000);
  });
});

describe('ClientCredentialsGrant (RFC 6749 §4.4)', () => {
  it('issues a token carrying the granted scopes that the verifier accepts', async () => {
    const { manage, grant, verifier, store, ring } = setUp();
    await ring.ensureCurrent();
    const { account, clientSecret } = await manage.create(admin, {
      name: 'robot',
      scopes: ['files:read', 'files:write'],
    });
    const token = await grant.grant({
      clientId: account.id,
      clientSecret,
      scope: 'files:read',
      source: '10.0.0.1',
      issuer: ISSUER,
    });
    expect(token.scopes).toEqual(['files:read']);
    expect(token.expiresIn).toBe(900);
    const claims = await verifier.verify(token.token);
    expect(claims).toMatchObject({ subject: account.id, clientId: account.id, scopes: ['files:read'] });
    expect((await store.get(account.id))?.lastUsedAt).toEqual(T0);
  });

  it('audits every issuance and every refusal, with the reason only in the log', async () => {
    const { manage, grant, ring, audit } = setUp();
    await ring.ensureCurrent();
    const { account, clientSecret } = await manage.create(admin, { name: 'r', scopes: ['files:read'] });
    await grant.grant({
      clientId: account.id,
      clientSecret,
      scope: undefined,
      source: '10.0.0.3',
      issuer: ISSUER,
    });
    await expect(
      grant.grant({
        clientId: account.id,
        clientSecret: 'nope',
        scope: undefined,
        source: '10.0.0.3',
        issuer: ISSUER,
      }),
    ).rejects.toMatchObject({ code: 'invalid_client' });
    const page = await audit.query({ cursor: null, limit: 10 });
    expect(page.items.map((e) => [e.action, e.outcome, e.target])).toEqual([
      ['token.refused', 'failure', account.id],
      ['token.issued', 'success', account.id],
      ['account.created', 'success', account.id],
    ]);
    expect(page.items[0]).toMatchObject({
      source: '10.0.0.3',
      details: { code: 'invalid_client', reason: 'wrong_secret' },
    });
  });

  it('gives every granted scope when none is asked for', async () => {
    const { manage, grant, ring } = setUp();
    await ring.ensureCurrent();
    const { account, clientSecret } = await manage.create(admin, {
      name: 'r',
      scopes: ['files:read', 'audit:read'],
    });
    expect(
      (
        await grant.grant({
          clientId: account.id,
          clientSecret,
          scope: undefined,
          source: '10.0.0.1',
          issuer: ISSUER,
        })
      ).scopes,
    ).toEqual(['files:read', 'audit:read']);
  });

  it('refuses a scope the account does not hold with invalid_scope', async () => {
    const { manage, grant, ring } = setUp();
    await ring.ensureCurrent();
    const { account, clientSecret } = await manage.create(admin, { name: 'r', scopes: ['files:read'] });
    await expect(
      grant.grant({
        clientId: account.id,
        clientSecret,
        scope: 'files:read admin:write',
        source: '10.0.0.1',
        issuer: ISSUER,
      }),
    ).rejects.toMatchObject({ code: 'invalid_scope', details: { refused: ['admin:write'] } });
  });

  it.each([
    ['an unknown client', 'unknown_client'],
    ['a wrong secret', 'wrong_secret'],
    ['a suspended account', 'suspended'],
    ['an expired secret', 'secret_expired'],
    ['a secret replaced by rotation', 'wrong_secret'],
  ])('refuses %s with invalid_client', async (situation, reason) => {
    const { manage, grant, clock, ring } = setUp();
    await ring.ensureCurrent();
    const { account, clientSecret } = await manage.create(admin, { name: 'r', scopes: ['files:read'] });
    let clientId = account.id;
    let secret = clientSecret;
    if (situation === 'an unknown client') clientId = 'sa_nobody';
    if (situation === 'a wrong secret') secret = `${clientSecret}x`;
    if (situation === 'a suspended account') await manage.setStatus(admin, account.id, 'suspended');
    if (situation === 'an expired secret') clock.advance(90 * 86_400_000);
    if (situation === 'a secret replaced by rotation') await manage.rotateSecret(admin, account.id);
    await expect(
      grant.grant({ clientId, clientSecret: secret, scope: undefined, source: '10.0.0.1', issuer: ISSUER }),
    ).rejects.toMatchObject({
      code: 'invalid_client',
      message: 'client authentication failed',
      details: { reason },
    });
  });

  it('refuses an 11th attempt within a minute with rate_limited, even with the right secret, then lets it through', async () => {
    const { manage, grant, clock, ring } = setUp();
    await ring.ensureCurrent();
    const { account, clientSecret } = await manage.create(admin, { name: 'r', scopes: ['files:read'] });
    for (let i = 0; i < 10; i++) {
      await expect(
        grant.grant({
          clientId: account.id,
          clientSecret: 'guess',
          scope: undefined,
          source: '10.0.0.9',
          issuer: ISSUER,
        }),
      ).rejects.toMatchObject({ code: 'invalid_client' });
    }
    const refused = grant.grant({
      clientId: account.id,
      clientSecret,
      scope: undefined,
      source: '10.0.0.9',
      issuer: ISSUER,
    });
    await expect(refused).rejects.toMatchObject({ code: 'rate_limited', details: { retry_after: 60 } });
    await expect(
      grant.grant({
        clientId: account.id,
        clientSecret,
        scope: undefined,
        source: '10.0.0.8',
        issuer: ISSUER,
      }),
    ).resolves.toMatchObject({ scopes: ['files:read'] });
    clock.advance(60_001);
    await expect(
      grant.grant({
        clientId: account.id,
        clientSecret,
        scope: undefined,
        source: '10.0.0.9',
        issuer: ISSUER,
      }),
    ).resolves.toMatchObject({ scopes: ['files:read'] });
  });

  it('accepts the new secret after a rotation', async () => {
    const { manage, grant, ring } = setUp();
    await ring.ensureCurrent();
    const { account } = await manage.create(admin, { name: 'r', scopes: ['files:read'] });
    const rotated = await manage.rotateSecret(admin, account.id);
    await expect(
      grant.grant({
        clientId: account.id,
        clientSecret: rotated.clientSecret,
        scope: undefined,
        source: '10.0.0.1',
        issuer: ISSUER,
      }),
    ).resolves.toMatchObject({ scopes: ['files:read'] });
  });
});
