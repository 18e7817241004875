import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `redis://127.0.0.1:<port>` style URL of the proxy, with the target's scheme. */
  readonly url: string;
  /** The server goes away: every connection is cut and new ones are refused. */
  cut(): Promise<void>;
  /** The server is back, on the same port. */
  restore(): Promise<void>;
  /** The server hangs: connections stay open but nothing more goes through, either way. */
  stall(): void;
  close(): Promise<void>;
}

/** A TCP forwarder in front of a real server, to take it away and bring it back (an outage). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  let stalled = false;
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      const upstream = createConnection({ host: to.hostname, port: Number(to.port) });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      const forward = (from: Socket, to: Socket): void => {
        from.on('data', (chunk: Buffer) => {
          if (!stalled) to.write(chunk);
        });
      };
      forward(client, upstream);
      forward(upstream, client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const cut = async (): Promise<void> => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `${to.protocol}//127.0.0.1:${port}`,
    cut,
    restore: async () => {
      stalled = false;
      await listen();
    },
    stall: () => {
      stalled = true;
    },
    close: cut,
  };
}
