import type { Principal } from '../../domain/access/principal';
import type { AuditAction, AuditDetails, AuditOutcome } from '../../domain/audit/audit-entry';
import type { AuditLog } from '../ports/audit-log';

export interface AuditFacts {
  readonly target?: string | null;
  readonly details?: AuditDetails;
  readonly source?: string | null;
}

/**
 * How use cases write to the audit log (§6): who did what to which target, and how it ended. An
 * append that fails fails the request: an action the log cannot record is not acknowledged.
 */
export class AuditTrail {
  constructor(private readonly log: AuditLog) {}

  async record(
    actor: Pick<Principal, 'kind' | 'subject'>,
    action: AuditAction,
    outcome: AuditOutcome,
    facts: AuditFacts = {},
  ): Promise<void> {
    await this.log.append({
      actor: { kind: actor.kind, subject: actor.subject },
      action,
      outcome,
      target: facts.target ?? null,
      ...(facts.details ? { details: facts.details } : {}),
      source: facts.source ?? null,
    });
  }

  /** Records a refusal with the error's code, then lets the error go on. */
  async refused(
    actor: Pick<Principal, 'kind' | 'subject'>,
    action: AuditAction,
    error: unknown,
    facts: AuditFacts = {},
  ): Promise<never> {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = (error as { details?: { reason?: unknown } } | null)?.details?.reason;
    await this.record(actor, action, 'failure', {
      ...facts,
      details: {
        ...facts.details,
        code: typeof code === 'string' ? code : 'error',
        ...(typeof reason === 'string' ? { reason } : {}),
      },
    });
    throw error;
  }
}
