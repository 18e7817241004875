import { crc32 } from 'node:zlib';
import { encodeRecord, readSegment, type WalRecord } from '../../../src/adapters/wal/wal-records';

const begin: WalRecord = {
  t: 'begin',
  txn: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  op: 'create',
  file_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c',
  key: '2026/03/01/отчёт "q1"_0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c.pdf',
};
const commit: WalRecord = { t: 'commit', txn: begin.txn };
const abort: WalRecord = { t: 'abort', txn: 'txn-2' };

const segment = (...records: WalRecord[]): Buffer => Buffer.from(records.map(encodeRecord).join(''));
const recordsOf = (bytes: Buffer): WalRecord[] =>
  readSegment(bytes).flatMap((e) => ('record' in e ? [e.record] : []));
const lengthOf = (record: WalRecord): number => Buffer.byteLength(encodeRecord(record));
const damageOf = (bytes: Buffer) => readSegment(bytes).flatMap((e) => ('damage' in e ? [e.damage] : []));

describe('write-ahead log records', () => {
  it('writes each record as the CRC-32 of its JSON, a space and the JSON, on one line', () => {
    const line = encodeRecord(commit);
    const json = JSON.stringify(commit);
    expect(line).toBe(`${crc32(json).toString(16).padStart(8, '0')} ${json}\n`);
    expect(recordsOf(segment(begin, commit, abort))).toEqual([begin, commit, abort]);
    expect(damageOf(segment(begin, commit, abort))).toEqual([]);
  });

  it('reports every single flipped bit of a complete line, and never reads the record it hit', () => {
    const bytes = segment(begin, commit, abort);
    const firstLine = lengthOf(begin);
    const missed: string[] = [];
    // Every byte of the middle line, its newline included.
    for (let at = firstLine; at < firstLine + lengthOf(commit); at += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const flipped = Buffer.from(bytes);
        flipped[at]! ^= 1 << bit;
        const damage = damageOf(flipped);
        const covered = damage.some((d) => d.offset <= at && at < d.offset + d.length);
        const read = recordsOf(flipped);
        if (!covered || read.some((r) => r.t === 'commit')) missed.push(`byte ${at} bit ${bit}`);
        // The records around it are read as written.
        expect(read[0]).toEqual(begin);
        if (at !== firstLine + lengthOf(commit) - 1) expect(read.at(-1)).toEqual(abort);
      }
    }
    expect(missed).toEqual([]);
  });

  it('reads a record whose newline rotted at the end of a segment, and reports the damaged line end', () => {
    const bytes = segment(begin, commit);
    bytes[bytes.length - 1]! ^= 0x01;
    expect(recordsOf(bytes)).toEqual([begin, commit]);
    expect(damageOf(bytes)).toEqual([
      {
        offset: lengthOf(begin),
        length: lengthOf(commit),
        problem: 'the line end is damaged',
      },
    ]);
  });

  it.each([0.1, 0.5, 0.9, 0.98])(
    'ignores a last line torn at %d of its length (a crash mid-append)',
    (fraction) => {
      const line = encodeRecord(commit);
      const torn = Buffer.concat([
        segment(begin),
        Buffer.from(line).subarray(0, Math.floor(line.length * fraction)),
      ]);
      expect(readSegment(torn)).toEqual([{ record: begin }]);
    },
  );

  it('reads a last record cut just before its newline', () => {
    const bytes = segment(begin, commit);
    expect(readSegment(bytes.subarray(0, -1))).toEqual([{ record: begin }, { record: commit }]);
  });

  it('reads lines written before checksums (plain JSON) unchecked, beside checked ones', () => {
    const legacy = Buffer.from(`${JSON.stringify(begin)}\n${JSON.stringify(commit)}\n`);
    expect(recordsOf(Buffer.concat([legacy, segment(abort)]))).toEqual([begin, commit, abort]);
  });

  it('reports an old-format line that does not parse when it is not the last', () => {
    const bytes = Buffer.from(`${JSON.stringify(begin).replace('"t"', '"t!')}\n${encodeRecord(abort)}`);
    expect(readSegment(bytes)).toEqual([
      {
        damage: {
          offset: 0,
          length: Buffer.byteLength(JSON.stringify(begin)) + 1,
          problem: 'not a write-ahead log record',
        },
      },
      { record: abort },
    ]);
  });

  it('reports a line with an intact checksum over a record it does not know', () => {
    const json = JSON.stringify({ t: 'begin', txn: 'x', op: 'rename', file_id: 'f', key: 'k' });
    const line = Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} ${json}\n`);
    expect(damageOf(line)).toEqual([
      { offset: 0, length: line.length, problem: 'not a write-ahead log record' },
    ]);
  });
});
