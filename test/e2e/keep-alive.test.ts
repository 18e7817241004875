import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { signInAsBootstrapAdmin, tokenFor } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';

afterAll(killAll);

/** One exchange on `agent`: the status, the body, and whether the socket was a reused one. */
function exchange(
  agent: Agent,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: Buffer },
): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, agent });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          reused: req.reusedSocket,
        }),
      );
      res.on('error', reject);
    });
    // Chunked, so the server learns it does not fit only while reading.
    if (init.body)
      for (let at = 0; at < init.body.length; at += 64 * 1024)
        req.write(init.body.subarray(at, at + 64 * 1024));
    req.end();
  });
}

/**
 * An upload refused part-way through its body (the SE filled up) must not leave the rest of the
 * body in a kept-alive connection, where it blocks the next request until the socket times out:
 * the refusal closes the connection and the client's next request goes through a new one.
 */
describe('keep-alive after an upload refused mid-body', () => {
  let db: TestDatabase;
  let dir: string;
  let proc: ArtStoreProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'artstore-keepalive-'));
    const config = join(dir, 'artstore.json');
    await writeFile(
      config,
      JSON.stringify({ storage_elements: [{ id: 'edit-1', mode: 'edit', capacity_bytes: 200_000 }] }),
    );
    proc = await startServe(['--data-dir', join(dir, 'data'), '--config', config], {
      ARTSTORE_DATABASE_URL: db.url,
    });
    await signInAsBootstrapAdmin(proc.url, join(dir, 'data'));
  });

  afterAll(async () => {
    expect(await proc.stop()).toBe(0);
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 507 and closes the connection, so the next request gets through at once on a new one', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const auth = { authorization: `Bearer ${tokenFor(proc.url)}` };
      const refused = await exchange(agent, `${proc.url}/api/v1/files?name=too-big.bin`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        // Larger than what the server buffers ahead of the SE (the 1 MiB peeked for sniffing).
        body: randomBytes(8 * 1024 * 1024),
      });
      expect(refused).toMatchObject({ status: 507 });
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'storage_full' });
      const next = await exchange(agent, `${proc.url}/health/live`, { method: 'GET', headers: {} });
      expect(next).toMatchObject({ status: 200, reused: false });
      // A request whose body was read to the end keeps its connection.
      const kept = await exchange(agent, `${proc.url}/health/live`, { method: 'GET', headers: {} });
      expect(kept).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});
