import { createHash } from 'node:crypto';
import type { StoredEncoding } from '../../../src/domain/document/document';
import type { StorageElementService } from '../../../src/application/storage/storage-element-service';
import { aDraft } from '../../support/builders';
import { documentText, seeded } from '../../support/documents';
import type { SeStructure } from './se-structure';
import { readRange, readWhole, streamOf } from './simulated-element';

/**
 * A storage element's write workload for the disk campaigns, and the checker that classifies what
 * is found after a fault against what the SE acknowledged (Jepsen's set checker, per file):
 * lost — an acknowledged put, update or delete whose effect is missing or different;
 * unexpected — a file present that was never acknowledged nor in flight, or whose write failed;
 * partial — a file visible with bytes that match no complete payload of it.
 */
export type Step =
  | {
      readonly kind: 'put';
      readonly id: string;
      readonly name: string;
      readonly content: Buffer;
      readonly encoding: StoredEncoding;
    }
  | { readonly kind: 'update'; readonly id: string; readonly description: string }
  | { readonly kind: 'delete'; readonly id: string };

const KiB = 1024;
const MiB = 1024 * KiB;

/** Puts of 0 B to > 1 MiB, identity and compressed, metadata updates (sidecar rewrites) and deletes. */
export function diskWorkload(seed: number, ids: () => string): Step[] {
  const rand = seeded(seed);
  const text = (size: number): Buffer => documentText(size, Math.floor(rand() * 1e6));
  const put = (size: number, encoding: StoredEncoding, content = text(size)): Step => ({
    kind: 'put',
    id: ids(),
    name: `doc-${Math.floor(rand() * 1e6)}.txt`,
    content,
    encoding,
  });
  const empty = put(0, 'identity');
  const small = put(3 * KiB + Math.floor(rand() * 2 * KiB), 'identity');
  const gzip = put(MiB + 200 * KiB, 'gzip');
  const br = put(150 * KiB + Math.floor(rand() * 100 * KiB), 'br');
  // Random bytes: incompressible, > 1 MiB so whole reads stream and verify as they go.
  const bytes = Buffer.alloc(MiB + 64 * KiB);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
  const large = put(bytes.length, 'identity', bytes);
  return [
    empty,
    small,
    { kind: 'update', id: small.id, description: 'first change' },
    gzip,
    { kind: 'delete', id: empty.id },
    br,
    { kind: 'update', id: br.id, description: 'сжатый файл' },
    large,
    { kind: 'delete', id: gzip.id },
    { kind: 'update', id: small.id, description: 'second change' },
  ];
}

export async function runStep(service: StorageElementService, step: Step): Promise<void> {
  if (step.kind === 'put') {
    await service.put(
      aDraft({ fileId: step.id, name: step.name, contentType: 'text/plain' }),
      streamOf(step.content),
      { size: step.content.length, sha256: createHash('sha256').update(step.content).digest('hex') },
      { encoding: step.encoding },
    );
  } else if (step.kind === 'update') {
    await service.update(step.id, { description: step.description });
  } else {
    await service.delete(step.id);
  }
}

export type Outcome = 'ok' | 'fail' | 'info';

/** A file's state: absent, or present with its content and description. */
type State =
  | { readonly present: false }
  | { readonly present: true; readonly content: Buffer; readonly description: string | null };
const ABSENT: State = { present: false };

function after(state: State, step: Step): State {
  if (step.kind === 'put') return { present: true, content: step.content, description: null };
  if (step.kind === 'delete') return ABSENT;
  return state.present ? { ...state, description: step.description } : state;
}

export interface Verdict {
  readonly lost: string[];
  readonly unexpected: string[];
  readonly partial: string[];
}

/**
 * Classifies every file of the workload on the recovered SE. `history` is each step run with its
 * outcome: an `ok` step's effect must be there; an `info` step (cut short: power loss) may or may
 * not have happened; a `fail` step (a definite error) must have left no trace.
 */
export async function classify(
  service: StorageElementService,
  structure: SeStructure,
  history: readonly { step: Step; outcome: Outcome }[],
): Promise<Verdict> {
  const verdict: Verdict = { lost: [], unexpected: [], partial: [] };
  const allowed = new Map<string, State[]>();
  for (const { step, outcome } of history) {
    const states = allowed.get(step.id) ?? [ABSENT];
    if (outcome === 'ok')
      allowed.set(
        step.id,
        states.map((s) => after(s, step)),
      );
    else if (outcome === 'info') allowed.set(step.id, [...states, ...states.map((s) => after(s, step))]);
    else allowed.set(step.id, states);
  }
  const ids = new Set([...allowed.keys(), ...structure.files.keys()]);
  for (const id of ids) {
    const states = allowed.get(id) ?? [ABSENT];
    const sidecar = structure.files.get(id);
    if (!sidecar) {
      if (!states.some((s) => !s.present)) verdict.lost.push(`${id}: acknowledged but missing`);
      continue;
    }
    const present = states.filter((s): s is Extract<State, { present: true }> => s.present);
    if (present.length === 0) {
      const everAcked = history.some((h) => h.step.id === id && h.outcome === 'ok');
      (everAcked ? verdict.lost : verdict.unexpected).push(
        `${id}: present, but ${everAcked ? 'its delete was acknowledged' : 'never acknowledged'}`,
      );
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await readWhole(service, id);
    } catch (error) {
      verdict.partial.push(`${id}: sidecar present but unreadable: ${(error as Error).message}`);
      continue;
    }
    const matching = present.filter((s) => s.content.equals(bytes));
    if (matching.length === 0) {
      verdict.partial.push(`${id}: ${bytes.length} bytes served match no complete payload`);
      continue;
    }
    if (!matching.some((s) => s.description === sidecar.description))
      verdict.lost.push(`${id}: description '${sidecar.description}' is not an acknowledged one`);
    if (bytes.length > 2) {
      const start = Math.floor(bytes.length / 3);
      const end = Math.min(bytes.length - 1, start + 70_000);
      const range = await readRange(service, id, start, end).catch(() => null);
      if (!range?.equals(bytes.subarray(start, end + 1)))
        verdict.partial.push(`${id}: range ${start}-${end} differs`);
    }
  }
  return verdict;
}
