import { defineEntity, p } from '@mikro-orm/postgresql';

/**
 * The hash-chained audit log (§6). Rows are only ever inserted; `seq` is assigned under an
 * advisory lock (not from a sequence), so a rolled-back append leaves no gap for verify to flag.
 */
export const AuditLogRow = defineEntity({
  name: 'AuditLogRow',
  tableName: 'audit_log',
  properties: {
    seq: p.bigint('number').primary().autoincrement(false),
    at: p.datetime(),
    actorKind: p.string().length(16),
    actorSubject: p.text(),
    action: p.string().length(64),
    target: p.text().nullable(),
    outcome: p.string().length(8),
    details: p.json<Record<string, unknown>>(),
    source: p.text().nullable(),
    prevHash: p.string().length(64),
    hash: p.string().length(64),
  },
  indexes: [
    { properties: ['at'] },
    { properties: ['actorSubject'] },
    { properties: ['action'] },
    { properties: ['target'] },
  ],
});

export const AUDIT_ENTITIES = [AuditLogRow];
