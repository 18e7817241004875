import { open as openFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { Orm } from '../../src/adapters/persistence/database';
import { FRAME_SIZE, type Codec } from '../../src/domain/document/compression';
import { sidecarKeyFor } from '../../src/domain/document/blob-key';
import { aDraft, sha256 } from '../support/builders';
import { openTestOrm } from '../support/database';
import { documentText, interestingRanges } from '../support/documents';
import { RecordingObserver, readAll } from '../support/fakes';
import { openLocalElement, type LocalElement } from '../support/local-element';
import { eventually } from '../support/poll';

jest.setTimeout(120_000);

const SIZE = 4 * FRAME_SIZE + 777;
const CONTENT = documentText(SIZE, 3);

/** Framed compression on the SE's real adapters: local FS blobs, file WAL, PostgreSQL cache. */
describe.each<Codec>(['gzip', 'br'])('%s-compressed files on local FS + WAL + PostgreSQL', (codec) => {
  let orm: Orm;
  let done: () => Promise<void>;
  let root: string;
  const elements: LocalElement[] = [];

  beforeAll(async () => {
    ({ orm, done } = await openTestOrm());
  });
  afterAll(() => done());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'artstore-se-compress-'));
  });
  afterEach(async () => {
    await Promise.all(elements.splice(0).map((e) => e.close()));
    await rm(root, { recursive: true, force: true });
  });

  async function openSe(id: string, observer?: RecordingObserver): Promise<LocalElement> {
    // Whole reads above 64 KiB are verified while they stream (several chunks from disk).
    const element = await openLocalElement(root, orm, {
      id,
      verifyOnReadMaxBytes: 64 * 1024,
      ...(observer ? { observer } : {}),
    });
    elements.push(element);
    return element;
  }

  it('round-trips whole and ranged reads byte-exact, across a restart and a cache rebuild', async () => {
    let { service: se } = await openSe('se-z1');
    const file = await se.put(
      aDraft({ name: 'журнал.log' }),
      Readable.from([CONTENT]),
      { size: SIZE },
      {
        encoding: codec,
        level: codec === 'gzip' ? 1 : 3,
      },
    );
    expect(file).toMatchObject({ size: SIZE, sha256: sha256(CONTENT), stored: { encoding: codec } });
    const blob = await readFile(join(root, 'blobs', file.stored.key));
    expect(file.stored).toMatchObject({ size: blob.length, sha256: sha256(blob) });
    expect(file.stored.frames!.storedSizes).toHaveLength(5);
    if (codec === 'gzip') expect(gunzipSync(blob).equals(CONTENT)).toBe(true);
    const sidecar = await readFile(join(root, 'blobs', sidecarKeyFor(file.stored.key)), 'utf8');
    expect(sidecar).toMatch(/"stored_sizes": \[\d+(,\d+){4}\]/u);
    expect((await se.info()).capacity.usedBytes).toBeGreaterThan(0);

    await Promise.all(elements.splice(0).map((e) => e.close()));
    ({ service: se } = await openSe('se-z1'));
    expect(await se.rebuild()).toMatchObject({ indexed: 1, problems: [] });
    expect(await se.head(file.fileId)).toEqual(file);

    expect((await readAll((await se.open(file.fileId)).stream)).equals(CONTENT)).toBe(true);
    for (const range of interestingRanges(SIZE, 25, 11)) {
      const opened = await se.open(file.fileId, range);
      expect(opened.range).toEqual(range);
      const bytes = await readAll(opened.stream);
      expect(bytes.equals(CONTENT.subarray(range.start, range.end + 1))).toBe(true);
    }
  });

  it('scrubs and reconciles against the stored bytes', async () => {
    const { service: se } = await openSe('se-z2');
    const file = await se.put(aDraft(), Readable.from([CONTENT]), { size: SIZE }, { encoding: codec });
    await se.startScrub({ rateBytesPerSecond: null });
    const status = await eventually(
      () => se.scrubStatus(),
      (s) => s.state !== 'running',
      60_000,
    );
    expect(status).toMatchObject({ state: 'finished', filesChecked: 1, failureCount: 0 });
    expect(status.bytesChecked).toBe(file.stored.size);
    const report = await se.reconcile({ repair: false, checksums: true });
    expect(report.findings).toEqual([]);
  });

  it('fails a streamed whole read of a damaged copy before its end and quarantines it', async () => {
    const observer = new RecordingObserver();
    const { service: se } = await openSe('se-z3', observer);
    const file = await se.put(aDraft(), Readable.from([CONTENT]), { size: SIZE }, { encoding: codec });
    const [first, second] = file.stored.frames!.storedSizes as [number, number, number];
    // The third frame: the first frames decode fine, the damage shows only at the checksum or the frame.
    const handle = await openFile(join(root, 'blobs', file.stored.key), 'r+');
    await handle.write(Buffer.alloc(200, 0x5a), 0, 200, first + second + 100);
    await handle.close();

    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of (await se.open(file.fileId)).stream) chunks.push(chunk as Buffer);
    })();
    await expect(reading).rejects.toMatchObject({ code: 'file_corrupt' });
    expect(Buffer.concat(chunks).length).toBeLessThan(SIZE);
    expect(observer.quarantines).toMatchObject([{ fileId: file.fileId }]);
    await expect(se.open(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
    expect((await se.info()).fileCount).toBe(0);
  });
});
