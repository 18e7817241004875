/**
 * A Jepsen-style history checker for the chaos campaigns. Every client operation is recorded with
 * its outcome — `ok` (a 2xx), `fail` (a definite error: an answer with a status and a body) or
 * `info` (no answer: a timeout, a reset, the process died mid-request) — and after the faults
 * heal, what the store shows is classified per object:
 * - lost: an acknowledged effect is missing (an ok create absent or different, an ok delete
 *   undone, an ok finalize not permanent);
 * - unexpected: a definitely failed operation took effect (a failed create present, a failed
 *   delete removed the file, a failed finalize made it permanent), or one create shows up twice;
 * - partial: visible with bytes or a checksum that match no complete payload.
 * An `info` operation may have taken effect or not; either is fine, half is not.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface Payload {
  readonly sha256: string;
  readonly size: number;
}

export type Operation =
  | {
      readonly kind: 'create';
      /** Unique per create: found in the store (the file name) when the file id never came back. */
      readonly tag: string;
      readonly payload: Payload;
      readonly outcome: Outcome;
      /** Asked for at creation; temporary when left out. */
      readonly retention?: 'temporary' | 'permanent';
      readonly fileId?: string;
      readonly detail?: string;
    }
  | {
      readonly kind: 'delete' | 'finalize';
      readonly tag: string;
      readonly outcome: Outcome;
      readonly detail?: string;
    };

/** One file the store shows after recovery, found by its tag. */
export interface Observed {
  readonly tag: string;
  readonly fileId: string;
  /** What a client reading it whole gets; null when the read failed (counted as not readable). */
  readonly content: Payload | null;
  /** The catalogued checksum and size (a mismatch with the content is partial too). */
  readonly catalogued: Payload;
  readonly retention: 'temporary' | 'permanent';
}

export type Anomaly = 'lost' | 'unexpected' | 'partial';

export interface Finding {
  readonly anomaly: Anomaly;
  readonly tag: string;
  readonly reason: string;
}

export interface Verdict {
  readonly ops: Readonly<Record<Outcome, number>>;
  readonly findings: readonly Finding[];
  readonly lost: number;
  readonly unexpected: number;
  readonly partial: number;
}

/** Records operations as the workload runs; ops on one tag must be issued one after another. */
export class History {
  readonly operations: Operation[] = [];

  record(operation: Operation): void {
    this.operations.push(operation);
  }

  /** Tags of creates, with the file id where one came back. */
  creates(): { tag: string; fileId?: string }[] {
    return this.operations.flatMap((op) =>
      op.kind === 'create' ? [{ tag: op.tag, ...(op.fileId ? { fileId: op.fileId } : {}) }] : [],
    );
  }
}

/** What the history allows for one tag: definite (with the op that made it so) or open. */
type Expectation<T> = { readonly value: T; readonly by: Outcome } | { readonly value: 'either' };

const samePayload = (a: Payload, b: Payload): boolean => a.sha256 === b.sha256 && a.size === b.size;

function expectationsOf(ops: readonly Operation[]): {
  presence: Expectation<boolean>;
  permanent: Expectation<boolean>;
} {
  let presence: Expectation<boolean> = { value: false, by: 'fail' };
  let permanent: Expectation<boolean> = { value: false, by: 'fail' };
  for (const op of ops) {
    if (op.kind === 'create') {
      presence = op.outcome === 'info' ? { value: 'either' } : { value: op.outcome === 'ok', by: op.outcome };
      permanent = { value: op.retention === 'permanent', by: 'ok' };
    } else if (op.kind === 'delete') {
      if (op.outcome === 'ok') presence = { value: false, by: 'ok' };
      else if (op.outcome === 'info') presence = presence.value === false ? presence : { value: 'either' };
      else if (presence.value === true) presence = { value: true, by: 'fail' };
    } else if (op.outcome === 'ok') permanent = { value: true, by: 'ok' };
    else if (op.outcome === 'info') permanent = permanent.value === true ? permanent : { value: 'either' };
    else if (permanent.value === false) permanent = { value: false, by: 'fail' };
  }
  return { presence, permanent };
}

/** Classifies every create in `history` against what the store shows (`observed`, all tags). */
export function check(history: History, observed: readonly Observed[]): Verdict {
  const ops = { ok: 0, fail: 0, info: 0 };
  const byTag = new Map<string, Operation[]>();
  for (const op of history.operations) {
    ops[op.outcome] += 1;
    byTag.set(op.tag, [...(byTag.get(op.tag) ?? []), op]);
  }
  const seen = new Map<string, Observed[]>();
  for (const o of observed) seen.set(o.tag, [...(seen.get(o.tag) ?? []), o]);
  const findings: Finding[] = [];
  const note = (anomaly: Anomaly, tag: string, reason: string) => findings.push({ anomaly, tag, reason });

  for (const [tag, tagOps] of byTag) {
    const create = tagOps.find((op) => op.kind === 'create');
    if (!create || create.kind !== 'create') continue;
    const copies = seen.get(tag) ?? [];
    const { presence, permanent } = expectationsOf(tagOps);
    if (copies.length > 1) note('unexpected', tag, `one create visible as ${copies.length} files`);
    const file = copies[0];
    if (file) {
      if (create.fileId && file.fileId !== create.fileId)
        note('unexpected', tag, `visible as ${file.fileId}, acknowledged as ${create.fileId}`);
      if (!file.content) note('lost', tag, `catalogued but not readable (${file.fileId})`);
      else if (!samePayload(file.content, create.payload) || !samePayload(file.catalogued, create.payload))
        note('partial', tag, `visible with other bytes: ${JSON.stringify(file)}`);
    }
    if (presence.value !== 'either' && presence.value !== (file !== undefined)) {
      // Missing what an ok op promised, or an ok delete undone, is lost; a failed op's effect is unexpected.
      note(
        presence.by === 'ok' ? 'lost' : 'unexpected',
        tag,
        file ? `present (${file.fileId}) though ${describe(tagOps)}` : `absent though ${describe(tagOps)}`,
      );
    }
    if (file && permanent.value !== 'either' && permanent.value !== (file.retention === 'permanent'))
      note(
        permanent.by === 'ok' ? 'lost' : 'unexpected',
        tag,
        `${file.retention} though ${describe(tagOps)}`,
      );
  }
  for (const tag of seen.keys())
    if (!byTag.has(tag)) note('unexpected', tag, 'visible but never created by the workload');

  const count = (anomaly: Anomaly) => findings.filter((f) => f.anomaly === anomaly).length;
  return { ops, findings, lost: count('lost'), unexpected: count('unexpected'), partial: count('partial') };
}

function describe(ops: readonly Operation[]): string {
  return ops.map((op) => `${op.kind} ${op.outcome}${op.detail ? ` (${op.detail})` : ''}`).join(', ');
}
