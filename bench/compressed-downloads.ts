/**
 * 8. Downloads of files stored compressed (issue 6): the original bytes decoded on the fly, whole
 * and as a Range from the middle (only the frames that cover it are read), against the bare
 * raw-download server sending the same original bytes from disk.
 */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { bufferBody, download, Errors, LoadClient } from './client';
import { MiB, type Bench } from './context';
import type { ServerProcess } from './processes';
import { reportErrors, Row } from './report';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const WORDS = 'the archive keeps records for a defined time retention access report storage document'.split(
  ' ',
);

/** Document-like text: compresses to about a third, as ARCHITECTURE §8's corpus does. */
function documentText(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
  for (let at = 0, line = 0; at < bytes; line += 1) {
    const words = Array.from({ length: 4 + Math.floor(rand() * 12) }, () => WORDS[Math.floor(rand() * 12)]);
    at += out.write(`${line} ${words.join(' ')} ${Math.floor(rand() * 1e6)}\n`, at);
  }
  return out;
}

async function throughput(url: string, bytes: number, errors: Errors, range?: string): Promise<number> {
  const client = new LoadClient(1);
  try {
    const ms = await download(
      client,
      url,
      { status: range ? 206 : 200, bytes },
      errors,
      range ? { range } : {},
    );
    return ms === null ? Number.NaN : bytes / 1e6 / (ms / 1000);
  } finally {
    client.close();
  }
}

async function stop(server: ServerProcess): Promise<void> {
  const code = await server.stop();
  if (code !== 0) say(`  !! ${server.label} exited with ${code}`);
}

export async function compressedDownloads(bench: Bench): Promise<void> {
  const { settings } = bench;
  const size = settings.quick ? 32 * MiB : 256 * MiB;
  const rangeBytes = settings.quick ? 4 * MiB : 32 * MiB;
  const text = documentText(size);
  const body = bufferBody(text);
  say(
    `\n[11] ${size / MiB} MiB document-like text stored gzip and br: whole downloads and a ${rangeBytes / MiB} MiB Range`,
  );
  const artDir = await bench.dir('s8-artstore');
  const rawDir = await bench.dir('s8-raw');
  const errors = { raw: new Errors(), art: new Errors() };
  const handle = await open(join(rawDir, 'doc.txt'), 'wx');
  await handle.write(text);
  await handle.datasync();
  await handle.close();
  const art = await bench.startArtStore('s8', artDir, await bench.newArtStoreDatabase());
  const raw = await bench.startBaseline('raw-download', rawDir);
  try {
    const ids = new Map<string, string>();
    for (const codec of ['gzip', 'br']) {
      const client = new LoadClient(1);
      const res = await client.send({
        method: 'POST',
        url: `${art.url}/api/v1/files?name=doc.txt&retention_policy=temporary&compression=${codec}`,
        headers: { 'content-type': 'text/plain' },
        body,
        collect: true,
      });
      client.close();
      const view = JSON.parse(res.body.toString('utf8')) as { file_id?: string; stored_size?: number };
      if (res.status !== 201 || !view.file_id) throw new Error(`upload answered ${res.status}`);
      say(`  stored ${codec}: ${((view.stored_size ?? 0) / MiB).toFixed(1)} MiB`);
      ids.set(codec, view.file_id);
    }
    const start = Math.floor((size - rangeBytes) / 2) + 12_345;
    const range = `bytes=${start}-${start + rangeBytes - 1}`;
    const rawUrl = `${raw.url}/files/doc.txt`;
    const artUrl = (codec: string): string => `${art.url}/api/v1/files/${ids.get(codec)!}/content`;
    const rows = [
      {
        row: new Row('11a', `${size / MiB} MiB gzip-stored download`, 'MB/s', 'raw download', {
          kind: 'min',
          value: 0.5,
        }),
        codec: 'gzip',
        range: undefined,
      },
      {
        row: new Row('11b', `${size / MiB} MiB br-stored download`, 'MB/s', 'raw download', {
          kind: 'min',
          value: 0.5,
        }),
        codec: 'br',
        range: undefined,
      },
      {
        row: new Row('11c', `${rangeBytes / MiB} MiB Range of br-stored`, 'MB/s', 'raw download', {
          kind: 'min',
          value: 0.5,
        }),
        codec: 'br',
        range,
      },
    ];
    for (const { row, codec, range: asked } of rows) {
      const bytes = asked ? rangeBytes : size;
      await throughput(artUrl(codec), bytes, errors.art, asked); // warm-up, untimed
      for (let round = 0; round < settings.rounds; round++) {
        const base = await throughput(rawUrl, bytes, errors.raw, asked);
        const ours = await throughput(artUrl(codec), bytes, errors.art, asked);
        row.add(base, ours);
      }
      bench.rows.push(row);
    }
  } finally {
    reportErrors('raw download', errors.raw);
    reportErrors('ArtStore', errors.art);
    await stop(raw);
    await stop(art);
    await rm(artDir, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }
}
