import { crc32 } from 'node:zlib';
import type { WalDamage, WalOperation } from '../../application/ports/write-ahead-log';

export type WalRecord =
  | {
      readonly t: 'begin';
      readonly txn: string;
      readonly op: WalOperation;
      readonly file_id: string;
      readonly key: string;
    }
  | { readonly t: 'commit' | 'abort'; readonly txn: string };

const NEWLINE = 0x0a;
/** `<crc>` `<json>`: 8 lower-case hex digits of the CRC-32 of the JSON's UTF-8 bytes, one space. */
const CHECKED = /^[0-9a-f]{8} /u;
const PREFIX_LENGTH = 9;
const OPERATIONS: readonly string[] = ['create', 'delete', 'update', 'quarantine'] satisfies WalOperation[];

/**
 * One line of the log: the record's JSON after the CRC-32 (ISO-HDLC, as zlib and gzip) of its
 * bytes. The CRC catches every single flipped bit and any burst up to 32 bits; a line starting
 * with a hex digit can never pass for an older, unchecked record (those start with `{`).
 */
export function encodeRecord(record: WalRecord): string {
  const json = JSON.stringify(record);
  return `${hex(crc32(json))} ${json}\n`;
}

/** A segment's lines in order: intact records, and damaged lines (where, relative to the segment). */
export type SegmentEntry = { readonly record: WalRecord } | { readonly damage: Omit<WalDamage, 'segment'> };

/**
 * Reads a segment line by line. A line ends at a newline; the bytes after the last one are the
 * tail of an append cut short by a crash, ignored as such, unless they are a whole intact record:
 * cut just before its newline, or with its newline rotted (then the damaged line end is reported
 * too). Lines written before checksums (plain JSON) are read unchecked.
 */
export function readSegment(bytes: Buffer): SegmentEntry[] {
  const entries: SegmentEntry[] = [];
  let start = 0;
  for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
    const read = readLine(bytes.subarray(start, end));
    if (typeof read === 'string')
      entries.push({ damage: { offset: start, length: end + 1 - start, problem: read } });
    else if (read) entries.push({ record: read });
    start = end + 1;
  }
  const tail = bytes.subarray(start);
  const cutBeforeNewline = readLine(tail);
  const newlineRotted = tail.length > 1 ? readLine(tail.subarray(0, -1)) : null;
  if (isRecord(cutBeforeNewline)) entries.push({ record: cutBeforeNewline });
  else if (isRecord(newlineRotted))
    entries.push(
      { damage: { offset: start, length: tail.length, problem: 'the line end is damaged' } },
      { record: newlineRotted },
    );
  return entries;
}

/** The record, null for a blank line, or what is wrong with the line. */
function readLine(line: Buffer): WalRecord | null | string {
  const text = line.toString('utf8');
  if (!text.trim()) return null;
  if (text.startsWith('{')) return recordOf(text) ?? 'not a write-ahead log record';
  if (!CHECKED.test(text)) return 'not a write-ahead log record';
  const json = line.subarray(PREFIX_LENGTH);
  if (hex(crc32(json)) !== text.slice(0, PREFIX_LENGTH - 1)) return 'checksum differs from the record';
  return recordOf(json.toString('utf8')) ?? 'not a write-ahead log record';
}

function isRecord(read: WalRecord | null | string): read is WalRecord {
  return read !== null && typeof read !== 'string';
}

function recordOf(json: string): WalRecord | null {
  let value: { t?: unknown; txn?: unknown; op?: unknown; file_id?: unknown; key?: unknown };
  try {
    value = JSON.parse(json) as typeof value;
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof value.txn !== 'string') return null;
  if (value.t === 'commit' || value.t === 'abort') return { t: value.t, txn: value.txn };
  if (
    value.t === 'begin' &&
    typeof value.op === 'string' &&
    OPERATIONS.includes(value.op) &&
    typeof value.file_id === 'string' &&
    typeof value.key === 'string'
  )
    return {
      t: 'begin',
      txn: value.txn,
      op: value.op as WalOperation,
      file_id: value.file_id,
      key: value.key,
    };
  return null;
}

function hex(crc: number): string {
  return crc.toString(16).padStart(8, '0');
}
