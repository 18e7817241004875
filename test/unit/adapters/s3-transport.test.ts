import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { idleTimeoutTransport } from '../../../src/adapters/blob-store/s3-transport';

/** A TCP server that accepts and never answers (a black-holed S3 endpoint). */
async function blackhole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function send(transport: ReturnType<typeof idleTimeoutTransport>, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const request = transport.request({ host: '127.0.0.1', port, path: '/', method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(Date.now() - started));
    });
    request.on('error', (error) => reject(Object.assign(error, { elapsed: Date.now() - started })));
    request.end();
  });
}

describe('idleTimeoutTransport', () => {
  it('times a silent endpoint out, fails the next requests at once for a moment, then tries again', async () => {
    const dead = await blackhole();
    const transport = idleTimeoutTransport(false, 300);
    try {
      await expect(send(transport, dead.port)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      // Within the window: not tried, so no second wait for the timeout.
      const quick = await send(transport, dead.port).catch(
        (error: { code: string; message: string }) => error,
      );
      expect(quick).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('not tried') });
      // After it, a live endpoint answers through the same transport.
      const live = createHttpServer((_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve));
      try {
        const port = (live.address() as AddressInfo).port;
        await expect(send(transport, port)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
        await new Promise((resolve) => setTimeout(resolve, 350));
        await expect(send(transport, port)).resolves.toEqual(expect.any(Number));
      } finally {
        await new Promise((resolve) => live.close(resolve));
      }
    } finally {
      await dead.close();
    }
  });
});
