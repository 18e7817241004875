import { MemoryAuditLog } from '../../../src/adapters/memory/memory-audit-log';
import { chainHash, checkLink, sealEntry } from '../../../src/application/audit/audit-chain';
import { verifyAuditChain } from '../../../src/application/audit/verify-audit-chain';
import {
  AUDIT_DETAILS_MAX_BYTES,
  AUDIT_GENESIS_HASH,
  canonicalJson,
  chainInput,
  normalizeRecord,
  type AuditEntry,
  type AuditRecord,
  type UnsealedAuditEntry,
} from '../../../src/domain/audit/audit-entry';
import { FixedClock, T0 } from '../../support/builders';

const anEntry = (overrides: Partial<UnsealedAuditEntry> = {}): UnsealedAuditEntry => ({
  seq: 1,
  at: T0,
  actor: { kind: 'user', subject: 'alice' },
  action: 'session.login',
  target: null,
  outcome: 'success',
  details: { method: 'password', mfa: false },
  source: '192.0.2.1',
  ...overrides,
});

const aRecord = (overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  actor: { kind: 'user', subject: 'alice' },
  action: 'user.changed',
  outcome: 'success',
  ...overrides,
});

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps array order and drops undefined members', () => {
    const value = { b: 1, a: { d: [3, { y: 1, x: 2 }], c: null }, u: undefined } as never;
    expect(canonicalJson(value)).toBe('{"a":{"c":null,"d":[3,{"x":2,"y":1}]},"b":1}');
  });

  it('gives the same text whatever order the keys were built in', () => {
    expect(canonicalJson({ one: 1, two: [2], three: { c: 'c', a: 'a' } })).toBe(
      canonicalJson({ three: { a: 'a', c: 'c' }, two: [2], one: 1 }),
    );
  });
});

describe('chainHash', () => {
  it('hashes every field by position, details as canonical JSON, then the previous hash', () => {
    expect(chainInput(AUDIT_GENESIS_HASH, anEntry())).toBe(
      `[1,"1","2026-03-01T10:00:00.000Z","user","alice","session.login",null,"success",` +
        `"{\\"method\\":\\"password\\",\\"mfa\\":false}","192.0.2.1","${AUDIT_GENESIS_HASH}"]`,
    );
  });

  it('is deterministic and pinned: changing the serialization breaks every stored chain', () => {
    const hash = chainHash(AUDIT_GENESIS_HASH, anEntry());
    expect(chainHash(AUDIT_GENESIS_HASH, anEntry())).toBe(hash);
    expect(hash).toBe('91d519e7a24fda1ff759f5e798d97aeca32ecc0b265a8267b0fe6ac74e5758b0');
  });

  it('does not depend on the key order of details', () => {
    expect(chainHash(AUDIT_GENESIS_HASH, anEntry({ details: { a: 1, b: { c: 2, d: 3 } } }))).toBe(
      chainHash(AUDIT_GENESIS_HASH, anEntry({ details: { b: { d: 3, c: 2 }, a: 1 } })),
    );
  });

  it.each<[string, Partial<UnsealedAuditEntry>]>([
    ['seq', { seq: 2 }],
    ['at', { at: new Date(T0.getTime() + 1) }],
    ['actor kind', { actor: { kind: 'service', subject: 'alice' } }],
    ['actor subject', { actor: { kind: 'user', subject: 'alicf' } }],
    ['action', { action: 'session.login_failed' }],
    ['target', { target: 'alice' }],
    ['outcome', { outcome: 'failure' }],
    ['details', { details: { method: 'password', mfa: true } }],
    ['source', { source: null }],
  ])('covers %s', (_field, change) => {
    expect(chainHash(AUDIT_GENESIS_HASH, anEntry(change))).not.toBe(chainHash(AUDIT_GENESIS_HASH, anEntry()));
  });

  it('covers the previous hash', () => {
    expect(chainHash('1'.repeat(64), anEntry())).not.toBe(chainHash(AUDIT_GENESIS_HASH, anEntry()));
  });

  it('cannot be fooled by moving text between fields', () => {
    const a = anEntry({ target: 'x', source: 'y,z' });
    const b = anEntry({ target: 'x,y', source: 'z' });
    expect(chainHash(AUDIT_GENESIS_HASH, a)).not.toBe(chainHash(AUDIT_GENESIS_HASH, b));
  });
});

describe('normalizeRecord', () => {
  it('replaces NUL and lone surrogates and bounds strings', () => {
    const normal = normalizeRecord(
      aRecord({
        actor: { kind: 'anonymous', subject: 'a\u0000'.repeat(200) },
        target: '\uD83D',
        source: '1'.repeat(100),
      }),
    );
    expect(normal.actor.subject).toHaveLength(256);
    expect(normal.actor.subject).not.toContain('\u0000');
    expect(normal.target).toBe('\uFFFD');
    expect(normal.source).toHaveLength(64);
  });

  it('keeps surrogate pairs', () => {
    expect(normalizeRecord(aRecord({ target: 'file-😀' })).target).toBe('file-😀');
  });

  it('replaces oversized details by a marker instead of dropping the entry', () => {
    const normal = normalizeRecord(aRecord({ details: { blob: 'x'.repeat(AUDIT_DETAILS_MAX_BYTES) } }));
    expect(normal.details).toEqual({ truncated: true, bytes: AUDIT_DETAILS_MAX_BYTES + 11 });
  });

  it('stores what JSON would: no undefined members, non-finite numbers as null', () => {
    const details = { gone: undefined, nan: Number.NaN, list: [undefined, 1] } as never;
    expect(normalizeRecord(aRecord({ details })).details).toEqual({ nan: null, list: [null, 1] });
  });
});

describe('checkLink', () => {
  const first = sealEntry(null, aRecord(), T0);
  const second = sealEntry(first, aRecord({ outcome: 'failure' }), T0);

  it('accepts a sealed chain', () => {
    expect(first).toMatchObject({ seq: 1, prevHash: AUDIT_GENESIS_HASH });
    expect(checkLink(null, first)).toBeNull();
    expect(checkLink(first, second)).toBeNull();
  });

  it('names the first thing wrong: seq, then previous hash, then own hash', () => {
    expect(checkLink(null, second)).toBe('seq_gap');
    expect(checkLink(first, { ...second, prevHash: AUDIT_GENESIS_HASH })).toBe('prev_hash_mismatch');
    expect(checkLink(first, { ...second, details: { forged: true } })).toBe('hash_mismatch');
    expect(checkLink(first, { ...second, hash: first.hash })).toBe('hash_mismatch');
  });
});

describe('verifyAuditChain on the memory log', () => {
  const build = async (count: number): Promise<{ log: MemoryAuditLog; entries: AuditEntry[] }> => {
    const entries: AuditEntry[] = [];
    const clock = new FixedClock();
    const log = new MemoryAuditLog(clock, entries);
    for (let i = 0; i < count; i += 1) {
      await log.append(aRecord({ details: { i } }));
      clock.advance(1);
    }
    return { log, entries };
  };

  it('reads the chain in batches and ends on a short batch', async () => {
    const { log, entries } = await build(6);
    const scan = jest.spyOn(log, 'scan');
    await expect(verifyAuditChain(log, 3)).resolves.toEqual({ ok: true, count: 6, head: entries[5]!.hash });
    expect(scan.mock.calls).toEqual([
      [0, 3],
      [3, 3],
      [6, 3],
    ]);
  });

  it('reports a tampered entry', async () => {
    const { log, entries } = await build(4);
    entries[1] = { ...entries[1]!, details: { i: 99 } };
    await expect(verifyAuditChain(log)).resolves.toEqual({
      ok: false,
      count: 1,
      seq: 2,
      reason: 'hash_mismatch',
    });
  });

  it('reports a deleted entry', async () => {
    const { log, entries } = await build(4);
    entries.splice(2, 1);
    await expect(verifyAuditChain(log)).resolves.toEqual({ ok: false, count: 2, seq: 4, reason: 'seq_gap' });
  });

  it('reports a re-ordered chain', async () => {
    const { log, entries } = await build(4);
    const [b, c] = [entries[1]!, entries[2]!];
    entries[1] = { ...c, seq: 2 };
    entries[2] = { ...b, seq: 3 };
    await expect(verifyAuditChain(log)).resolves.toEqual({
      ok: false,
      count: 1,
      seq: 2,
      reason: 'prev_hash_mismatch',
    });
  });

  it('keeps chaining after the last entry, whatever was appended concurrently', async () => {
    const { log } = await build(0);
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(aRecord({ details: { i } }))));
    await expect(verifyAuditChain(log)).resolves.toMatchObject({ ok: true, count: 20 });
  });
});
