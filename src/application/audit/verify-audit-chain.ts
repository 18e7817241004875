import type { AuditEntry } from '../../domain/audit/audit-entry';
import type { AuditLog } from '../ports/audit-log';
import { checkLink, type ChainBreak } from './audit-chain';

export type AuditVerification =
  | { readonly ok: true; readonly count: number; readonly head: string | null }
  | { readonly ok: false; readonly count: number; readonly seq: number; readonly reason: ChainBreak };

/**
 * Walks the whole chain in seq order, a batch at a time, and stops at the first entry that does
 * not follow its predecessor. `count` is how many entries verified before that. On success `head`
 * is the last hash: kept somewhere else, it also exposes a truncated tail or a rewritten chain,
 * which the chain alone cannot.
 */
export async function verifyAuditChain(log: AuditLog, batchSize = 500): Promise<AuditVerification> {
  let previous: AuditEntry | null = null;
  let count = 0;
  for (;;) {
    const batch = await log.scan(previous?.seq ?? 0, batchSize);
    for (const entry of batch) {
      const reason = checkLink(previous, entry);
      if (reason) return { ok: false, count, seq: entry.seq, reason };
      previous = entry;
      count += 1;
    }
    if (batch.length < batchSize) return { ok: true, count, head: previous?.hash ?? null };
  }
}
