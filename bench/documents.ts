/**
 * Document-like content generated deterministically from a seed (English and Russian prose, JSON,
 * CSV, HTML, service logs, already-gzipped and random bytes): what bench/codecs.ts measures the
 * codecs on, and what scenario 8 uploads.
 */
import { gzipSync } from 'node:zlib';

/** mulberry32: small, fast, deterministic (test/support/documents.ts uses it too). */
export function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EN =
  `the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were their one all we can her has there been if more when will would who so no time people year new work first way may day other about many some after also make over world city state part system life company government such group number report during market public data case where information service year results water program business order problem policy research change history support model value level account office contract payment customer document storage record archive retention period access request version review approval budget meeting schedule committee analysis quality standard section article provision agreement party notice`.split(
    ' ',
  );
const RU =
  `и в не на я что он с как а по это она к но они мы из у все за так же от то для о бы было его вы да было год который человек работа время дело жизнь день рука раз часть город слово место лицо друг глаз вопрос дом сторона страна мир случай голова ребенок сила конец вид система образ закон война история отношение деньги задача документ договор отчет решение порядок хранение срок архив запись приказ управление организация сотрудник заявление подпись основание согласно пункт статья требование`.split(
    ' ',
  );

function prose(rand: () => number, words: readonly string[], bytes: number): Buffer {
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const sentence: string[] = [];
    const n = 6 + Math.floor(rand() * 18);
    for (let i = 0; i < n; i += 1) sentence.push(words[Math.floor(rand() * words.length)]!);
    let text = sentence.join(' ');
    text = `${text[0]!.toUpperCase()}${text.slice(1)}${rand() < 0.1 ? ', ' + Math.floor(rand() * 10000) : ''}.`;
    text += rand() < 0.15 ? '\n\n' : ' ';
    parts.push(text);
    length += Buffer.byteLength(text);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function hex(rand: () => number, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i += 1) s += Math.floor(rand() * 16).toString(16);
  return s;
}

function lines(bytes: number, line: (i: number) => string, head = ''): Buffer {
  const parts: string[] = [head];
  let length = head.length;
  for (let i = 0; length < bytes; i += 1) {
    const text = line(i);
    parts.push(text);
    length += Buffer.byteLength(text);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export function documents(bytes: number, seed: number): Map<string, Buffer> {
  const rand = prng(seed);
  const word = (): string => EN[Math.floor(rand() * EN.length)]!;
  const time = (i: number): string =>
    new Date(Date.UTC(2026, 0, 1) + i * 937 + Math.floor(rand() * 900)).toISOString();
  const docs = new Map<string, Buffer>();
  docs.set('English prose', prose(rand, EN, bytes));
  docs.set('Russian prose', prose(rand, RU, bytes));
  docs.set(
    'JSON records',
    lines(
      bytes,
      (i) =>
        `${JSON.stringify({
          id: `${hex(rand, 8)}-${hex(rand, 4)}-7${hex(rand, 3)}-${hex(rand, 4)}-${hex(rand, 12)}`,
          name: `${word()} ${word()}.pdf`,
          size: Math.floor(rand() * 5e6),
          uploaded_at: time(i),
          tags: [word(), word()],
          metadata: { department: word(), owner: `user${Math.floor(rand() * 500)}` },
          retention: rand() < 0.5 ? { policy: 'temporary', ttl_days: 30 } : { policy: 'permanent' },
        })},\n`,
      '[\n',
    ),
  );
  docs.set(
    'CSV table',
    lines(
      bytes,
      (i) =>
        `${i},${time(i).slice(0, 10)},${word()},${word()} ${word()},${(rand() * 1e5).toFixed(2)},${Math.floor(rand() * 100)},${rand() < 0.5 ? 'RUB' : 'EUR'}\n`,
      'id,date,category,description,amount,quantity,currency\n',
    ),
  );
  docs.set(
    'XML/HTML',
    lines(
      bytes,
      (i) =>
        `<tr class="row-${i % 2}"><td id="c${i}">${word()}</td><td><a href="/api/v1/files/${hex(rand, 8)}">${word()} ${word()}</a></td><td>${(rand() * 1000).toFixed(1)}</td></tr>\n`,
      '<!doctype html><html><head><meta charset="utf-8"><title>Report</title></head><body><table>\n',
    ),
  );
  docs.set(
    'service logs',
    lines(
      bytes,
      (i) =>
        `{"name":"artstore","hostname":"node-${Math.floor(rand() * 4)}","pid":${1000 + Math.floor(rand() * 50)},"level":30,"req_id":"${hex(rand, 16)}","method":"${rand() < 0.7 ? 'GET' : 'POST'}","url":"/api/v1/files/${hex(rand, 8)}","status":${rand() < 0.95 ? 200 : 404},"ms":${(rand() * 40).toFixed(2)},"msg":"request","time":"${time(i)}","v":0}\n`,
    ),
  );
  docs.set(
    'already gzip-9',
    gzipSync(Buffer.concat([docs.get('English prose')!, docs.get('JSON records')!]), { level: 9 }).subarray(
      0,
      bytes,
    ),
  );
  const random = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) random.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  docs.set('random', random);
  return docs;
}
