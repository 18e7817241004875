import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll } from '../support/artstore-process';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { expectProblem, json, rawUpload, sha256Hex } from '../support/http';
import { startSplit, type SplitDeployment } from '../support/split';
import { eventually } from '../support/poll';

afterAll(killAll);

interface ScrubView {
  state: string;
  files_total: number;
  files_checked: number;
  progress: number;
  failure_count: number;
  failures: { file_id: string; problem: string }[];
}

/**
 * Issue 4 over HTTP in the split topology: damage made on a storage process's disk is caught by
 * verified reads, scrub and reconcile; a corrupt copy is never served complete with a 2xx; the
 * fixity history, SE health, gauges and audit show what happened.
 */
describe('storage integrity in split mode', () => {
  let db: TestDatabase;
  let dataDir: string;
  let split: SplitDeployment;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-integrity-'));
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: [
        { id: 'rw-1', mode: 'rw' },
        // Small, so a few uploads take it to its full threshold.
        {
          id: 'rw-small',
          mode: 'rw',
          env: { ARTSTORE_SE_CAPACITY_BYTES: '400000', ARTSTORE_SE_PRIORITY: '200' },
        },
      ],
    });
  });

  afterAll(async () => {
    const codes = await Promise.all(split.processes.map((p) => p.stop()));
    expect(codes).toEqual(split.processes.map(() => 0));
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const upload = async (content: Buffer, name: string): Promise<string> => {
    const response = await rawUpload(split.ingester.url, content, { name, retention_policy: 'permanent' });
    expect(response.status).toBe(201);
    return (await json<{ file_id: string }>(response)).file_id;
  };

  /** The blob file of a file on an SE's disk (the name carries the file id). */
  async function blobPath(seId: string, fileId: string): Promise<string> {
    const root = join(dataDir, seId, 'se', seId, 'blobs');
    const names = await readdir(root, { recursive: true });
    const name = names.find(
      (n) => n.includes(fileId) && !n.endsWith('.attr.json') && !n.startsWith('quarantine'),
    );
    if (!name) throw new Error(`no blob of ${fileId} under ${root}: ${names.join(', ')}`);
    return join(root, name);
  }

  async function flipLastByte(path: string): Promise<void> {
    const handle = await open(path, 'r+');
    try {
      const { size } = await handle.stat();
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, size - 1);
      byte[0]! ^= 0xff;
      await handle.write(byte, 0, 1, size - 1);
    } finally {
      await handle.close();
    }
  }

  const scrubStatus = async (): Promise<ScrubView> =>
    json<ScrubView>(await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/scrub`));

  it('catches rot by verified reads and by scrub, never serves it with a 2xx, and keeps a fixity history', async () => {
    const small = randomBytes(40_000);
    const large = randomBytes(3 * 1024 * 1024 + 5);
    const scrubbed = randomBytes(50_000);
    const intact = randomBytes(30_000);
    const ids = {
      small: await upload(small, 'small.bin'),
      large: await upload(large, 'large.bin'),
      scrubbed: await upload(scrubbed, 'scrubbed.bin'),
      intact: await upload(intact, 'intact.bin'),
    };
    await flipLastByte(await blobPath('rw-1', ids.small));
    await flipLastByte(await blobPath('rw-1', ids.large));

    // Small: checked whole before the first byte, answered with a problem.
    await expectProblem(
      await fetch(`${split.query.url}/api/v1/files/${ids.small}/content`),
      503,
      'file_corrupt',
    );
    // Large: streamed, the last chunk held back until the checksum is known; the transfer breaks.
    const response = await fetch(`${split.query.url}/api/v1/files/${ids.large}/content`);
    const body = await response.arrayBuffer().then(
      (b) => Buffer.from(b),
      () => null,
    );
    expect(body === null || (body.length < large.length && !body.equals(large))).toBe(true);
    // Both are quarantined now: never served again from this copy.
    await expectProblem(
      await fetch(`${split.query.url}/api/v1/files/${ids.large}/content`),
      503,
      'storage_unavailable',
    );

    await flipLastByte(await blobPath('rw-1', ids.scrubbed));
    const started = await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/scrub`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rate_bytes_per_second: 100 * 1024 * 1024 }),
    });
    expect(started.status).toBe(202);
    const finished = await eventually(scrubStatus, (s) => s.state !== 'running');
    expect(finished).toMatchObject({
      state: 'finished',
      files_total: 2,
      files_checked: 2,
      progress: 1,
      failure_count: 1,
      failures: [{ file_id: ids.scrubbed, problem: 'checksum differs from the sidecar' }],
    });

    const fixity = async (id: string) =>
      (
        await json<{ items: Record<string, unknown>[] }>(
          await fetch(`${split.query.url}/api/v1/files/${id}/fixity`),
        )
      ).items;
    expect(await fixity(ids.intact)).toEqual([
      {
        storage_element: 'rw-1',
        checked_at: expect.any(String),
        result: 'ok',
        detail: null,
        trigger: 'scrub',
      },
    ]);
    expect(await fixity(ids.scrubbed)).toEqual([
      expect.objectContaining({ storage_element: 'rw-1', result: 'failed', trigger: 'scrub' }),
    ]);
    expect(await fixity(ids.small)).toEqual([
      expect.objectContaining({
        result: 'failed',
        detail: 'checksum differs from the sidecar',
        trigger: 'read',
      }),
    ]);
    const intactBack = Buffer.from(
      await (await fetch(`${split.query.url}/api/v1/files/${ids.intact}/content`)).arrayBuffer(),
    );
    expect(sha256Hex(intactBack)).toBe(sha256Hex(intact));

    const info = await json<{
      health: { status: string; problems: string[] };
      scrub: ScrubView;
      file_count: number;
    }>(await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/info`));
    expect(info.health.status).toBe('degraded');
    expect(info.health.problems).toContain('3 file(s) quarantined since start');
    expect(info.scrub.state).toBe('finished');
    expect(info.file_count).toBe(1);

    const audit = await json<{ items: { action: string; target: string; actor: { kind: string } }[] }>(
      await fetch(`${split.admin.url}/api/v1/audit?action=file.quarantined`),
    );
    expect(audit.items.map((e) => e.target).sort()).toEqual([ids.small, ids.large, ids.scrubbed].sort());
    expect(audit.items.every((e) => e.actor.kind === 'system')).toBe(true);

    const metrics = await eventually(
      async () => (await fetch(`${split.storage.get('rw-1')!.url}/metrics`)).text(),
      (text) => /artstore_se_scrub_progress_ratio\{[^}]*se="rw-1"[^}]*\} 1\b/u.test(text),
    );
    expect(metrics).toMatch(/artstore_se_scrub_progress_ratio\{[^}]*se="rw-1"[^}]*\} 1\b/u);
    expect(metrics).toMatch(/artstore_se_scrub_damaged_files\{[^}]*se="rw-1"[^}]*\} 1\b/u);
    expect(metrics).toMatch(/artstore_se_health\{[^}]*se="rw-1"[^}]*status="degraded"[^}]*\} 1\b/u);
  });

  it('reconciles through the admin API: reports, then quarantines an orphan, and audits the repair', async () => {
    const kept = await upload(randomBytes(10_000), 'kept.bin');
    const beside = await blobPath('rw-1', kept);
    const orphanName = 'stray_0190f1a2-0000-7000-8000-0000000000ee.bin';
    await writeFile(join(beside, '..', orphanName), 'no sidecar');
    const reconcile = async (repair: boolean) => {
      const response = await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/reconcile`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repair, checksums: true }),
      });
      expect(response.status).toBe(200);
      return json<{ counts: Record<string, number>; findings: { kind: string; action: string }[] }>(response);
    };
    const dry = await reconcile(false);
    expect(dry.findings).toEqual([expect.objectContaining({ kind: 'orphan_blob', action: 'reported' })]);
    const repaired = await reconcile(true);
    expect(repaired.findings).toEqual([
      expect.objectContaining({ kind: 'orphan_blob', action: 'quarantined' }),
    ]);
    expect((await reconcile(true)).findings).toEqual([]);
    const audit = await json<{ items: { target: string; details: { repair: boolean } }[] }>(
      await fetch(`${split.admin.url}/api/v1/audit?action=storage_element.reconciled`),
    );
    expect(audit.items.map((e) => e.details.repair).sort()).toEqual([false, true, true]);
    await expectProblem(
      await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/reconcile`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repair: 'yes' }),
      }),
      400,
      'invalid_request',
    );
  });

  it('rw → ro waits for an upload in flight over HTTP, which completes first', async () => {
    let push!: (chunk: Uint8Array | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(chunk));
      },
    });
    const content = randomBytes(200_000);
    const events: string[] = [];
    const uploading = fetch(
      `${split.ingester.url}/api/v1/files?${new URLSearchParams({ name: 'in-flight.bin', retention_policy: 'permanent' }).toString()}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
        duplex: 'half',
      } as RequestInit,
    ).then((response) => {
      events.push('upload answered');
      return response;
    });
    push(content.subarray(0, 100_000));
    // The SE has begun the write once its WAL holds the intent.
    const info = async () =>
      json<{ wal_pending: number; mode: string; pending_mode: string | null }>(
        await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/info`),
      );
    expect((await eventually(info, (i) => i.wal_pending > 0)).wal_pending).toBeGreaterThan(0);
    const changing = fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/mode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'ro' }),
    }).then((response) => {
      events.push('mode answered');
      return response;
    });
    // The change is waiting on the drain, still rw, while the upload holds it up.
    expect(await eventually(info, (i) => i.pending_mode === 'ro')).toMatchObject({
      mode: 'rw',
      pending_mode: 'ro',
    });
    expect(events).toEqual([]);
    push(content.subarray(100_000));
    push(null);
    const [uploaded, changed] = await Promise.all([uploading, changing]);
    expect(uploaded.status).toBe(201);
    expect(changed.status).toBe(200);
    // Both answer; which first is a race (the SE drains its write, then the ingester still
    // catalogues the file while the admin answers the mode change). The drain itself shows in the
    // 201: a write still in flight when the SE turned ro would have been refused.
    expect([...events].sort()).toEqual(['mode answered', 'upload answered']);
    const file = await json<{ file_id: string; sha256: string }>(uploaded);
    expect(file.sha256).toBe(sha256Hex(content));
    expect((await info()).mode).toBe('ro');
    const back = Buffer.from(
      await (await fetch(`${split.query.url}/api/v1/files/${file.file_id}/content`)).arrayBuffer(),
    );
    expect(back.equals(content)).toBe(true);
  });

  it('audits the switch of a full rw SE to ro, and the registry shows it within seconds', async () => {
    // rw-1 is preferred (priority 100) and read-only since the test above: uploads land on rw-small.
    const toRo = await fetch(`${split.admin.url}/api/v1/storage-elements/rw-1/mode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'ro' }),
    });
    expect(toRo.status).toBe(200);
    // Full for rw is 1 % free by default: the fourth 100 kB upload fills the 400 kB SE.
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await rawUpload(split.ingester.url, randomBytes(100_000), {
        name: `fill-${i}.bin`,
        retention_policy: 'permanent',
      });
      if (response.status !== 201) break;
      ids.push((await json<{ file_id: string }>(response)).file_id);
    }
    expect(ids.length).toBeGreaterThan(0);
    const registry = await eventually(
      async () =>
        json<{ items: { id: string; mode: string }[] }>(
          await fetch(`${split.admin.url}/api/v1/storage-elements`),
        ),
      (r) => r.items.find((se) => se.id === 'rw-small')?.mode === 'ro',
      5_000,
    );
    expect(registry.items.find((se) => se.id === 'rw-small')?.mode).toBe('ro');
    const audit = await json<{
      items: { target: string; actor: { kind: string }; details: Record<string, unknown> }[];
    }>(await fetch(`${split.admin.url}/api/v1/audit?action=storage_element.mode_changed`));
    expect(audit.items).toContainEqual(
      expect.objectContaining({
        target: 'rw-small',
        actor: expect.objectContaining({ kind: 'system' }),
        details: expect.objectContaining({ mode: 'ro', from: 'rw', automatic: true }),
      }),
    );
  });
});
