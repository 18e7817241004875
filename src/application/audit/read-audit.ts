import type { Principal } from '../../domain/access/principal';
import type { AuditEntry } from '../../domain/audit/audit-entry';
import type { AuditLog, AuditQuery } from '../ports/audit-log';
import type { Page } from '../ports/file-index';
import { requireScope } from '../shared/authorize';
import { verifyAuditChain, type AuditVerification } from './verify-audit-chain';

/** Reading the audit log needs `audit:read` (§6); so does checking its chain. */
export class ReadAudit {
  constructor(private readonly log: AuditLog) {}

  query(principal: Principal, filter: AuditQuery): Promise<Page<AuditEntry>> {
    requireScope(principal, 'audit:read');
    return this.log.query(filter);
  }

  verify(principal: Principal): Promise<AuditVerification> {
    requireScope(principal, 'audit:read');
    return verifyAuditChain(this.log);
  }
}
