import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signInAsBootstrapAdmin } from '../support/auth';
import { killAll, runCli, startServe } from '../support/artstore-process';
import { createTestDatabase } from '../support/database';
import { download, json, rawUpload, sha256Hex } from '../support/http';
import { requireInfrastructure, s3Client } from '../support/infrastructure';
import { eventually } from '../support/poll';

afterAll(killAll);

/** Issue 4: an SE's backend is a config choice; the same story works with blobs in S3. */
describe('a storage element on the S3 backend (--role all)', () => {
  it('stores blob and sidecar as objects under its prefix, serves ranges, and keeps them across a restart', async () => {
    const s3 = requireInfrastructure('s3');
    const client = s3Client(s3);
    const bucket = `artstore-e2e-${randomBytes(4).toString('hex')}`;
    const db = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'artstore-s3-se-'));
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        storage_elements: [
          { id: 'edit-1', mode: 'edit' },
          {
            id: 'rw-s3',
            mode: 'rw',
            backend: 's3',
            s3_endpoint: s3.endpoint,
            s3_bucket: bucket,
            s3_prefix: 'se/rw-s3/',
            s3_access_key: s3.accessKey,
            s3_secret_key: s3.secretKey,
          },
        ],
      }),
    );
    const env = { ARTSTORE_DATABASE_URL: db.url };
    try {
      const first = await startServe(['--data-dir', join(dir, 'data'), '--config', config], env);
      await signInAsBootstrapAdmin(first.url, join(dir, 'data'));
      const content = randomBytes(300_000);
      const uploaded = await rawUpload(first.url, content, {
        name: 'kept in s3.bin',
        retention_policy: 'permanent',
      });
      expect(uploaded.status).toBe(201);
      const file = await json<{ file_id: string; sha256: string }>(uploaded);
      expect(file.sha256).toBe(sha256Hex(content));

      const names: string[] = [];
      for await (const item of client.listObjectsV2(bucket, 'se/rw-s3/', true) as AsyncIterable<{
        name: string;
      }>) {
        names.push(item.name);
      }
      expect(names).toHaveLength(2);
      expect(names.filter((n) => n.endsWith('.attr.json'))).toHaveLength(1);
      expect(names.every((n) => n.startsWith('se/rw-s3/') && n.includes(file.file_id))).toBe(true);

      const range = await download(first.url, file.file_id, { range: 'bytes=1000-1999' });
      expect(range.response.status).toBe(206);
      expect(range.body.equals(content.subarray(1000, 2000))).toBe(true);
      const info = await json<{ backend: string }>(await fetch(`${first.url}/api/v1/storage-elements/rw-s3`));
      expect(info.backend).toBe('s3');
      expect(await first.stop()).toBe(0);

      const second = await startServe(['--data-dir', join(dir, 'data'), '--config', config], env);
      await signInAsBootstrapAdmin(second.url, join(dir, 'data'));
      const again = await download(second.url, file.file_id);
      expect(again.response.status).toBe(200);
      expect(again.body.equals(content)).toBe(true);

      // Reconcile and scrub work the same on S3: rot and an orphan object end up under quarantine/.
      const intact = await json<{ file_id: string }>(
        await rawUpload(second.url, randomBytes(20_000), {
          name: 'intact.bin',
          retention_policy: 'permanent',
        }),
      );
      const blobName = names.find((n) => !n.endsWith('.attr.json'))!;
      const rotten = Buffer.from(content);
      rotten[150_000]! ^= 0x01;
      await client.putObject(bucket, blobName, rotten);
      await client.putObject(
        bucket,
        'se/rw-s3/2026/01/01/stray_0190f1a2-0000-7000-8000-0000000000ff.bin',
        'x',
      );
      const reconciled = await fetch(`${second.url}/api/v1/storage-elements/rw-s3/reconcile`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ repair: true, checksums: true }),
      });
      expect(reconciled.status).toBe(200);
      const report = await json<{ findings: { kind: string; file_id: string | null; action: string }[] }>(
        reconciled,
      );
      expect(report.findings.map((f) => [f.kind, f.file_id, f.action]).sort()).toEqual(
        [
          ['checksum_mismatch', file.file_id, 'quarantined'],
          ['orphan_blob', '0190f1a2-0000-7000-8000-0000000000ff', 'quarantined'],
        ].sort(),
      );
      const quarantined: string[] = [];
      for await (const item of client.listObjectsV2(bucket, 'se/rw-s3/quarantine/', true) as AsyncIterable<{
        name: string;
      }>)
        quarantined.push(item.name);
      expect(quarantined).toHaveLength(3);
      expect((await download(second.url, file.file_id)).response.status).toBe(503);
      const scrub = await fetch(`${second.url}/api/v1/storage-elements/rw-s3/scrub`, { method: 'POST' });
      expect(scrub.status).toBe(202);
      const status = await eventually(
        async () =>
          json<{ state: string; files_checked: number; failure_count: number }>(
            await fetch(`${second.url}/api/v1/storage-elements/rw-s3/scrub`),
          ),
        (s) => s.state !== 'running',
      );
      expect(status).toMatchObject({ state: 'finished', files_checked: 1, failure_count: 0 });
      const history = await json<{ items: { result: string; trigger: string }[] }>(
        await fetch(`${second.url}/api/v1/files/${intact.file_id}/fixity`),
      );
      expect(history.items.map((c) => [c.result, c.trigger]).sort()).toEqual([
        ['ok', 'reconcile'],
        ['ok', 'scrub'],
      ]);
      expect(await second.stop()).toBe(0);
    } finally {
      const leftovers: string[] = [];
      for await (const item of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name: string }>) {
        leftovers.push(item.name);
      }
      if (leftovers.length > 0) await client.removeObjects(bucket, leftovers);
      await client.removeBucket(bucket).catch(() => undefined);
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an s3 storage element without its bucket and credentials, naming what is missing', async () => {
    const refused = await runCli(['serve', '--port', '0'], {
      ARTSTORE_ROLE: 'storage',
      ARTSTORE_SE_ID: 'rw-s3',
      ARTSTORE_SE_MODE: 'rw',
      ARTSTORE_SE_BACKEND: 's3',
      ARTSTORE_DATABASE_URL: 'postgresql://x@127.0.0.1:1/x',
      ARTSTORE_REDIS_URL: 'redis://127.0.0.1:1',
      ARTSTORE_ISSUER_URL: 'http://127.0.0.1:1',
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "'rw-s3' uses the s3 backend and needs s3_endpoint, s3_bucket, s3_access_key, s3_secret_key",
    );
  });
});
