import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalFsBlobStore } from '../../../src/adapters/blob-store/local-fs-blob-store';
import {
  configureFailpoints,
  FAILPOINT_NAMES,
  isFailpointName,
} from '../../../src/adapters/system/failpoints';
import { FileWriteAheadLog } from '../../../src/adapters/wal/file-write-ahead-log';

const DOC = join(__dirname, '..', '..', '..', 'docs', 'chaos.md');

/** The failpoint names of docs/chaos.md's table: its first column, in backticks. */
async function documentedNames(): Promise<string[]> {
  const text = await readFile(DOC, 'utf8');
  const section = text.slice(text.indexOf('## Failpoints'));
  return [...section.matchAll(/^\| `([a-z0-9_.<>]+)` +\|/gmu)].map((m) => m[1]!);
}

describe('failpoint registry', () => {
  afterEach(() => configureFailpoints(undefined));

  it('documents every name in docs/chaos.md, and only those', async () => {
    const documented = await documentedNames();
    expect(documented.filter((n) => !n.startsWith('saga.')).sort()).toEqual([...FAILPOINT_NAMES].sort());
    expect(documented.filter((n) => n.startsWith('saga.'))).toEqual([
      'saga.<kind>.before_<step>',
      'saga.<kind>.after_<step>',
    ]);
  });

  it('refuses a name that is not a failpoint', () => {
    expect(() => configureFailpoints('fs.before_renam=kill')).toThrow("unknown failpoint 'fs.before_renam'");
    expect(isFailpointName('saga.upload.before_write')).toBe(true);
    expect(isFailpointName('saga.upload.during_write')).toBe(false);
  });

  describe('every storage write point fires on a real write', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'artstore-failpoints-'));
    });
    afterEach(async () => rm(dir, { recursive: true, force: true }));

    const blobPoints = FAILPOINT_NAMES.filter((n) => /^(fs|blob)\./u.test(n));
    it.each(blobPoints)('%s on a streamed blob put', async (name) => {
      const blobs = new LocalFsBlobStore(join(dir, 'blobs'));
      configureFailpoints(`${name}=error@1`);
      await expect(blobs.put('2026/12/02/a_1.bin', Readable.from([Buffer.from('bytes')]))).rejects.toThrow(
        `failpoint ${name} injected`,
      );
    });

    it.each(['sidecar.before_rename', 'sidecar.after_rename'])(
      '%s on a sidecar put, not on a blob put',
      async (name) => {
        const blobs = new LocalFsBlobStore(join(dir, 'blobs'));
        configureFailpoints(`${name}=error@1`);
        await blobs.put('2026/12/02/a_1.bin', Buffer.from('bytes'));
        await expect(blobs.put('2026/12/02/a_1.bin.attr.json', Buffer.from('{}'))).rejects.toThrow(
          `failpoint ${name} injected`,
        );
      },
    );

    it.each(FAILPOINT_NAMES.filter((n) => n.startsWith('wal.')))('%s on a WAL begin', async (name) => {
      const wal = await FileWriteAheadLog.openAt(join(dir, 'wal'));
      configureFailpoints(`${name}=error@1`);
      try {
        await expect(wal.begin({ txn: 't1', op: 'create', fileId: 'f1', key: 'k' })).rejects.toThrow(
          `failpoint ${name} injected`,
        );
      } finally {
        configureFailpoints(undefined);
        await wal.close();
      }
    });
  });
});
