import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpStorageElementClient } from '../../../src/adapters/clients/http-storage-element-client';
import { JsonSidecarCodec } from '../../../src/adapters/sidecar/json-sidecar-codec';

/** An SE stand-in on port 0 that accepts only `Bearer good` and records what it was sent. */
async function storageElement(): Promise<{ url: string; seen: string[]; stop: () => Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.authorization}`);
    if (req.headers.authorization !== 'Bearer good') {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'invalid_token' }),
      );
      return;
    }
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('HttpStorageElementClient', () => {
  it('sends a call the SE refused with 401 once more with a new token (the issuer reset its keys)', async () => {
    const se = await storageElement();
    const agent = new Agent({ keepAlive: false });
    // The token kept from before the reset is refused; given it back, the source gets a new one.
    const asked: (string | undefined)[] = [];
    const token = async (rejected?: string) => {
      asked.push(rejected);
      return rejected === 'stale' ? 'good' : 'stale';
    };
    const client = new HttpStorageElementClient(
      'rw-1',
      async () => se.url,
      new JsonSidecarCodec(),
      agent,
      token,
    );
    try {
      await client.delete('01a20000-0000-7000-8000-000000000001');
      expect(se.seen).toEqual(['DELETE Bearer stale', 'DELETE Bearer good']);
      expect(asked).toEqual([undefined, 'stale']);
    } finally {
      agent.destroy();
      await se.stop();
    }
  });

  it('a refused call is refused when the new token is refused too (no loop)', async () => {
    const se = await storageElement();
    const agent = new Agent({ keepAlive: false });
    const client = new HttpStorageElementClient(
      'rw-1',
      async () => se.url,
      new JsonSidecarCodec(),
      agent,
      async () => 'stale',
    );
    try {
      await expect(client.delete('01a20000-0000-7000-8000-000000000001')).rejects.toThrow();
      expect(se.seen).toHaveLength(2);
    } finally {
      agent.destroy();
      await se.stop();
    }
  });
});
