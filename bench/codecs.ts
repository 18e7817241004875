/**
 * Codec measurements for compression `auto` (issue 5): `npm run build && node dist/bench/codecs.js`.
 * Generates document-like content deterministically from a seed, encodes it with ArtStore's own
 * framed encoder (FrameEncoder: one gzip member / brotli stream per frame, on the thread pool)
 * and decodes it with decodeFrames, and prints MB/s (10⁶ B/s of original bytes) and the ratio
 * (stored ÷ original) for each codec and level. Figures, not verdicts: nothing here gates CI.
 *
 * Environment:
 *   CODECS_SEED=N        seed of the generated documents (default 5)
 *   CODECS_MIB=N         MiB of each kind of document (default 4)
 *   CODECS_ROUNDS=N      rounds per codec and kind; the best is reported (default 3)
 */
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { documents } from './documents';
import type { Codec } from '../src/domain/document/compression';
import { FRAME_SIZE } from '../src/domain/document/compression';
import { planFrames } from '../src/domain/document/frames';
import { decodeFrames, FrameEncoder } from '../src/application/storage/framed-codec';

const MiB = 1 << 20;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const seed = Number(process.env.CODECS_SEED ?? 5);
const sizeMiB = Number(process.env.CODECS_MIB ?? 4);
const rounds = Number(process.env.CODECS_ROUNDS ?? 3);

interface Measured {
  readonly encodeMBs: number;
  readonly decodeMBs: number;
  readonly ratio: number;
}

async function encode(
  content: Buffer,
  codec: Codec,
  level: number,
  frameSize: number,
): Promise<{ stored: Buffer; sizes: number[] }> {
  const encoder = new FrameEncoder(codec, level, frameSize);
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  // 64 KiB chunks, as a network upload arrives.
  const chunks = function* (): Generator<Buffer> {
    for (let at = 0; at < content.length; at += 64 * 1024) yield content.subarray(at, at + 64 * 1024);
  };
  await pipeline(Readable.from(chunks()), encoder, sink);
  return { stored: Buffer.concat(out), sizes: encoder.storedSizes };
}

async function measure(
  content: Buffer,
  codec: Codec,
  level: number,
  frameSize = FRAME_SIZE,
): Promise<Measured> {
  const encodeTimes: number[] = [];
  let result: { stored: Buffer; sizes: number[] } | null = null;
  for (let r = 0; r < rounds; r += 1) {
    const started = process.hrtime.bigint();
    result = await encode(content, codec, level, frameSize);
    encodeTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  const { stored, sizes } = result!;
  const plan = planFrames({ frameSize, storedSizes: sizes }, content.length)!;
  const decodeTimes: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const started = process.hrtime.bigint();
    let decoded = 0;
    for await (const chunk of decodeFrames(Readable.from([stored]), codec, plan)) decoded += chunk.length;
    decodeTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (decoded !== content.length) throw new Error(`decoded ${decoded} bytes, not ${content.length}`);
  }
  // Best of the rounds: on a shared machine interference only ever slows a round down.
  return {
    encodeMBs: content.length / 1e6 / Math.min(...encodeTimes),
    decodeMBs: content.length / 1e6 / Math.min(...decodeTimes),
    ratio: stored.length / content.length,
  };
}

const pad = (s: string, n: number): string => s.padEnd(n);
const num = (n: number, digits = 0): string => n.toFixed(digits).padStart(7);

async function main(): Promise<void> {
  const docs = documents(sizeMiB * MiB, seed);
  const configs: [Codec, number][] = [
    ['gzip', 1],
    ['gzip', 3],
    ['gzip', 6],
    ['br', 1],
    ['br', 3],
    ['br', 4],
    ['br', 5],
  ];
  say(
    `# codecs: seed ${seed}, ${sizeMiB} MiB per kind, frames of ${FRAME_SIZE / 1024} KiB, best of ${rounds} rounds; Node ${process.version}`,
  );
  say(
    '# encode/decode MB/s of original bytes (one frame at a time, as the SE does), ratio = stored ÷ original',
  );
  say(`${pad('content', 16)} ${configs.map(([c, l]) => pad(`${c}-${l}`, 22)).join('')}`);
  const sums = configs.map(() => ({ encode: 0, decode: 0, ratio: 0, n: 0 }));
  for (const [kind, content] of docs) {
    const cells: string[] = [];
    for (const [i, [codec, level]] of configs.entries()) {
      const m = await measure(content, codec, level);
      cells.push(pad(`${num(m.encodeMBs)}/${num(m.decodeMBs)} ${m.ratio.toFixed(3)}`, 22));
      if (!['already gzip-9', 'random'].includes(kind)) {
        const s = sums[i]!;
        s.encode += m.encodeMBs;
        s.decode += m.decodeMBs;
        s.ratio += m.ratio;
        s.n += 1;
      }
    }
    say(`${pad(kind, 16)} ${cells.join('')}`);
  }
  say(
    `${pad('mean documents', 16)} ${sums.map((s) => pad(`${num(s.encode / s.n)}/${num(s.decode / s.n)} ${(s.ratio / s.n).toFixed(3)}`, 22)).join('')}`,
  );

  // brotli-11 only on a small sample: it runs below 1 MB/s.
  const sample = docs.get('English prose')!.subarray(0, MiB);
  const b11 = await measure(sample, 'br', 11);
  say(
    `\nbr-11 on 1 MiB of English prose: encode ${b11.encodeMBs.toFixed(2)} MB/s, decode ${b11.decodeMBs.toFixed(0)} MB/s, ratio ${b11.ratio.toFixed(3)}`,
  );

  say('\n# frame size: ratio on JSON records and English prose, index entries per GiB');
  for (const frameSize of [64 * 1024, 256 * 1024, MiB, 4 * MiB]) {
    const cells: string[] = [];
    for (const [codec, level] of [
      ['gzip', 6],
      ['br', 1],
      ['br', 4],
    ] as [Codec, number][]) {
      for (const kind of ['JSON records', 'English prose']) {
        const m = await measure(docs.get(kind)!, codec, level, frameSize);
        cells.push(`${codec}-${level} ${kind.split(' ')[0]} ${m.ratio.toFixed(3)}`);
      }
    }
    say(`${pad(`${frameSize / 1024} KiB`, 9)} ${cells.join('  ')}  entries/GiB ${(1 << 30) / frameSize}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
