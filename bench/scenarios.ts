/** The benchmark scenarios of ARCHITECTURE.md §8, each a set of paired rounds (baseline, then ArtStore). */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  bufferBody,
  download,
  Errors,
  LoadClient,
  repeatedBody,
  runCount,
  runFor,
  tusMetadata,
  tusUpload,
  upload,
  type Body,
  type RunResult,
} from './client';
import { emptyDirectory, MiB, type Bench } from './context';
import type { ServerProcess } from './processes';
import { reportErrors, Row } from './report';
import { fmt, latencySummary, median } from './stats';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

function sizeLabel(bytes: number): string {
  return bytes >= 1 << 30
    ? `${bytes / (1 << 30)} GiB`
    : bytes >= MiB
      ? `${bytes / MiB} MiB`
      : `${bytes / 1024} KiB`;
}

export const artstoreUploadUrl = (server: ServerProcess, name: string): string =>
  `${server.url}/api/v1/files?name=${encodeURIComponent(name)}&retention_policy=temporary`;
const baselineUploadUrl = (server: ServerProcess, name: string): string =>
  `${server.url}/upload?name=${encodeURIComponent(name)}`;

function noteServerErrors(server: ServerProcess): void {
  if (server.errorLines > 0) {
    say(`  !! ${server.label} logged ${server.errorLines} error-level lines, e.g.:`);
    for (const sample of server.errorSamples) say(`     ${sample}`);
  }
}

export async function stopServers(...servers: ServerProcess[]): Promise<void> {
  for (const server of servers) {
    noteServerErrors(server);
    const code = await server.stop();
    if (code !== 0) say(`  !! ${server.label} exited with ${code}`);
  }
}

/** One upload on a fresh connection; MB/s (10^6 bytes per second), NaN on failure. */
export async function uploadThroughput(url: string, body: Body, errors: Errors): Promise<number> {
  const client = new LoadClient(1);
  try {
    const ms = await upload(client, url, body, errors);
    return ms === null ? Number.NaN : body.length / 1e6 / (ms / 1000);
  } finally {
    client.close();
  }
}

async function downloadThroughput(
  url: string,
  bytes: number,
  errors: Errors,
  range?: { start: number; end: number },
): Promise<number> {
  const client = new LoadClient(1);
  try {
    const ms = range
      ? await download(client, url, { status: 206, bytes }, errors, {
          range: `bytes=${range.start}-${range.end}`,
        })
      : await download(client, url, { status: 200, bytes }, errors);
    return ms === null ? Number.NaN : bytes / 1e6 / (ms / 1000);
  } finally {
    client.close();
  }
}

/** Requests per second of the successful requests of a run. */
const rate = (run: RunResult): number => run.latencies.length / run.seconds;

/** Runs `measure` and returns its result with the CPU time the server spent meanwhile (ms). */
export async function withCpu<T>(server: ServerProcess, measure: () => Promise<T>): Promise<[T, number]> {
  const before = server.cpuMs();
  const result = await measure();
  return [result, server.cpuMs() - before];
}

/** Latency percentiles and server CPU per successful request of a baseline and an ArtStore run. */
function runDetail(base: [RunResult, number], art: [RunResult, number]): string {
  const p = (r: RunResult): string => {
    const l = latencySummary(r.latencies.length ? r.latencies : [Number.NaN]);
    return `${fmt(l.p50)}/${fmt(l.p99)}`;
  };
  const cpu = ([r, ms]: [RunResult, number]): string => fmt(ms / Math.max(1, r.latencies.length));
  return `p50/p99 ms ${p(base[0])} vs ${p(art[0])}; server CPU ms/req ${cpu(base)} vs ${cpu(art)}`;
}

const cpuDetail = (base: number, art: number): string =>
  `server CPU ${fmt(base / 1000)} s vs ${fmt(art / 1000)} s`;

// ---------------------------------------------------------------------------------------------

/** 1. Big durable upload: ArtStore ÷ raw upload, MB/s. */
export async function bigUpload(bench: Bench): Promise<void> {
  const { settings } = bench;
  const size = sizeLabel(settings.bigBytes);
  say(`\n[1] ${size} durable upload, ${settings.rounds} paired rounds`);
  const rawDir = await bench.dir('s1-raw');
  const artDir = await bench.dir('s1-artstore');
  const raw = await bench.startBaseline('raw-upload', rawDir);
  const art = await bench.startArtStore('s1', artDir, await bench.newArtStoreDatabase());
  bench.peaks.set('ArtStore right after start', art.peakRss());
  const row = new Row('1', `${size} durable upload`, 'MB/s', 'raw upload', { kind: 'min', value: 0.85 });
  const errors = { raw: new Errors(), art: new Errors() };
  try {
    const body = repeatedBody(bench.pool, settings.bigBytes);
    const warm = repeatedBody(bench.pool, Math.min(settings.bigBytes, 32 * MiB));
    await uploadThroughput(baselineUploadUrl(raw, 'warm.bin'), warm, errors.raw);
    await uploadThroughput(artstoreUploadUrl(art, 'warm.bin'), warm, errors.art);
    await emptyDirectory(rawDir);
    for (let round = 0; round < settings.rounds; round++) {
      const [base, baseCpu] = await withCpu(raw, () =>
        uploadThroughput(baselineUploadUrl(raw, 'big.bin'), body, errors.raw),
      );
      await emptyDirectory(rawDir);
      const [ours, ourCpu] = await withCpu(art, () =>
        uploadThroughput(artstoreUploadUrl(art, 'big.bin'), body, errors.art),
      );
      row.add(base, ours, cpuDetail(baseCpu, ourCpu));
    }
    bench.peaks.set('ArtStore, big uploads', art.peakRss());
    bench.peaks.set('raw upload baseline', raw.peakRss());
  } finally {
    reportErrors('raw upload', errors.raw);
    reportErrors('ArtStore', errors.art);
    await stopServers(raw, art);
    await rm(artDir, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }
  bench.rows.push(row);
}

/** 2. Many small durable uploads: c=16 throughput and c=1 p50 latency against the full-path emulation. */
export async function smallUploads(bench: Bench): Promise<void> {
  const { settings } = bench;
  const c = settings.concurrency;
  say(
    `\n[2] ${settings.smallCount} × ${sizeLabel(settings.smallBytes)} durable uploads at c=${c}, ` +
      `then ${settings.latencyCount} at c=1, ${settings.rounds} paired rounds each`,
  );
  const fullDir = await bench.dir('s2-full-path');
  const artDir = await bench.dir('s2-artstore');
  const full = await bench.startBaseline('full-path', fullDir);
  const art = await bench.startArtStore('s2', artDir, await bench.newArtStoreDatabase());
  const count = Math.max(settings.smallCount, settings.latencyCount);
  const slots = Math.floor(bench.pool.length / settings.smallBytes);
  const bodies = Array.from({ length: Math.min(count, slots) }, (_, i) =>
    bufferBody(bench.pool.subarray(i * settings.smallBytes, (i + 1) * settings.smallBytes)),
  );
  const body = (i: number): Body => bodies[i % bodies.length]!;
  const throughput = new Row(
    '2a',
    `${settings.smallCount} × ${sizeLabel(settings.smallBytes)} uploads, c=${c}`,
    'files/s',
    'full-path',
    { kind: 'min', value: 0.7 },
  );
  const latency = new Row(
    '2b',
    `${sizeLabel(settings.smallBytes)} upload latency p50, c=1`,
    'ms',
    'full-path',
    { kind: 'max', value: 1.5 },
  );
  const errors = { full: new Errors(), art: new Errors() };
  const run = async (
    server: ServerProcess,
    url: (name: string) => string,
    n: number,
    concurrency: number,
    sink: Errors,
  ): Promise<RunResult> => {
    const client = new LoadClient(concurrency);
    try {
      const result = await runCount(n, concurrency, (i, e) => upload(client, url(`f${i}.bin`), body(i), e));
      sink.merge(result.errors);
      return result;
    } finally {
      client.close();
    }
  };
  const fullUrl = (name: string): string => baselineUploadUrl(full, name);
  const artUrl = (name: string): string => artstoreUploadUrl(art, name);
  try {
    const warm = settings.quick ? 32 : 100;
    await run(full, fullUrl, warm, c, errors.full);
    await run(art, artUrl, warm, c, errors.art);
    for (let round = 0; round < settings.rounds; round++) {
      const base = await withCpu(full, () => run(full, fullUrl, settings.smallCount, c, errors.full));
      const ours = await withCpu(art, () => run(art, artUrl, settings.smallCount, c, errors.art));
      throughput.add(rate(base[0]), rate(ours[0]), runDetail(base, ours));
    }
    for (let round = 0; round < settings.rounds; round++) {
      const base = await withCpu(full, () => run(full, fullUrl, settings.latencyCount, 1, errors.full));
      const ours = await withCpu(art, () => run(art, artUrl, settings.latencyCount, 1, errors.art));
      const p50 = (r: RunResult): number => (r.latencies.length ? median(r.latencies) : Number.NaN);
      latency.add(p50(base[0]), p50(ours[0]), runDetail(base, ours));
    }
  } finally {
    reportErrors('full-path emulation', errors.full);
    reportErrors('ArtStore', errors.art);
    await stopServers(full, art);
    await rm(artDir, { recursive: true, force: true });
    await rm(fullDir, { recursive: true, force: true });
  }
  bench.rows.push(throughput, latency);
}

async function writeFileDurably(path: string, body: Body): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for (const chunk of body.chunks()) await handle.write(chunk);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Checks one Range answer byte for byte (outside any timing). */
async function verifyRange(url: string, expected: Buffer, start: number, errors: Errors): Promise<void> {
  const client = new LoadClient(1);
  try {
    const res = await client.send({
      method: 'GET',
      url,
      headers: { range: `bytes=${start}-${start + expected.length - 1}` },
      collect: true,
    });
    if (res.status !== 206 || !res.body.equals(expected))
      errors.add(`verify: range ${start}+${expected.length} answered ${res.status} with other bytes`);
  } catch (error) {
    errors.add(`verify: ${(error as Error).message}`);
  } finally {
    client.close();
  }
}

/** The bytes at [start, start + length) of a body cut from `pool`. */
function slice(pool: Buffer, start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let done = 0; done < length;) {
    const at = (start + done) % pool.length;
    const n = Math.min(pool.length - at, length - done);
    pool.copy(out, done, at, at + n);
    done += n;
  }
  return out;
}

/**
 * 3–5 and the download half of 6: the same big file and 16 small files uploaded to ArtStore and
 * written for the raw-download baseline; ArtStore restarted so its peak RSS covers downloads only.
 */
export async function downloads(bench: Bench): Promise<void> {
  const { settings } = bench;
  const c = settings.concurrency;
  const big = sizeLabel(settings.bigBytes);
  say(
    `\n[3-5] preparing: ${big} file and 16 × ${sizeLabel(settings.smallBytes)} files in ArtStore and on disk`,
  );
  const artDir = await bench.dir('s3-artstore');
  const rawDir = await bench.dir('s3-raw');
  const database = await bench.newArtStoreDatabase();
  const errors = { raw: new Errors(), art: new Errors() };
  const bigBody = repeatedBody(bench.pool, settings.bigBytes);
  const smallBodies = Array.from({ length: 16 }, (_, i) =>
    bufferBody(bench.pool.subarray(i * settings.smallBytes, (i + 1) * settings.smallBytes)),
  );
  let bigId = '';
  const smallIds: string[] = [];
  {
    const loader = await bench.startArtStore('s3-load', artDir, database);
    const client = new LoadClient(1);
    try {
      const send = async (name: string, body: Body): Promise<string> => {
        const res = await client.send({
          method: 'POST',
          url: artstoreUploadUrl(loader, name),
          headers: { 'content-type': 'application/octet-stream' },
          body,
          collect: true,
        });
        const text = res.body.toString('utf8');
        const answer = JSON.parse(text) as { file_id?: string; sha256?: string };
        if (res.status !== 201 || !answer.file_id || answer.sha256 !== body.sha256)
          throw new Error(`preparing upload failed: ${res.status} ${text.slice(0, 200)}`);
        return answer.file_id;
      };
      bigId = await send('big.bin', bigBody);
      for (const [i, body] of smallBodies.entries()) smallIds.push(await send(`small-${i}.bin`, body));
    } finally {
      client.close();
      await stopServers(loader);
    }
    await writeFileDurably(join(rawDir, 'big.bin'), bigBody);
    for (const [i, body] of smallBodies.entries())
      await writeFileDurably(join(rawDir, `small-${i}.bin`), body);
  }

  const raw = await bench.startBaseline('raw-download', rawDir);
  const art = await bench.startArtStore('s3', artDir, database);
  const artBig = `${art.url}/api/v1/files/${bigId}/content`;
  const rawBig = `${raw.url}/files/big.bin`;
  const rangeStart = Math.floor((settings.bigBytes - settings.rangeBytes) / 2);
  const range = { start: rangeStart, end: rangeStart + settings.rangeBytes - 1 };
  const whole = new Row('3a', `${big} download`, 'MB/s', 'raw download', { kind: 'min', value: 0.9 });
  const middle = new Row(
    '3b',
    `${sizeLabel(settings.rangeBytes)} Range from the middle`,
    'MB/s',
    'raw download',
    { kind: 'min', value: 0.9 },
  );
  const smallGet = new Row('4a', `${sizeLabel(settings.smallBytes)} GET, c=${c}`, 'req/s', 'raw download', {
    kind: 'min',
    value: 0.7,
  });
  const rangeGet = new Row(
    '4b',
    `${sizeLabel(settings.smallBytes)} Range GET, c=${c}`,
    'req/s',
    'raw download',
    { kind: 'min', value: 0.7 },
  );
  try {
    // Correctness first, untimed: a Range that crosses the middle returns the right bytes on both.
    const probe = slice(bench.pool, rangeStart + 12345, 1 << 20);
    await verifyRange(rawBig, probe, rangeStart + 12345, errors.raw);
    await verifyRange(artBig, probe, rangeStart + 12345, errors.art);
    const warmRange = { start: 0, end: Math.min(settings.bigBytes, 16 * MiB) - 1 };
    await downloadThroughput(rawBig, warmRange.end + 1, errors.raw, warmRange);
    await downloadThroughput(artBig, warmRange.end + 1, errors.art, warmRange);

    say(`\n[3] ${big} download and a ${sizeLabel(settings.rangeBytes)} Range from its middle`);
    for (let round = 0; round < settings.rounds; round++) {
      const [base, baseCpu] = await withCpu(raw, () =>
        downloadThroughput(rawBig, settings.bigBytes, errors.raw),
      );
      const [ours, ourCpu] = await withCpu(art, () =>
        downloadThroughput(artBig, settings.bigBytes, errors.art),
      );
      whole.add(base, ours, cpuDetail(baseCpu, ourCpu));
    }
    for (let round = 0; round < settings.rounds; round++) {
      const [base, baseCpu] = await withCpu(raw, () =>
        downloadThroughput(rawBig, settings.rangeBytes, errors.raw, range),
      );
      const [ours, ourCpu] = await withCpu(art, () =>
        downloadThroughput(artBig, settings.rangeBytes, errors.art, range),
      );
      middle.add(base, ours, cpuDetail(baseCpu, ourCpu));
    }
    bench.peaks.set('ArtStore, big downloads', art.peakRss());
    bench.peaks.set('raw download baseline', raw.peakRss());

    say(
      `\n[4] ${sizeLabel(settings.smallBytes)} GET and Range GET at c=${c}, ${settings.rateMs} ms per measurement`,
    );
    const measure = async (
      urlOf: (i: number) => string,
      expect: { status: number; bytes: number },
      headersOf: (i: number) => Record<string, string> | undefined,
      sink: Errors,
      ms = settings.rateMs,
    ): Promise<RunResult> => {
      const client = new LoadClient(c);
      try {
        const result = await runFor(ms, c, (i, e) => download(client, urlOf(i), expect, e, headersOf(i)));
        sink.merge(result.errors);
        return result;
      } finally {
        client.close();
      }
    };
    const small = { status: 200, bytes: settings.smallBytes };
    const rawSmall = (i: number): string => `${raw.url}/files/small-${i % 16}.bin`;
    const artSmall = (i: number): string => `${art.url}/api/v1/files/${smallIds[i % 16]!}/content`;
    const slots = Math.floor(settings.bigBytes / settings.smallBytes) - 1;
    const rangeOf = (i: number): Record<string, string> => {
      const start = ((i * 7919) % slots) * settings.smallBytes + 512;
      return { range: `bytes=${start}-${start + settings.smallBytes - 1}` };
    };
    const partial = { status: 206, bytes: settings.smallBytes };
    const none = (): undefined => undefined;
    const warmMs = Math.min(1000, settings.rateMs);
    await measure(rawSmall, small, none, errors.raw, warmMs);
    await measure(artSmall, small, none, errors.art, warmMs);
    for (let round = 0; round < settings.rounds; round++) {
      const base = await withCpu(raw, () => measure(rawSmall, small, none, errors.raw));
      const ours = await withCpu(art, () => measure(artSmall, small, none, errors.art));
      smallGet.add(rate(base[0]), rate(ours[0]), runDetail(base, ours));
    }
    for (let round = 0; round < settings.rounds; round++) {
      const base = await withCpu(raw, () => measure(() => rawBig, partial, rangeOf, errors.raw));
      const ours = await withCpu(art, () => measure(() => artBig, partial, rangeOf, errors.art));
      rangeGet.add(rate(base[0]), rate(ours[0]), runDetail(base, ours));
    }
  } finally {
    reportErrors('raw download', errors.raw);
    reportErrors('ArtStore', errors.art);
    await stopServers(raw);
  }
  bench.rows.push(whole, middle, smallGet, rangeGet);

  try {
    if (bench.wants('5')) await liveness(bench, art);
  } finally {
    await stopServers(art);
    await rm(artDir, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }
}

/** 5. GET /health/live at c=16 against a ping handler. */
async function liveness(bench: Bench, art: ServerProcess): Promise<void> {
  const { settings } = bench;
  const c = settings.concurrency;
  say(`\n[5] /health/live at c=${c}, ${settings.rateMs} ms per measurement`);
  const ping = await bench.startBaseline('ping', await bench.dir('s5-ping'));
  const row = new Row('5', `/health/live, c=${c}`, 'req/s', 'ping', { kind: 'min', value: 0.7 });
  const errors = { ping: new Errors(), art: new Errors() };
  const measure = async (url: string, sink: Errors, ms = settings.rateMs): Promise<RunResult> => {
    const client = new LoadClient(c);
    try {
      const result = await runFor(ms, c, (_i, e) => download(client, url, { status: 200, bytes: 15 }, e));
      sink.merge(result.errors);
      return result;
    } finally {
      client.close();
    }
  };
  try {
    await measure(`${ping.url}/ping`, errors.ping, Math.min(1000, settings.rateMs));
    await measure(`${art.url}/health/live`, errors.art, Math.min(1000, settings.rateMs));
    for (let round = 0; round < settings.rounds; round++) {
      const base = await withCpu(ping, () => measure(`${ping.url}/ping`, errors.ping));
      const ours = await withCpu(art, () => measure(`${art.url}/health/live`, errors.art));
      row.add(rate(base[0]), rate(ours[0]), runDetail(base, ours));
    }
  } finally {
    reportErrors('ping', errors.ping);
    reportErrors('ArtStore', errors.art);
    await stopServers(ping);
  }
  bench.rows.push(row);
}

/**
 * 7. tus uploads (issue 5): a big file as one creation plus one PATCH, and many small files with
 * creation-with-upload at c=16, each against the bare-Node baseline of the same size class and
 * against `@tus/server` with its file store (not durable).
 */
export async function tusUploads(bench: Bench): Promise<void> {
  const { settings } = bench;
  const c = settings.concurrency;
  const size = sizeLabel(settings.bigBytes);
  const small = sizeLabel(settings.smallBytes);
  say(
    `\n[7] tus: ${size} (creation + one PATCH) and ${settings.smallCount} × ${small} (creation-with-upload, c=${c}), ` +
      `${settings.rounds} rounds of baseline, @tus/server file store, ArtStore`,
  );
  const dirs = {
    raw: await bench.dir('s7-raw'),
    full: await bench.dir('s7-full-path'),
    peer: await bench.dir('s7-tus-peer'),
    art: await bench.dir('s7-artstore'),
  };
  const raw = await bench.startBaseline('raw-upload', dirs.raw);
  const full = await bench.startBaseline('full-path', dirs.full);
  const peer = await bench.startTusPeer(dirs.peer);
  const art = await bench.startArtStore('s7', dirs.art, await bench.newArtStoreDatabase());
  const rows = {
    bigRaw: new Row('7a', `tus ${size} upload`, 'MB/s', 'raw upload', { kind: 'min', value: 0.85 }),
    bigPeer: new Row('7b', `tus ${size} upload`, 'MB/s', '@tus/server', { kind: 'min', value: 1.0 }),
    smallFull: new Row('7c', `tus ${small} uploads, c=${c}`, 'files/s', 'full-path', {
      kind: 'min',
      value: 0.7,
    }),
    smallPeer: new Row('7d', `tus ${small} uploads, c=${c}`, 'files/s', '@tus/server', {
      kind: 'min',
      value: 1.0,
    }),
  };
  const errors = { raw: new Errors(), full: new Errors(), peer: new Errors(), art: new Errors() };
  const peerEndpoint = `${peer.url}/files`;
  const artEndpoint = `${art.url}/api/v1/uploads`;
  const metadata = (name: string): string => tusMetadata({ filename: name, retention_policy: 'temporary' });
  const tusOnce = async (endpoint: string, body: Body, sink: Errors, ours: boolean): Promise<number> => {
    const client = new LoadClient(1);
    try {
      const ms = await tusUpload(client, endpoint, body, sink, {
        metadata: metadata('big.bin'),
        withCreation: false,
        expectFileId: ours,
      });
      return ms === null ? Number.NaN : body.length / 1e6 / (ms / 1000);
    } finally {
      client.close();
    }
  };
  const slots = Math.floor(bench.pool.length / settings.smallBytes);
  const bodies = Array.from({ length: Math.min(settings.smallCount, slots) }, (_, i) =>
    bufferBody(bench.pool.subarray(i * settings.smallBytes, (i + 1) * settings.smallBytes)),
  );
  const body = (i: number): Body => bodies[i % bodies.length]!;
  const many = async (
    send: (client: LoadClient, i: number, e: Errors) => Promise<number | null>,
    n: number,
    sink: Errors,
  ): Promise<RunResult> => {
    const client = new LoadClient(c);
    try {
      const result = await runCount(n, c, (i, e) => send(client, i, e));
      sink.merge(result.errors);
      return result;
    } finally {
      client.close();
    }
  };
  const smallTus =
    (endpoint: string, ours: boolean) =>
    (client: LoadClient, i: number, e: Errors): Promise<number | null> =>
      tusUpload(client, endpoint, body(i), e, {
        metadata: metadata(`f${i}.bin`),
        withCreation: true,
        expectFileId: ours,
      });
  const smallFull = (client: LoadClient, i: number, e: Errors): Promise<number | null> =>
    upload(client, baselineUploadUrl(full, `f${i}.bin`), body(i), e);
  try {
    const big = repeatedBody(bench.pool, settings.bigBytes);
    const warm = repeatedBody(bench.pool, Math.min(settings.bigBytes, 32 * MiB));
    await uploadThroughput(baselineUploadUrl(raw, 'warm.bin'), warm, errors.raw);
    await tusOnce(peerEndpoint, warm, errors.peer, false);
    await tusOnce(artEndpoint, warm, errors.art, true);
    const warmSmall = settings.quick ? 32 : 100;
    await many(smallFull, warmSmall, errors.full);
    await many(smallTus(peerEndpoint, false), warmSmall, errors.peer);
    await many(smallTus(artEndpoint, true), warmSmall, errors.art);
    for (const dir of [dirs.raw, dirs.peer]) await emptyDirectory(dir);
    for (let round = 0; round < settings.rounds; round++) {
      const [base, baseCpu] = await withCpu(raw, () =>
        uploadThroughput(baselineUploadUrl(raw, 'big.bin'), big, errors.raw),
      );
      await emptyDirectory(dirs.raw);
      const [theirs, theirCpu] = await withCpu(peer, () => tusOnce(peerEndpoint, big, errors.peer, false));
      await emptyDirectory(dirs.peer);
      const [ours, ourCpu] = await withCpu(art, () => tusOnce(artEndpoint, big, errors.art, true));
      rows.bigRaw.add(base, ours, cpuDetail(baseCpu, ourCpu));
      rows.bigPeer.add(theirs, ours, cpuDetail(theirCpu, ourCpu));
    }
    bench.peaks.set('ArtStore, big tus uploads', art.peakRss());
    bench.peaks.set('@tus/server file store, big tus uploads', peer.peakRss());
    for (let round = 0; round < settings.rounds; round++) {
      const fullRun = await withCpu(full, () => many(smallFull, settings.smallCount, errors.full));
      const peerRun = await withCpu(peer, () =>
        many(smallTus(peerEndpoint, false), settings.smallCount, errors.peer),
      );
      await emptyDirectory(dirs.peer);
      const artRun = await withCpu(art, () =>
        many(smallTus(artEndpoint, true), settings.smallCount, errors.art),
      );
      rows.smallFull.add(rate(fullRun[0]), rate(artRun[0]), runDetail(fullRun, artRun));
      rows.smallPeer.add(rate(peerRun[0]), rate(artRun[0]), runDetail(peerRun, artRun));
    }
    bench.peaks.set('ArtStore after small tus uploads', art.peakRss());
  } finally {
    reportErrors('raw upload', errors.raw);
    reportErrors('full-path', errors.full);
    reportErrors('@tus/server', errors.peer);
    reportErrors('ArtStore tus', errors.art);
    await stopServers(raw, full, peer, art);
    for (const dir of Object.values(dirs)) await rm(dir, { recursive: true, force: true });
  }
  bench.rows.push(rows.bigRaw, rows.bigPeer, rows.smallFull, rows.smallPeer);
}
