import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryWriteAheadLog } from '../../src/adapters/memory/memory-write-ahead-log';
import { FileWriteAheadLog } from '../../src/adapters/wal/file-write-ahead-log';
import { anIntent, describeWriteAheadLogContract } from './write-ahead-log.contract';

describeWriteAheadLogContract('FileWriteAheadLog', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'artstore-wal-'));
  const wal = await FileWriteAheadLog.openAt(dir);
  return {
    wal,
    cleanup: async () => {
      await wal.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeWriteAheadLogContract('MemoryWriteAheadLog', async () => ({
  wal: new MemoryWriteAheadLog(),
  cleanup: async () => undefined,
}));

describe('FileWriteAheadLog specifics', () => {
  let dir: string;
  const opened: FileWriteAheadLog[] = [];
  const openWal = async (): Promise<FileWriteAheadLog> => {
    const wal = await FileWriteAheadLog.openAt(dir);
    opened.push(wal);
    return wal;
  };
  const segments = async (): Promise<string[]> =>
    (await readdir(dir)).filter((name) => /^wal-\d{12}\.log$/u.test(name)).sort();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'artstore-wal-'));
  });
  afterEach(async () => {
    for (const wal of opened.splice(0)) await wal.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps unfinished intents across close and reopen, and forgets finished ones', async () => {
    const wal = await openWal();
    const kept = [anIntent(1), anIntent(4, { key: '2026/03/01/отчёт "q1"_x.pdf' })];
    await wal.begin(kept[0]!);
    await wal.begin(anIntent(2));
    await wal.begin(anIntent(3));
    await wal.begin(kept[1]!);
    await wal.commit('txn-2');
    await wal.abort('txn-3');
    await wal.close();

    await expect((await openWal()).unfinished()).resolves.toEqual(kept);
  });

  it('makes a begin durable before close even when close is not awaited first', async () => {
    const wal = await openWal();
    const begun = Promise.all([wal.begin(anIntent(1)), wal.begin(anIntent(2))]);
    await wal.close();
    await begun;
    await expect((await openWal()).unfinished()).resolves.toEqual([anIntent(1), anIntent(2)]);
  });

  it('ignores a torn last line (a crash mid-append) on reopen', async () => {
    const wal = await openWal();
    await wal.begin(anIntent(1));
    await wal.begin(anIntent(2));
    await wal.close();
    const newest = (await segments()).at(-1)!;
    // The commit of txn-1 was being appended when the process died: no newline, cut mid-record.
    await appendFile(join(dir, newest), '{"t":"commit","txn":"tx');

    const reopened = await openWal();
    await expect(reopened.unfinished()).resolves.toEqual([anIntent(1), anIntent(2)]);
    // New records are not glued to the torn line.
    await reopened.begin(anIntent(3));
    await reopened.commit('txn-2');
    await reopened.close();
    await expect((await openWal()).unfinished()).resolves.toEqual([anIntent(1), anIntent(3)]);
  });

  it('ignores binary garbage at the end of the newest segment', async () => {
    const wal = await openWal();
    await wal.begin(anIntent(1));
    await wal.close();
    const newest = (await segments()).at(-1)!;
    await appendFile(join(dir, newest), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0x01]));

    await expect((await openWal()).unfinished()).resolves.toEqual([anIntent(1)]);
  });

  it('leaves exactly one segment after compact, holding only unfinished intents', async () => {
    // Several open/close cycles leave several segments behind.
    for (let round = 0; round < 3; round += 1) {
      const wal = await openWal();
      await wal.begin(anIntent(round * 2));
      await wal.begin(anIntent(round * 2 + 1));
      await wal.commit(anIntent(round * 2).txn);
      await wal.close();
    }
    expect((await segments()).length).toBeGreaterThan(1);
    const expected = [anIntent(1), anIntent(3), anIntent(5)];

    const wal = await openWal();
    await wal.compact();
    expect(await segments()).toHaveLength(1);
    await expect(wal.unfinished()).resolves.toEqual(expected);
    await wal.close();

    await expect((await openWal()).unfinished()).resolves.toEqual(expected);
  });

  it('leaves one segment after compacting a log whose transactions all finished', async () => {
    const wal = await openWal();
    for (let n = 0; n < 5; n += 1) await wal.begin(anIntent(n));
    for (let n = 0; n < 5; n += 1) await wal.commit(anIntent(n).txn);
    await wal.compact();
    expect(await segments()).toHaveLength(1);
    await wal.close();
    await expect((await openWal()).unfinished()).resolves.toEqual([]);
  });

  it('replays idempotently: reopening twice gives the same unfinished set in the same order', async () => {
    const wal = await openWal();
    const intents = Array.from({ length: 50 }, (_, i) => anIntent(i));
    await Promise.all(intents.map((i) => wal.begin(i)));
    await Promise.all(intents.filter((_, i) => i % 3 === 0).map((i) => wal.commit(i.txn)));
    await wal.close();
    const expected = intents.filter((_, i) => i % 3 !== 0);

    const first = await openWal();
    await expect(first.unfinished()).resolves.toEqual(expected);
    await first.close();
    const second = await openWal();
    await expect(second.unfinished()).resolves.toEqual(expected);
  });

  it('skips a damaged record, reports where it is, and leaves the transactions it may have closed open and doubtful', async () => {
    const wal = await openWal();
    for (const n of [1, 2, 3]) await wal.begin(anIntent(n));
    await wal.commit('txn-1');
    await wal.commit('txn-2');
    await wal.begin(anIntent(4));
    await wal.close();
    const name = (await segments()).at(-1)!;
    const bytes = await readFile(join(dir, name));
    // One flipped bit in the commit of txn-2, the fifth line.
    const lineStarts = [0, ...[...bytes.keys()].filter((i) => bytes[i] === 0x0a).map((i) => i + 1)];
    const at = lineStarts[4]! + 20;
    bytes[at]! ^= 0x04;
    await writeFile(join(dir, name), bytes);

    const reopened = await openWal();
    expect(reopened.damaged()).toEqual([
      {
        segment: name,
        offset: lineStarts[4],
        length: lineStarts[5]! - lineStarts[4]!,
        problem: 'checksum differs from the record',
      },
    ]);
    // txn-1 was closed before the damage; txn-4 began after it.
    await expect(reopened.unfinished()).resolves.toEqual([
      { ...anIntent(2), doubtful: true },
      { ...anIntent(3), doubtful: true },
      anIntent(4),
    ]);
    // It still takes records, in a fresh segment, and compacts the damaged one away.
    await reopened.commit('txn-2');
    await reopened.compact();
    await reopened.close();
    const again = await openWal();
    expect(again.damaged()).toEqual([]);
    await expect(again.unfinished()).resolves.toEqual([anIntent(3), anIntent(4)]);
  });

  it('reads a segment written before record checksums (plain JSON lines)', async () => {
    const lines = [
      { t: 'begin', txn: 'txn-1', op: 'create', file_id: anIntent(1).fileId, key: anIntent(1).key },
      { t: 'begin', txn: 'txn-2', op: 'delete', file_id: anIntent(2).fileId, key: anIntent(2).key },
      { t: 'commit', txn: 'txn-1' },
    ];
    await writeFile(join(dir, 'wal-000000000001.log'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const wal = await openWal();
    expect(wal.damaged()).toEqual([]);
    await expect(wal.unfinished()).resolves.toEqual([{ ...anIntent(2), op: 'delete' }]);
  });
});
