import { DomainError } from '../../../src/domain/errors';
import {
  assertDeletable,
  decideRetention,
  deletionBlocker,
  expiresAt,
  writeModeFor,
  type Retention,
  type RetentionRequest,
} from '../../../src/domain/retention/retention';
import { T0 } from '../../support/builders';

const DAY = 24 * 60 * 60 * 1000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);

function errorOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

describe('decideRetention', () => {
  it('defaults to temporary for 30 days, expiring uploadedAt + ttl', () => {
    expect(decideRetention({}, T0)).toEqual({ policy: 'temporary', ttlDays: 30, expiresAt: at(30 * DAY) });
  });

  it('uses the configured default TTL when the request has none', () => {
    expect(decideRetention({ policy: 'temporary' }, T0, 7)).toEqual({
      policy: 'temporary',
      ttlDays: 7,
      expiresAt: at(7 * DAY),
    });
  });

  it.each([1, 2, 30, 364, 365])('accepts ttl_days=%d', (ttlDays) => {
    expect(decideRetention({ policy: 'temporary', ttlDays }, T0)).toEqual({
      policy: 'temporary',
      ttlDays,
      expiresAt: at(ttlDays * DAY),
    });
  });

  it.each([0, -1, 366, 1000, 1.5, 29.999, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses ttl_days=%d with invalid_ttl',
    (ttlDays) => {
      const error = errorOf(() => decideRetention({ policy: 'temporary', ttlDays }, T0));
      expect(error.code).toBe('invalid_ttl');
      expect(error.details).toEqual({ field: 'ttl_days' });
    },
  );

  it('refuses a default TTL that is out of bounds too', () => {
    expect(errorOf(() => decideRetention({}, T0, 0)).code).toBe('invalid_ttl');
  });

  it.each<[string, RetentionRequest, string, string]>([
    ['an unknown policy', { policy: 'forever' }, 'invalid_retention', 'retention_policy'],
    ['an upper-case policy', { policy: 'PERMANENT' }, 'invalid_retention', 'retention_policy'],
    ['permanent with a ttl', { policy: 'permanent', ttlDays: 30 }, 'invalid_retention', 'ttl_days'],
    [
      'permanent retained until the upload instant',
      { policy: 'permanent', retainUntil: T0 },
      'invalid_retention',
      'retain_until',
    ],
    [
      'permanent retained until the past',
      { policy: 'permanent', retainUntil: at(-1) },
      'invalid_retention',
      'retain_until',
    ],
    [
      'temporary with retain_until',
      { policy: 'temporary', retainUntil: at(DAY) },
      'invalid_retention',
      'retain_until',
    ],
    ['implicit temporary with retain_until', { retainUntil: at(DAY) }, 'invalid_retention', 'retain_until'],
  ])('refuses %s', (_label, request, code, field) => {
    const error = errorOf(() => decideRetention(request, T0));
    expect(error.code).toBe(code);
    expect(error.details).toEqual({ field });
  });

  it('makes a permanent retention without legal hold, with or without retain_until', () => {
    expect(decideRetention({ policy: 'permanent' }, T0)).toEqual({
      policy: 'permanent',
      retainUntil: null,
      legalHold: false,
    });
    expect(decideRetention({ policy: 'permanent', retainUntil: at(1) }, T0)).toEqual({
      policy: 'permanent',
      retainUntil: at(1),
      legalHold: false,
    });
  });
});

describe('writeModeFor and expiresAt', () => {
  it('sends temporary files to edit and permanent files to rw', () => {
    expect(writeModeFor('temporary')).toBe('edit');
    expect(writeModeFor('permanent')).toBe('rw');
  });

  it('gives the expiry of temporary files only', () => {
    expect(expiresAt(decideRetention({ ttlDays: 2 }, T0))).toEqual(at(2 * DAY));
    expect(expiresAt(decideRetention({ policy: 'permanent' }, T0))).toBeNull();
  });
});

const permanent = (retainUntil: Date | null, legalHold = false): Retention => ({
  policy: 'permanent',
  retainUntil,
  legalHold,
});

describe('deletionBlocker and assertDeletable', () => {
  it.each<[string, Retention, Date, 'retention_active' | 'legal_hold_active' | null]>([
    ['temporary before expiry', decideRetention({}, T0), T0, null],
    ['temporary after expiry', decideRetention({}, T0), at(365 * DAY), null],
    ['permanent without retain_until', permanent(null), T0, null],
    ['permanent one ms before retain_until', permanent(at(DAY)), at(DAY - 1), 'retention_active'],
    ['permanent exactly at retain_until', permanent(at(DAY)), at(DAY), null],
    ['permanent after retain_until', permanent(at(DAY)), at(DAY + 1), null],
    ['legal hold without retain_until', permanent(null, true), T0, 'legal_hold_active'],
    ['legal hold after retain_until', permanent(at(DAY), true), at(2 * DAY), 'legal_hold_active'],
    ['legal hold before retain_until', permanent(at(DAY), true), T0, 'legal_hold_active'],
  ])('%s → %s', (_label, retention, now, blocker) => {
    expect(deletionBlocker(retention, now)).toBe(blocker);
    if (blocker === null) {
      expect(() => assertDeletable(retention, now)).not.toThrow();
    } else {
      expect(errorOf(() => assertDeletable(retention, now)).code).toBe(blocker);
    }
  });
});
