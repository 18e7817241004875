import { InvalidCursor } from '../../src/adapters/memory/cursor';
import { chainHash } from '../../src/application/audit/audit-chain';
import { verifyAuditChain } from '../../src/application/audit/verify-audit-chain';
import type { AuditLog, AuditQuery } from '../../src/application/ports/audit-log';
import { AUDIT_GENESIS_HASH, type AuditEntry, type AuditRecord } from '../../src/domain/audit/audit-entry';
import { T0, type FixedClock } from '../support/builders';

/** What an attacker with write access to the storage can do, behind the log's back. */
export interface AuditTamper {
  /** Replaces every field of the entry with this seq. */
  overwrite(entry: AuditEntry): Promise<void>;
  remove(seq: number): Promise<void>;
  renumber(fromSeq: number, toSeq: number): Promise<void>;
}

export interface AuditLogHarness {
  readonly log: AuditLog;
  readonly clock: FixedClock;
  readonly tamper: AuditTamper;
  cleanup(): Promise<void>;
}

function aRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    actor: { kind: 'service', subject: 'svc-ingest' },
    action: 'token.issued',
    target: 'client:svc-ingest',
    outcome: 'success',
    details: { scope: 'files:write', jti: 'j-1' },
    source: '10.0.0.7',
    ...overrides,
  };
}

const page = (filter: Partial<AuditQuery> = {}): AuditQuery => ({ cursor: null, limit: 100, ...filter });

export function describeAuditLogContract(name: string, open: () => Promise<AuditLogHarness>): void {
  describe(`AuditLog contract: ${name}`, () => {
    let h: AuditLogHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const appendMany = async (count: number, record: (i: number) => Partial<AuditRecord> = () => ({})) => {
      const entries: AuditEntry[] = [];
      for (let i = 0; i < count; i += 1) {
        entries.push(await h.log.append(aRecord(record(i))));
        h.clock.advance(1000);
      }
      return entries;
    };
    const seqs = (entries: readonly AuditEntry[]): number[] => entries.map((e) => e.seq);

    it('starts empty, and an empty chain verifies', async () => {
      await expect(h.log.query(page())).resolves.toEqual({ items: [], nextCursor: null });
      await expect(verifyAuditChain(h.log)).resolves.toEqual({ ok: true, count: 0, head: null });
    });

    it('numbers entries from 1, chains the first from genesis and each next from the one before', async () => {
      const [first, second] = await appendMany(2);
      expect(first).toMatchObject({ seq: 1, at: T0, prevHash: AUDIT_GENESIS_HASH });
      expect(second).toMatchObject({ seq: 2, prevHash: first!.hash });
      expect(first!.hash).toMatch(/^[0-9a-f]{64}$/u);
      const { prevHash, hash, ...unsealed } = second!;
      expect(hash).toBe(chainHash(prevHash, unsealed));
    });

    it('reads back every field exactly as appended, nulls and nested details included', async () => {
      const full = await h.log.append(
        aRecord({ details: { z: [1, 2.5, { b: true, a: null }], a: 'x', n: -3 }, source: '2001:db8::1' }),
      );
      const bare = await h.log.append({
        actor: { kind: 'anonymous', subject: '-' },
        action: 'session.login_failed',
        outcome: 'failure',
      });
      expect(bare).toMatchObject({ target: null, source: null, details: {} });
      await expect(h.log.query(page())).resolves.toEqual({ items: [bare, full], nextCursor: null });
      await expect(h.log.scan(0, 10)).resolves.toEqual([full, bare]);
    });

    it('stores hostile strings the database would refuse, and they still verify', async () => {
      const entry = await h.log.append(
        aRecord({
          target: 'bad\u0000name\uD800',
          details: { 'k\u0000': 'v\uDC00' },
          actor: { kind: 'user', subject: 'x'.repeat(5000) },
        }),
      );
      expect(entry.target).toBe('bad\uFFFDname\uFFFD');
      expect(entry.details).toEqual({ 'k\uFFFD': 'v\uFFFD' });
      expect(entry.actor.subject).toHaveLength(256);
      await expect(h.log.scan(0, 10)).resolves.toEqual([entry]);
      await expect(verifyAuditChain(h.log)).resolves.toMatchObject({ ok: true, count: 1 });
    });

    it('pages newest first by seq with a cursor, without repeats or gaps', async () => {
      await appendMany(7);
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const result: Awaited<ReturnType<AuditLog['query']>> = await h.log.query(page({ cursor, limit: 3 }));
        expect(result.items.length).toBeLessThanOrEqual(3);
        seen.push(...seqs(result.items));
        cursor = result.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    });

    it('returns at most 500 entries a page whatever limit is asked for', async () => {
      await appendMany(501);
      const result = await h.log.query(page({ limit: 10_000 }));
      expect(result.items).toHaveLength(500);
      expect(result.items[0]!.seq).toBe(501);
      const rest = await h.log.query(page({ limit: 10_000, cursor: result.nextCursor }));
      expect(seqs(rest.items)).toEqual([1]);
      expect(rest.nextCursor).toBeNull();
    });

    it('rejects a cursor it did not issue', async () => {
      await expect(h.log.query(page({ cursor: 'not-a-cursor' }))).rejects.toBeInstanceOf(InvalidCursor);
    });

    describe('filters', () => {
      beforeEach(async () => {
        await appendMany(1, () => ({ action: 'token.issued', actor: { kind: 'service', subject: 'svc-a' } }));
        await appendMany(1, () => ({ action: 'token.refused', outcome: 'failure', target: 'client:svc-b' }));
        await appendMany(1, () => ({
          action: 'account.secret_rotated',
          actor: { kind: 'user', subject: 'alice' },
        }));
        await appendMany(1, () => ({
          action: 'account.suspended',
          actor: { kind: 'user', subject: 'alice' },
        }));
        await appendMany(1, () => ({ action: 'session.login_failed', outcome: 'failure', target: null }));
      });

      it('by time range: from inclusive, to exclusive', async () => {
        const from = new Date(T0.getTime() + 1000);
        const to = new Date(T0.getTime() + 3000);
        expect(seqs((await h.log.query(page({ from, to }))).items)).toEqual([3, 2]);
        expect(seqs((await h.log.query(page({ from: new Date(T0.getTime() + 4000) }))).items)).toEqual([5]);
      });

      it('by actor subject and kind', async () => {
        expect(seqs((await h.log.query(page({ actor: 'alice' }))).items)).toEqual([4, 3]);
        expect(seqs((await h.log.query(page({ actorKind: 'service' }))).items)).toEqual([5, 2, 1]);
        expect(seqs((await h.log.query(page({ actor: 'svc-a', actorKind: 'user' }))).items)).toEqual([]);
      });

      it('by exact action and by plain action prefix', async () => {
        expect(seqs((await h.log.query(page({ action: 'token.refused' }))).items)).toEqual([2]);
        expect(seqs((await h.log.query(page({ actionPrefix: 'token.' }))).items)).toEqual([2, 1]);
        expect(seqs((await h.log.query(page({ actionPrefix: 'account.secret_' }))).items)).toEqual([3]);
        // `_` and `%` are characters, not LIKE wildcards
        expect((await h.log.query(page({ actionPrefix: 'account_' }))).items).toEqual([]);
        expect((await h.log.query(page({ actionPrefix: '%' }))).items).toEqual([]);
      });

      it('by outcome and target, combined, and still paged', async () => {
        expect(seqs((await h.log.query(page({ outcome: 'failure' }))).items)).toEqual([5, 2]);
        expect(seqs((await h.log.query(page({ target: 'client:svc-b' }))).items)).toEqual([2]);
        const first = await h.log.query(page({ outcome: 'success', limit: 2 }));
        expect(seqs(first.items)).toEqual([4, 3]);
        const second = await h.log.query(page({ outcome: 'success', limit: 2, cursor: first.nextCursor }));
        expect(seqs(second.items)).toEqual([1]);
        expect(second.nextCursor).toBeNull();
      });
    });

    describe('verification', () => {
      it('reports ok with the count and the head hash, across batches', async () => {
        const entries = await appendMany(5);
        const head = entries.at(-1)!.hash;
        await expect(verifyAuditChain(h.log)).resolves.toEqual({ ok: true, count: 5, head });
        await expect(verifyAuditChain(h.log, 2)).resolves.toEqual({ ok: true, count: 5, head });
      });

      it('detects an entry whose details were changed', async () => {
        const entries = await appendMany(5);
        await h.tamper.overwrite({ ...entries[2]!, details: { scope: 'admin:write' } });
        await expect(verifyAuditChain(h.log, 2)).resolves.toEqual({
          ok: false,
          count: 2,
          seq: 3,
          reason: 'hash_mismatch',
        });
      });

      it('detects an entry rewritten with a fresh hash at the entry after it', async () => {
        const entries = await appendMany(5);
        const { prevHash, hash: _hash, ...unsealed } = { ...entries[2]!, outcome: 'failure' as const };
        await h.tamper.overwrite({ ...unsealed, prevHash, hash: chainHash(prevHash, unsealed) });
        await expect(verifyAuditChain(h.log)).resolves.toEqual({
          ok: false,
          count: 3,
          seq: 4,
          reason: 'prev_hash_mismatch',
        });
      });

      it('detects a deleted entry, in the middle or the first', async () => {
        await appendMany(5);
        await h.tamper.remove(3);
        await expect(verifyAuditChain(h.log)).resolves.toEqual({
          ok: false,
          count: 2,
          seq: 4,
          reason: 'seq_gap',
        });
        await h.tamper.remove(1);
        await expect(verifyAuditChain(h.log)).resolves.toEqual({
          ok: false,
          count: 0,
          seq: 2,
          reason: 'seq_gap',
        });
      });

      it('detects two entries that changed places', async () => {
        await appendMany(5);
        await h.tamper.renumber(2, -1);
        await h.tamper.renumber(4, 2);
        await h.tamper.renumber(-1, 4);
        await expect(verifyAuditChain(h.log)).resolves.toMatchObject({ ok: false, count: 1, seq: 2 });
      });

      it('keeps one chain under 50 concurrent appends', async () => {
        const entries = await Promise.all(
          Array.from({ length: 50 }, (_, i) => h.log.append(aRecord({ details: { i } }))),
        );
        expect(seqs(entries).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        await expect(verifyAuditChain(h.log, 7)).resolves.toMatchObject({ ok: true, count: 50 });
      });
    });
  });
}
