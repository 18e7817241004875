import { check, History, type Observed, type Operation, type Payload } from './support/checker';

const A: Payload = { sha256: 'a'.repeat(64), size: 10 };
const B: Payload = { sha256: 'b'.repeat(64), size: 10 };

function historyOf(...operations: Operation[]): History {
  const history = new History();
  operations.forEach((op) => history.record(op));
  return history;
}

const create = (
  tag: string,
  outcome: Operation['outcome'],
  payload = A,
  fileId = `id-${tag}`,
): Operation => ({
  kind: 'create',
  tag,
  payload,
  outcome,
  ...(outcome === 'ok' ? { fileId } : {}),
});
const seen = (tag: string, content: Payload | null = A, over: Partial<Observed> = {}): Observed => ({
  tag,
  fileId: `id-${tag}`,
  content,
  catalogued: content ?? A,
  retention: 'temporary',
  ...over,
});

describe('the history checker', () => {
  it('passes a clean history: ok present, failed absent, info either way', () => {
    const verdict = check(
      historyOf(create('1', 'ok'), create('2', 'fail'), create('3', 'info'), create('4', 'info')),
      [seen('1'), seen('3')],
    );
    expect(verdict).toMatchObject({ lost: 0, unexpected: 0, partial: 0, ops: { ok: 1, fail: 1, info: 2 } });
  });

  it('finds an acknowledged create missing or unreadable (lost)', () => {
    expect(check(historyOf(create('1', 'ok')), []).lost).toBe(1);
    expect(check(historyOf(create('1', 'ok')), [seen('1', null)]).lost).toBe(1);
  });

  it('finds a failed create present, a duplicate, and a stranger (unexpected)', () => {
    expect(check(historyOf(create('1', 'fail')), [seen('1')]).unexpected).toBe(1);
    expect(check(historyOf(create('1', 'info')), [seen('1'), seen('1', A, { fileId: 'x' })]).unexpected).toBe(
      1,
    );
    expect(check(historyOf(), [seen('9')]).unexpected).toBe(1);
    expect(check(historyOf(create('1', 'ok')), [seen('1', A, { fileId: 'other' })]).unexpected).toBe(1);
  });

  it('finds bytes or a checksum matching no payload (partial), also for an info create', () => {
    expect(check(historyOf(create('1', 'info')), [seen('1', B)]).partial).toBe(1);
    expect(check(historyOf(create('1', 'ok')), [seen('1', A, { catalogued: B })]).partial).toBe(1);
    expect(check(historyOf(create('1', 'ok')), [seen('1', { sha256: A.sha256, size: 9 })]).partial).toBe(1);
  });

  it('holds deletes: ok stays deleted, fail leaves the file, info either', () => {
    const del = (outcome: Operation['outcome']): Operation => ({ kind: 'delete', tag: '1', outcome });
    expect(check(historyOf(create('1', 'ok'), del('ok')), []).findings).toEqual([]);
    expect(check(historyOf(create('1', 'ok'), del('ok')), [seen('1')]).lost).toBe(1);
    expect(check(historyOf(create('1', 'ok'), del('fail')), []).unexpected).toBe(1);
    expect(check(historyOf(create('1', 'ok'), del('fail')), [seen('1')]).findings).toEqual([]);
    expect(check(historyOf(create('1', 'ok'), del('info')), []).findings).toEqual([]);
    expect(check(historyOf(create('1', 'ok'), del('info')), [seen('1')]).findings).toEqual([]);
  });

  it('holds finalize: ok sticks, fail leaves it temporary, info either', () => {
    const fin = (outcome: Operation['outcome']): Operation => ({ kind: 'finalize', tag: '1', outcome });
    const permanent = seen('1', A, { retention: 'permanent' });
    expect(check(historyOf(create('1', 'ok'), fin('ok')), [permanent]).findings).toEqual([]);
    expect(check(historyOf(create('1', 'ok'), fin('ok')), [seen('1')]).lost).toBe(1);
    expect(check(historyOf(create('1', 'ok'), fin('fail')), [permanent]).unexpected).toBe(1);
    expect(check(historyOf(create('1', 'ok'), fin('info')), [permanent]).findings).toEqual([]);
    expect(check(historyOf(create('1', 'ok'), fin('info')), [seen('1')]).findings).toEqual([]);
    // Created permanent: permanent is right, temporary is lost.
    const permanentCreate: Operation = { ...create('1', 'info'), retention: 'permanent' } as Operation;
    expect(check(historyOf(permanentCreate), [permanent]).findings).toEqual([]);
    expect(check(historyOf(permanentCreate), [seen('1')]).lost).toBe(1);
    // Finalized, then deleted: absent is right.
    const del: Operation = { kind: 'delete', tag: '1', outcome: 'ok' };
    expect(check(historyOf(create('1', 'ok'), fin('ok'), del), []).findings).toEqual([]);
  });
});
