import type { WalIntent, WalOperation, WriteAheadLog } from '../../src/application/ports/write-ahead-log';

export interface WriteAheadLogHarness {
  readonly wal: WriteAheadLog;
  cleanup(): Promise<void>;
}

const OPERATIONS: readonly WalOperation[] = ['create', 'delete', 'update'];

export function anIntent(n: number, overrides: Partial<WalIntent> = {}): WalIntent {
  return {
    txn: `txn-${n}`,
    op: OPERATIONS[n % OPERATIONS.length]!,
    fileId: `0190b3f0-0000-7000-8000-${String(n).padStart(12, '0')}`,
    key: `2026/03/01/doc-${n}_${n}.pdf`,
    ...overrides,
  };
}

/** The behaviour every WriteAheadLog adapter must have (ARCHITECTURE §4.1). */
export function describeWriteAheadLogContract(name: string, open: () => Promise<WriteAheadLogHarness>): void {
  describe(`WriteAheadLog contract: ${name}`, () => {
    let h: WriteAheadLogHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('starts with nothing unfinished', async () => {
      await expect(h.wal.unfinished()).resolves.toEqual([]);
    });

    it('reports begun transactions until they are committed or aborted, oldest first', async () => {
      const intents = [1, 2, 3, 4, 5].map((n) => anIntent(n));
      for (const intent of intents) await h.wal.begin(intent);
      await expect(h.wal.unfinished()).resolves.toEqual(intents);

      await h.wal.commit('txn-2');
      await h.wal.abort('txn-4');
      await expect(h.wal.unfinished()).resolves.toEqual([intents[0], intents[2], intents[4]]);

      await h.wal.commit('txn-1');
      await h.wal.commit('txn-3');
      await h.wal.abort('txn-5');
      await expect(h.wal.unfinished()).resolves.toEqual([]);
    });

    it('keeps every field of an intent exactly', async () => {
      const intent = anIntent(7, {
        op: 'update',
        key: '2026/03/01/отчёт "итог" \\ квартал_0190b3f0.pdf',
      });
      await h.wal.begin(intent);
      const [only] = await h.wal.unfinished();
      expect(only).toEqual(intent);
    });

    it('treats finishing an unknown or already finished transaction as a no-op', async () => {
      await h.wal.begin(anIntent(1));
      await h.wal.begin(anIntent(2));
      await h.wal.commit('txn-1');
      await expect(h.wal.commit('txn-1')).resolves.toBeUndefined();
      await expect(h.wal.abort('txn-1')).resolves.toBeUndefined();
      await expect(h.wal.commit('never-begun')).resolves.toBeUndefined();
      await expect(h.wal.abort('never-begun')).resolves.toBeUndefined();
      await expect(h.wal.unfinished()).resolves.toEqual([anIntent(2)]);
    });

    it('resolves many concurrent begins (group commit) and keeps their order', async () => {
      const intents = Array.from({ length: 300 }, (_, i) => anIntent(i));
      await expect(Promise.all(intents.map((i) => h.wal.begin(i)))).resolves.toHaveLength(300);
      await expect(h.wal.unfinished()).resolves.toEqual(intents);

      // Commits and new begins racing each other.
      const more = Array.from({ length: 100 }, (_, i) => anIntent(1_000 + i));
      await Promise.all([...intents.map((i) => h.wal.commit(i.txn)), ...more.map((i) => h.wal.begin(i))]);
      await expect(h.wal.unfinished()).resolves.toEqual(more);
    });

    it('keeps unfinished intents when compacting, and keeps working after it', async () => {
      const intents = Array.from({ length: 10 }, (_, i) => anIntent(i));
      for (const intent of intents) await h.wal.begin(intent);
      for (const intent of intents.filter((_, i) => i % 2 === 0)) await h.wal.commit(intent.txn);
      await h.wal.compact();
      const odd = intents.filter((_, i) => i % 2 === 1);
      await expect(h.wal.unfinished()).resolves.toEqual(odd);

      await h.wal.begin(anIntent(100));
      await h.wal.commit(odd[0]!.txn);
      await expect(h.wal.unfinished()).resolves.toEqual([...odd.slice(1), anIntent(100)]);
    });

    it('compacts while begins and commits are in flight without losing any', async () => {
      const before = Array.from({ length: 20 }, (_, i) => anIntent(i));
      const after = Array.from({ length: 20 }, (_, i) => anIntent(100 + i));
      for (const intent of before) await h.wal.begin(intent);
      await Promise.all([
        ...before.slice(0, 10).map((i) => h.wal.commit(i.txn)),
        h.wal.compact(),
        ...after.map((i) => h.wal.begin(i)),
        h.wal.compact(),
      ]);
      await expect(h.wal.unfinished()).resolves.toEqual([...before.slice(10), ...after]);
    });

    it('compacting an empty log is harmless', async () => {
      await h.wal.compact();
      await h.wal.compact();
      await expect(h.wal.unfinished()).resolves.toEqual([]);
    });

    it('close waits for begins still in flight', async () => {
      const pending = [1, 2, 3].map((n) => h.wal.begin(anIntent(n)));
      await expect(h.wal.close()).resolves.toBeUndefined();
      await expect(Promise.all(pending)).resolves.toHaveLength(3);
    });
  });
}
