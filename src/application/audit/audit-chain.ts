import { createHash } from 'node:crypto';
import {
  AUDIT_GENESIS_HASH,
  chainInput,
  normalizeRecord,
  type AuditEntry,
  type AuditRecord,
  type UnsealedAuditEntry,
} from '../../domain/audit/audit-entry';

/** SHA-256 (hex) over the canonical serialization of the entry and the previous entry's hash. */
export function chainHash(prevHash: string, entry: UnsealedAuditEntry): string {
  return createHash('sha256').update(chainInput(prevHash, entry), 'utf8').digest('hex');
}

/** The entry that follows `previous` (null: the first) — callers hold the append lock. */
export function sealEntry(
  previous: Pick<AuditEntry, 'seq' | 'hash'> | null,
  record: AuditRecord,
  at: Date,
): AuditEntry {
  const prevHash = previous?.hash ?? AUDIT_GENESIS_HASH;
  const unsealed: UnsealedAuditEntry = {
    seq: (previous?.seq ?? 0) + 1,
    at: new Date(at.getTime()),
    ...normalizeRecord(record),
  };
  return { ...unsealed, prevHash, hash: chainHash(prevHash, unsealed) };
}

export type ChainBreak = 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch';

/** Why `entry` does not follow `previous` (null: it should be the first), or null if it does. */
export function checkLink(
  previous: Pick<AuditEntry, 'seq' | 'hash'> | null,
  entry: AuditEntry,
): ChainBreak | null {
  if (entry.seq !== (previous?.seq ?? 0) + 1) return 'seq_gap';
  if (entry.prevHash !== (previous?.hash ?? AUDIT_GENESIS_HASH)) return 'prev_hash_mismatch';
  const { prevHash, hash, ...unsealed } = entry;
  return chainHash(prevHash, unsealed) === hash ? null : 'hash_mismatch';
}
