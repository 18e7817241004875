import { DomainError } from '../errors';

/** ARCHITECTURE §3.3: what a storage element in each mode may do. */
export const STORAGE_MODES = ['edit', 'rw', 'ro', 'ar'] as const;
export type StorageMode = (typeof STORAGE_MODES)[number];

export const STORAGE_OPERATIONS = ['create', 'read', 'update_metadata', 'delete'] as const;
export type StorageOperation = (typeof STORAGE_OPERATIONS)[number];

/** `after_retention`: allowed once the file's retention no longer protects it; `after_restore`: content needs a restored copy. */
export type Permission = 'yes' | 'no' | 'after_retention' | 'after_restore';

const PERMISSIONS: Readonly<Record<StorageMode, Readonly<Record<StorageOperation, Permission>>>> = {
  edit: { create: 'yes', read: 'yes', update_metadata: 'yes', delete: 'yes' },
  rw: { create: 'yes', read: 'yes', update_metadata: 'yes', delete: 'after_retention' },
  ro: { create: 'no', read: 'yes', update_metadata: 'no', delete: 'after_retention' },
  ar: { create: 'no', read: 'after_restore', update_metadata: 'no', delete: 'after_retention' },
};

export function permissionFor(mode: StorageMode, operation: StorageOperation): Permission {
  return PERMISSIONS[mode][operation];
}

export interface OperationContext {
  /** The file's retention no longer blocks deletion (see retention.deletionBlocker). */
  readonly retentionEnded?: boolean;
  /** A restored copy of an archived file exists. */
  readonly restored?: boolean;
}

export function isOperationAllowed(
  mode: StorageMode,
  operation: StorageOperation,
  ctx: OperationContext = {},
): boolean {
  const permission = permissionFor(mode, operation);
  switch (permission) {
    case 'yes':
      return true;
    case 'no':
      return false;
    case 'after_retention':
      return ctx.retentionEnded === true;
    case 'after_restore':
      return ctx.restored === true;
  }
}

export function assertOperationAllowed(
  mode: StorageMode,
  operation: StorageOperation,
  ctx: OperationContext = {},
): void {
  if (isOperationAllowed(mode, operation, ctx)) return;
  const permission = permissionFor(mode, operation);
  const why =
    permission === 'no'
      ? `a storage element in mode '${mode}' does not allow ${operation.replace('_', ' ')}`
      : permission === 'after_retention'
        ? `a storage element in mode '${mode}' allows delete only after the file's retention has ended`
        : `a storage element in mode '${mode}' serves content only from a restored copy`;
  throw new DomainError('mode_forbids_operation', why, { mode, operation });
}

/** Conditions the admin must satisfy before a transition takes effect (§3.3 gates). */
export type TransitionGate = 'drain_writes' | 'passing_scrub';

interface TransitionRule {
  readonly gates: readonly TransitionGate[];
  readonly needsConfirmation: boolean;
}

/** Forward `rw → ro → ar`; `ro → rw` only when confirmed; `edit` has no transitions; `ar` is terminal. */
const TRANSITIONS: Readonly<Partial<Record<StorageMode, Partial<Record<StorageMode, TransitionRule>>>>> = {
  rw: { ro: { gates: ['drain_writes'], needsConfirmation: false } },
  ro: {
    ar: { gates: ['passing_scrub'], needsConfirmation: false },
    rw: { gates: [], needsConfirmation: true },
  },
};

export interface TransitionPlan {
  readonly from: StorageMode;
  readonly to: StorageMode;
  /** Same mode requested: nothing to do (idempotent). */
  readonly noop: boolean;
  readonly gates: readonly TransitionGate[];
}

export function isTransitionAllowed(from: StorageMode, to: StorageMode): boolean {
  return from === to || TRANSITIONS[from]?.[to] !== undefined;
}

export function planTransition(from: StorageMode, to: StorageMode, confirmed = false): TransitionPlan {
  if (from === to) return { from, to, noop: true, gates: [] };
  const rule = TRANSITIONS[from]?.[to];
  if (!rule) {
    throw new DomainError('illegal_mode_transition', `mode '${from}' cannot change to '${to}'`, { from, to });
  }
  if (rule.needsConfirmation && !confirmed) {
    throw new DomainError(
      'confirmation_required',
      `changing mode '${from}' to '${to}' must be confirmed explicitly (confirm: true)`,
      { from, to },
    );
  }
  return { from, to, noop: false, gates: rule.gates };
}

export function isStorageMode(value: string): value is StorageMode {
  return (STORAGE_MODES as readonly string[]).includes(value);
}
