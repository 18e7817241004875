import {
  applyAttributeChange,
  changesDescriptiveFields,
  isEmptyChange,
  reflectsChange,
} from '../../../src/domain/document/attribute-change';
import { DomainError } from '../../../src/domain/errors';
import { changeRetention, type Retention } from '../../../src/domain/retention/retention';
import { aDocument, T0 } from '../../support/builders';

const DAY = 24 * 60 * 60 * 1000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const permanent = (retainUntil: Date | null, legalHold = false): Retention => ({
  policy: 'permanent',
  retainUntil,
  legalHold,
});
const temporary: Retention = { policy: 'temporary', ttlDays: 30, expiresAt: at(30 * DAY) };

describe('changeRetention', () => {
  it('sets and clears a legal hold on a permanent file, keeping retain_until', () => {
    const held = changeRetention(permanent(at(DAY)), { legalHold: true }, T0);
    expect(held).toEqual(permanent(at(DAY), true));
    expect(changeRetention(held, { legalHold: false }, T0)).toEqual(permanent(at(DAY)));
  });

  it('extends retain_until to a later instant than now and than the current value', () => {
    expect(changeRetention(permanent(null), { retainUntil: at(1) }, T0)).toEqual(permanent(at(1)));
    expect(changeRetention(permanent(at(DAY)), { retainUntil: at(2 * DAY) }, T0)).toEqual(
      permanent(at(2 * DAY)),
    );
    // The same value again is no change and no refusal.
    expect(changeRetention(permanent(at(DAY)), { retainUntil: at(DAY) }, at(5 * DAY))).toEqual(
      permanent(at(DAY)),
    );
  });

  it.each([
    ['earlier than the current value', permanent(at(2 * DAY)), at(DAY)],
    ['not after now', permanent(null), T0],
    ['in the past', permanent(null), at(-DAY)],
    ['later than the current value but already past', permanent(at(-2 * DAY)), at(-DAY)],
  ])('refuses a retain_until %s with retain_until_shortened', (_label, retention, asked) => {
    expect(() => changeRetention(retention, { retainUntil: asked }, T0)).toThrow(
      expect.objectContaining({ code: 'retain_until_shortened' }),
    );
  });

  it('refuses retention controls on a temporary file', () => {
    expect(() => changeRetention(temporary, { legalHold: true }, T0)).toThrow(
      expect.objectContaining({ code: 'legal_hold_temporary' }),
    );
    expect(() => changeRetention(temporary, { retainUntil: at(DAY) }, T0)).toThrow(DomainError);
    expect(changeRetention(temporary, {}, T0)).toBe(temporary);
  });
});

describe('attribute changes', () => {
  const file = aDocument(Buffer.from('x'), { retention: permanent(null), tags: ['a'], metadata: { k: 'v' } });

  it('applies only the fields given, bumps attr_version and stamps the time', () => {
    const next = applyAttributeChange(file, { description: 'd', tags: ['b', 'b', 'c'] }, at(DAY));
    expect(next).toEqual({
      ...file,
      description: 'd',
      tags: ['b', 'c'],
      attrVersion: file.attrVersion + 1,
      updatedAt: at(DAY),
    });
    expect(reflectsChange(next, { description: 'd', tags: ['b', 'c'] })).toBe(true);
    expect(reflectsChange(next, { metadata: { k: 'other' } })).toBe(false);
    expect(reflectsChange(file, { legalHold: true })).toBe(false);
  });

  it('tells descriptive fields from retention controls, and an empty change', () => {
    expect(changesDescriptiveFields({ description: null })).toBe(true);
    expect(changesDescriptiveFields({ legalHold: true })).toBe(false);
    expect(isEmptyChange({})).toBe(true);
    expect(isEmptyChange({ retainUntil: at(DAY) })).toBe(false);
  });
});
