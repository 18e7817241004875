import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { killAll, runCli, startServe } from '../support/artstore-process';
import { rawAuthHeaders, signInAsBootstrapAdmin } from '../support/auth';
import { createTestDatabase } from '../support/database';
import { requireInfrastructure } from '../support/infrastructure';
import { expectProblem, json, rawUpload } from '../support/http';

afterAll(killAll);

describe('artstore migrate', () => {
  it('migrates an empty database, then finds it up to date', async () => {
    const name = `artstore_mig_${randomBytes(5).toString('hex')}`;
    const admin = new Client({ connectionString: requireInfrastructure('database') });
    await admin.connect();
    await admin.query(`create database ${name}`);
    try {
      const url = new URL(requireInfrastructure('database'));
      url.pathname = `/${name}`;
      const first = await runCli(['migrate'], { ARTSTORE_DATABASE_URL: url.toString() });
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('"msg":"migrations applied"');
      expect(first.stdout).toContain('Migration20261129000000_initial');
      const second = await runCli(['migrate'], { ARTSTORE_DATABASE_URL: url.toString() });
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('"msg":"database is up to date"');
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});

/** Sends only the headers with Expect: 100-continue and returns the first answer the server gives. */
function firstAnswer(base: string, head: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    socket.once('data', (data: Buffer) => {
      resolve(data.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('capacity and a config file with several storage elements', () => {
  it('refuses a write that does not fit with 507 before the body is sent, and fills the next SE', async () => {
    const db = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'artstore-cap-'));
    const config = join(dir, 'artstore.json');
    await writeFile(
      config,
      JSON.stringify({
        storage_elements: [
          { id: 'edit-small', mode: 'edit', capacity_bytes: 10_000, priority: 1 },
          { id: 'edit-big', mode: 'edit', capacity_bytes: 1_000_000, priority: 2 },
          { id: 'rw-tiny', mode: 'rw', capacity_bytes: 1_000 },
        ],
      }),
    );
    const proc = await startServe(['--data-dir', join(dir, 'data'), '--config', config], {
      ARTSTORE_DATABASE_URL: db.url,
    });
    await signInAsBootstrapAdmin(proc.url, join(dir, 'data'));
    try {
      // Nothing fits 5000 bytes in rw: refused on the headers alone, no 100 Continue, no body read.
      const answer = await firstAnswer(
        proc.url,
        `POST /api/v1/files?name=big.bin&retention_policy=permanent HTTP/1.1\r\n${rawAuthHeaders(proc.url)}Content-Type: application/octet-stream\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 507 /u);
      expect(answer).toContain('"code":"no_writable_storage"');
      // Sequential fill: priority 1 first, then the next SE once the first cannot take the size.
      const small = await json<{ file_id: string }>(
        await rawUpload(proc.url, randomBytes(6_000), { name: 'a.bin' }),
      );
      const next = await json<{ file_id: string }>(
        await rawUpload(proc.url, randomBytes(6_000), { name: 'b.bin' }),
      );
      const onSmall = await readdir(join(dir, 'data', 'se', 'edit-small', 'blobs'), { recursive: true });
      const onBig = await readdir(join(dir, 'data', 'se', 'edit-big', 'blobs'), { recursive: true });
      expect(onSmall.some((f) => f.includes(small.file_id))).toBe(true);
      expect(onBig.some((f) => f.includes(next.file_id))).toBe(true);
      const registry = await json<{ items: { id: string; file_count: number }[] }>(
        await fetch(`${proc.url}/api/v1/storage-elements`),
      );
      expect(registry.items.map((se) => se.id)).toEqual(['edit-big', 'edit-small', 'rw-tiny']);
      await expectProblem(
        await rawUpload(proc.url, randomBytes(2_000), { name: 'c.bin', retention_policy: 'permanent' }),
        507,
        'no_writable_storage',
      );
    } finally {
      expect(await proc.stop()).toBe(0);
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
