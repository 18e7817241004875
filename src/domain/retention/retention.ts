import { DomainError } from '../errors';
import type { StorageMode } from '../storage-mode/storage-mode';

/** ARCHITECTURE §3.2. */
export const RETENTION_POLICIES = ['temporary', 'permanent'] as const;
export type RetentionPolicy = (typeof RETENTION_POLICIES)[number];

export const MIN_TTL_DAYS = 1;
export const MAX_TTL_DAYS = 365;
export const DEFAULT_TTL_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export type Retention =
  | { readonly policy: 'temporary'; readonly ttlDays: number; readonly expiresAt: Date }
  | {
      readonly policy: 'permanent';
      /** WORM: no deletion before this instant. */
      readonly retainUntil: Date | null;
      readonly legalHold: boolean;
    };

export interface RetentionRequest {
  readonly policy?: string | undefined;
  readonly ttlDays?: number | undefined;
  readonly retainUntil?: Date | undefined;
}

export function isRetentionPolicy(value: string): value is RetentionPolicy {
  return (RETENTION_POLICIES as readonly string[]).includes(value);
}

export function decideRetention(
  request: RetentionRequest,
  uploadedAt: Date,
  defaultTtlDays = DEFAULT_TTL_DAYS,
): Retention {
  const policy = request.policy ?? 'temporary';
  if (!isRetentionPolicy(policy)) {
    throw new DomainError(
      'invalid_retention',
      `retention policy must be 'temporary' or 'permanent', not '${policy}'`,
      {
        field: 'retention_policy',
      },
    );
  }
  if (policy === 'permanent') {
    if (request.ttlDays !== undefined) {
      throw new DomainError('invalid_retention', 'ttl_days applies only to temporary files', {
        field: 'ttl_days',
      });
    }
    if (request.retainUntil && request.retainUntil.getTime() <= uploadedAt.getTime()) {
      throw new DomainError('invalid_retention', 'retain_until must be in the future', {
        field: 'retain_until',
      });
    }
    return { policy, retainUntil: request.retainUntil ?? null, legalHold: false };
  }
  if (request.retainUntil) {
    throw new DomainError('invalid_retention', 'retain_until applies only to permanent files', {
      field: 'retain_until',
    });
  }
  const ttlDays = request.ttlDays ?? defaultTtlDays;
  if (!Number.isInteger(ttlDays) || ttlDays < MIN_TTL_DAYS || ttlDays > MAX_TTL_DAYS) {
    throw new DomainError(
      'invalid_ttl',
      `ttl_days must be a whole number from ${MIN_TTL_DAYS} to ${MAX_TTL_DAYS}`,
      {
        field: 'ttl_days',
      },
    );
  }
  return { policy, ttlDays, expiresAt: new Date(uploadedAt.getTime() + ttlDays * DAY_MS) };
}

/** Temporary files live on `edit` SEs, permanent files enter on `rw` SEs. */
export function writeModeFor(policy: RetentionPolicy): StorageMode {
  return policy === 'temporary' ? 'edit' : 'rw';
}

export function expiresAt(retention: Retention): Date | null {
  return retention.policy === 'temporary' ? retention.expiresAt : null;
}

/** Why the file may not be deleted now, or null when deletion is allowed by retention. */
export function deletionBlocker(
  retention: Retention,
  now: Date,
): 'retention_active' | 'legal_hold_active' | null {
  if (retention.policy === 'temporary') return null;
  if (retention.legalHold) return 'legal_hold_active';
  if (retention.retainUntil && now.getTime() < retention.retainUntil.getTime()) return 'retention_active';
  return null;
}

export function assertDeletable(retention: Retention, now: Date): void {
  const blocker = deletionBlocker(retention, now);
  if (blocker === 'legal_hold_active') {
    throw new DomainError('legal_hold_active', 'the file is under legal hold and cannot be deleted');
  }
  if (blocker === 'retention_active' && retention.policy === 'permanent') {
    throw new DomainError(
      'retention_active',
      `the file is retained until ${retention.retainUntil?.toISOString()} and cannot be deleted before`,
    );
  }
}

/** The retention controls a permanent file's owner may move (§3.2): a legal hold, a later retain_until. */
export interface RetentionControls {
  readonly legalHold?: boolean | undefined;
  readonly retainUntil?: Date | undefined;
}

/**
 * Applies retention controls. A legal hold exists only on permanent files; retain_until (WORM)
 * may only move later: to an instant after both now and its current value. Asking for the value
 * it already has changes nothing, so a retried request is never refused.
 */
export function changeRetention(retention: Retention, controls: RetentionControls, now: Date): Retention {
  if (controls.legalHold === undefined && controls.retainUntil === undefined) return retention;
  if (retention.policy === 'temporary') {
    if (controls.legalHold !== undefined)
      throw new DomainError(
        'legal_hold_temporary',
        'a legal hold applies only to permanent files; finalize the file first',
        { field: 'legal_hold' },
      );
    throw new DomainError('invalid_retention', 'retain_until applies only to permanent files', {
      field: 'retain_until',
    });
  }
  let retainUntil = retention.retainUntil;
  const asked = controls.retainUntil;
  if (asked !== undefined && asked.getTime() !== retainUntil?.getTime()) {
    const floor = Math.max(now.getTime(), retainUntil?.getTime() ?? 0);
    if (asked.getTime() <= floor)
      throw new DomainError(
        'retain_until_shortened',
        `retain_until may only be extended: it must be later than ${new Date(floor).toISOString()}`,
        { field: 'retain_until', retain_until: retainUntil?.toISOString() ?? null },
      );
    retainUntil = asked;
  }
  return { policy: 'permanent', retainUntil, legalHold: controls.legalHold ?? retention.legalHold };
}
