import { changeRetention } from '../retention/retention';
import type { DocumentAttributes } from './document';

/**
 * A change of a stored document's attributes. Every field is optional; an absent field stays as it
 * is. `metadata` is the whole new map (the caller merges); `tags` the whole new list; a null
 * description clears it. `legalHold` and `retainUntil` are retention controls (§3.2).
 */
export interface AttributeChange {
  readonly description?: string | null | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  readonly legalHold?: boolean | undefined;
  /** May only be extended, never shortened. */
  readonly retainUntil?: Date | undefined;
}

/** Description, tags or metadata: what a storage mode's `update metadata` permission governs. */
export function changesDescriptiveFields(change: AttributeChange): boolean {
  return change.description !== undefined || change.tags !== undefined || change.metadata !== undefined;
}

export function changesRetentionControls(change: AttributeChange): boolean {
  return change.legalHold !== undefined || change.retainUntil !== undefined;
}

export function isEmptyChange(change: AttributeChange): boolean {
  return !changesDescriptiveFields(change) && !changesRetentionControls(change);
}

/** The next version of the document: the change applied, `attr_version` + 1, updated now. */
export function applyAttributeChange(
  file: DocumentAttributes,
  change: AttributeChange,
  now: Date,
): DocumentAttributes {
  return {
    ...file,
    description: change.description === undefined ? file.description : change.description,
    tags: change.tags === undefined ? file.tags : [...new Set(change.tags)],
    metadata: change.metadata === undefined ? file.metadata : { ...change.metadata },
    retention: changeRetention(
      file.retention,
      { legalHold: change.legalHold, retainUntil: change.retainUntil },
      now,
    ),
    updatedAt: now,
    attrVersion: file.attrVersion + 1,
  };
}

/** Whether the document already shows every field of the change (a retried change that landed). */
export function reflectsChange(file: DocumentAttributes, change: AttributeChange): boolean {
  const r = file.retention;
  return (
    (change.description === undefined || change.description === file.description) &&
    (change.tags === undefined || sameList([...new Set(change.tags)], file.tags)) &&
    (change.metadata === undefined || sameMap(change.metadata, file.metadata)) &&
    (change.legalHold === undefined || (r.policy === 'permanent' && r.legalHold === change.legalHold)) &&
    (change.retainUntil === undefined ||
      (r.policy === 'permanent' && r.retainUntil?.getTime() === change.retainUntil.getTime()))
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
