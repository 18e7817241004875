import { DomainError } from '../../../src/domain/errors';
import {
  assertOperationAllowed,
  isOperationAllowed,
  isTransitionAllowed,
  planTransition,
  STORAGE_MODES,
  STORAGE_OPERATIONS,
  type OperationContext,
  type StorageMode,
  type StorageOperation,
} from '../../../src/domain/storage-mode/storage-mode';

type Row = [StorageMode, StorageOperation, OperationContext, boolean];

const ended: OperationContext = { retentionEnded: true };
const notEnded: OperationContext = { retentionEnded: false };
const restored: OperationContext = { restored: true };
const notRestored: OperationContext = { restored: false };

/** ARCHITECTURE §3.3, one row per mode × operation (× the condition where the table has one). */
const PERMISSIONS: Row[] = [
  ['edit', 'create', {}, true],
  ['edit', 'read', {}, true],
  ['edit', 'update_metadata', {}, true],
  ['edit', 'delete', notEnded, true],
  ['rw', 'create', {}, true],
  ['rw', 'read', {}, true],
  ['rw', 'update_metadata', {}, true],
  ['rw', 'delete', ended, true],
  ['rw', 'delete', notEnded, false],
  ['rw', 'delete', {}, false],
  ['ro', 'create', {}, false],
  ['ro', 'read', {}, true],
  ['ro', 'update_metadata', {}, false],
  ['ro', 'delete', ended, true],
  ['ro', 'delete', notEnded, false],
  ['ar', 'create', {}, false],
  ['ar', 'read', restored, true],
  ['ar', 'read', notRestored, false],
  ['ar', 'read', {}, false],
  ['ar', 'update_metadata', {}, false],
  ['ar', 'delete', ended, true],
  ['ar', 'delete', notEnded, false],
];

describe('storage mode permissions', () => {
  it('covers every mode × operation pair', () => {
    const covered = new Set(PERMISSIONS.map(([mode, op]) => `${mode}:${op}`));
    expect(covered.size).toBe(STORAGE_MODES.length * STORAGE_OPERATIONS.length);
  });

  it.each(PERMISSIONS)('%s / %s with %j → allowed=%s', (mode, operation, ctx, allowed) => {
    expect(isOperationAllowed(mode, operation, ctx)).toBe(allowed);
    if (allowed) {
      expect(() => assertOperationAllowed(mode, operation, ctx)).not.toThrow();
    } else {
      let thrown: unknown;
      try {
        assertOperationAllowed(mode, operation, ctx);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DomainError);
      expect(thrown).toMatchObject({ code: 'mode_forbids_operation', details: { mode, operation } });
    }
  });

  it('ignores an unrelated condition (restored does not end retention)', () => {
    expect(isOperationAllowed('rw', 'delete', { restored: true })).toBe(false);
    expect(isOperationAllowed('ar', 'read', { retentionEnded: true })).toBe(false);
  });
});

type Transition =
  { kind: 'noop' } | { kind: 'gated'; gates: string[] } | { kind: 'confirm' } | { kind: 'illegal' };

const EXPECTED: Record<StorageMode, Record<StorageMode, Transition>> = {
  edit: {
    edit: { kind: 'noop' },
    rw: { kind: 'illegal' },
    ro: { kind: 'illegal' },
    ar: { kind: 'illegal' },
  },
  rw: {
    edit: { kind: 'illegal' },
    rw: { kind: 'noop' },
    ro: { kind: 'gated', gates: ['drain_writes'] },
    ar: { kind: 'illegal' },
  },
  ro: {
    edit: { kind: 'illegal' },
    rw: { kind: 'confirm' },
    ro: { kind: 'noop' },
    ar: { kind: 'gated', gates: ['passing_scrub'] },
  },
  ar: {
    edit: { kind: 'illegal' },
    rw: { kind: 'illegal' },
    ro: { kind: 'illegal' },
    ar: { kind: 'noop' },
  },
};

const PAIRS = STORAGE_MODES.flatMap((from) =>
  STORAGE_MODES.map((to) => [from, to, EXPECTED[from][to]] as const),
);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return (error as DomainError).code;
  }
  return undefined;
}

describe('planTransition', () => {
  it('has a row for all 16 (from, to) pairs', () => {
    expect(PAIRS).toHaveLength(16);
  });

  it.each(PAIRS)('%s → %s: %j', (from, to, expected) => {
    switch (expected.kind) {
      case 'noop':
        for (const confirmed of [false, true]) {
          expect(planTransition(from, to, confirmed)).toEqual({ from, to, noop: true, gates: [] });
        }
        expect(isTransitionAllowed(from, to)).toBe(true);
        break;
      case 'gated':
        for (const confirmed of [false, true]) {
          expect(planTransition(from, to, confirmed)).toEqual({
            from,
            to,
            noop: false,
            gates: expected.gates,
          });
        }
        expect(isTransitionAllowed(from, to)).toBe(true);
        break;
      case 'confirm':
        expect(codeOf(() => planTransition(from, to))).toBe('confirmation_required');
        expect(codeOf(() => planTransition(from, to, false))).toBe('confirmation_required');
        expect(planTransition(from, to, true)).toEqual({ from, to, noop: false, gates: [] });
        expect(isTransitionAllowed(from, to)).toBe(true);
        break;
      case 'illegal':
        expect(codeOf(() => planTransition(from, to, false))).toBe('illegal_mode_transition');
        expect(codeOf(() => planTransition(from, to, true))).toBe('illegal_mode_transition');
        expect(isTransitionAllowed(from, to)).toBe(false);
        break;
    }
  });
});
