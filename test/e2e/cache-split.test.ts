import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { json, rawUpload } from '../support/http';
import { eventually } from '../support/poll';
import { startSplit, type SplitDeployment } from '../support/split';

afterAll(killAll);

interface Doc {
  file_id: string;
  description: string | null;
  retention_policy: string;
  legal_hold?: boolean;
  attr_version: number;
}

/** The bound: a change is visible on every query replica within one second. */
const VISIBLE_WITHIN_MS = 1_000;

describe('the catalog cache across two query processes (split)', () => {
  let split: SplitDeployment;
  let db: TestDatabase;
  let dataDir: string;
  const word = `cached${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-cache-split-'));
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [
        { id: 'edit-1', mode: 'edit' },
        { id: 'rw-1', mode: 'rw' },
      ],
      queries: 2,
    });
  });
  afterAll(async () => {
    if (split) {
      const codes = await Promise.all(split.processes.map((p) => p.stop()));
      expect(codes).toEqual(split.processes.map(() => 0));
    }
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const upload = async (name: string): Promise<Doc> => {
    const response = await rawUpload(split.ingester.url, Buffer.from(`content of ${name}`), { name });
    expect(response.status).toBe(201);
    return json<Doc>(response);
  };
  const metadata = async (query: string, fileId: string): Promise<Doc | number> => {
    const response = await fetch(`${query}/api/v1/files/${fileId}`);
    return response.status === 200 ? json<Doc>(response) : response.status;
  };
  const search = async (query: string, text: string): Promise<string[]> => {
    const response = await fetch(`${query}/api/v1/search?q=${encodeURIComponent(text)}`);
    expect(response.status).toBe(200);
    return (await json<{ items: Doc[] }>(response)).items.map((d) => d.file_id);
  };
  /** Reads through every query process twice, so each holds the current answer in its caches. */
  const warm = async (fileId: string, text: string): Promise<void> => {
    for (const query of split.queries) {
      for (let i = 0; i < 2; i += 1) {
        await metadata(query.url, fileId);
        await search(query.url, text);
      }
    }
  };
  /** Polls every query process until `done` holds, for at most a second from the change. */
  const everywhere = async <T>(read: (query: string) => Promise<T>, done: (value: T) => boolean) => {
    const seen = await Promise.all(
      split.queries.map((query) => eventually(() => read(query.url), done, VISIBLE_WITHIN_MS)),
    );
    for (const value of seen) expect(done(value)).toBe(true);
  };

  it('PATCH, finalize and legal hold made through the ingester show on both query processes within a second', async () => {
    const doc = await upload(`${word} contract.txt`);
    await warm(doc.file_id, word);

    const patched = await fetch(`${split.ingester.url}/api/v1/files/${doc.file_id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'signed copy' }),
    });
    expect(patched.status).toBe(200);
    await everywhere(
      (q) => metadata(q, doc.file_id),
      (d) => typeof d === 'object' && d.description === 'signed copy',
    );

    await warm(doc.file_id, word);
    const finalized = await fetch(`${split.ingester.url}/api/v1/files/${doc.file_id}/finalize`, {
      method: 'POST',
    });
    expect(finalized.status).toBe(200);
    await everywhere(
      (q) => metadata(q, doc.file_id),
      (d) => typeof d === 'object' && d.retention_policy === 'permanent',
    );

    await warm(doc.file_id, word);
    const held = await fetch(`${split.ingester.url}/api/v1/files/${doc.file_id}/legal-hold`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'litigation' }),
    });
    expect(held.status).toBe(200);
    await everywhere(
      (q) => metadata(q, doc.file_id),
      (d) => typeof d === 'object' && d.legal_hold === true,
    );
  });

  it('a new upload and a delete show in search and metadata on both query processes within a second', async () => {
    const first = await upload(`${word} draft one.txt`);
    await warm(first.file_id, `${word} draft`);
    const second = await upload(`${word} draft two.txt`);
    await everywhere(
      (q) => search(q, `${word} draft`),
      (ids) => ids.includes(second.file_id) && ids.includes(first.file_id),
    );

    await warm(first.file_id, `${word} draft`);
    const deleted = await fetch(`${split.ingester.url}/api/v1/files/${first.file_id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await everywhere(
      (q) => metadata(q, first.file_id),
      (d) => d === 404,
    );
    await everywhere(
      (q) => search(q, `${word} draft`),
      (ids) => !ids.includes(first.file_id) && ids.includes(second.file_id),
    );
  });

  it('counts hits and misses per cache and level on each query process', async () => {
    for (const query of split.queries) {
      const text = await (await fetch(`${query.url}/metrics`)).text();
      const count = (cache: string, level: string, kind: string): number =>
        Number(
          new RegExp(
            `^artstore_cache_${kind}_total\\{cache="${cache}",level="${level}"[^}]*\\} (\\d+)`,
            'mu',
          ).exec(text)?.[1] ?? 0,
        );
      expect(count('metadata', 'l1', 'hits')).toBeGreaterThan(0);
      expect(count('metadata', 'l1', 'misses')).toBeGreaterThan(0);
      expect(count('metadata', 'l2', 'misses') + count('metadata', 'l2', 'hits')).toBeGreaterThan(0);
      expect(count('search', 'l1', 'hits')).toBeGreaterThan(0);
      expect(count('search', 'l2', 'misses') + count('search', 'l2', 'hits')).toBeGreaterThan(0);
    }
  });
});
