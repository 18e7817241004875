/**
 * 8. A document-like upload under compression `auto` (§8): ArtStore's upload throughput ÷ Node's
 * own zlib stream encoding the same bytes with the codec and level `auto` picks (brotli 1), both
 * in MB/s of original bytes. The baseline encodes in the runner process into a sink that keeps
 * nothing; ArtStore also hashes, frames, writes durably and catalogs.
 */
import { rm } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createBrotliCompress } from 'node:zlib';
import { AUTO } from '../src/application/ingester/compression';
import { LoadClient, repeatedBody, type Body, Errors } from './client';
import { MiB, type Bench } from './context';
import { documents } from './documents';
import { reportErrors, Row } from './report';
import { artstoreUploadUrl, stopServers, uploadThroughput, withCpu } from './scenarios';
import { fmt } from './stats';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** The text kinds of bench/documents.ts, 2 MiB each, one after another. */
function documentPool(): Buffer {
  const kinds = documents(2 * MiB, 8);
  kinds.delete('already gzip-9');
  kinds.delete('random');
  return Buffer.concat([...kinds.values()]);
}

async function zlibThroughput(body: Body): Promise<{ mbs: number; stored: number }> {
  let stored = 0;
  const started = performance.now();
  await pipeline(
    Readable.from(body.chunks()),
    createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: AUTO.level } }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        stored += chunk.length;
        callback();
      },
    }),
  );
  return { mbs: body.length / 1e6 / ((performance.now() - started) / 1000), stored };
}

export async function compressedUpload(bench: Bench): Promise<void> {
  const { settings } = bench;
  const bytes = settings.quick ? 16 * MiB : 64 * MiB;
  say(`\n[8] ${bytes / MiB} MiB document-like upload, compression auto, ${settings.rounds} paired rounds`);
  const dir = await bench.dir('s8-artstore');
  const art = await bench.startArtStore('s8', dir, await bench.newArtStoreDatabase());
  const row = new Row('8', `${bytes / MiB} MiB documents, compression auto`, 'MB/s', 'zlib stream', {
    kind: 'min',
    value: 0.6,
  });
  const errors = new Errors();
  try {
    const body = repeatedBody(documentPool(), bytes);
    // Outside the timing: the upload is stored brotli-compressed, as the ratio assumes.
    const client = new LoadClient(1);
    const check = await client.send({
      method: 'POST',
      url: artstoreUploadUrl(art, 'check.txt'),
      headers: { 'content-type': 'application/octet-stream' },
      body,
      collect: true,
    });
    client.close();
    const answer = JSON.parse(check.body.toString('utf8')) as {
      stored_encoding?: string;
      stored_size?: number;
    };
    say(
      `  stored as ${String(answer.stored_encoding)}, ${fmt((answer.stored_size ?? Number.NaN) / bytes)} of the original size`,
    );
    for (let round = 0; round < settings.rounds; round++) {
      const base = await zlibThroughput(body);
      const [ours, cpu] = await withCpu(art, () =>
        uploadThroughput(artstoreUploadUrl(art, 'doc.txt'), body, errors),
      );
      row.add(
        base.mbs,
        ours,
        `zlib stream ratio ${fmt(base.stored / bytes)}; ArtStore server CPU ${fmt(cpu / 1000)} s`,
      );
    }
  } finally {
    reportErrors('ArtStore', errors);
    await stopServers(art);
    await rm(dir, { recursive: true, force: true });
  }
  bench.rows.push(row);
}
