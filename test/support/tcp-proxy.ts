import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** `redis://127.0.0.1:<port>` style URL of the proxy, with the target's scheme. */
  readonly url: string;
  /** The server goes away: every connection is cut and new ones are refused. */
  cut(): Promise<void>;
  /** The server is back, on the same port, passing everything through at full speed. */
  restore(): Promise<void>;
  /** The server hangs: connections stay open but nothing more goes through, either way. */
  stall(): void;
  /**
   * A black hole (a dropped route): nothing goes through either way and nothing is answered or
   * closed; new connections are accepted but held too. What was sent is delivered after `restore`,
   * as TCP retransmission would, so a connection that outlives the outage is not corrupted.
   */
  blackhole(): void;
  /** A slow link: every chunk, either way, is delivered `ms` after it arrived (order kept). */
  slow(ms: number): void;
  /** Every open connection is reset (RST), and so is each new one as soon as it is accepted. */
  reset(): void;
  close(): Promise<void>;
}

type Mode =
  { kind: 'pass' } | { kind: 'drop' } | { kind: 'hold' } | { kind: 'slow'; ms: number } | { kind: 'reset' };

/** A TCP forwarder in front of a real server, to take it away, slow it or break it (an outage). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  let mode: Mode = { kind: 'pass' };
  // Resolved whenever the proxy is not holding; a black hole replaces it with a pending one.
  let released: Promise<void> = Promise.resolve();
  let release = (): void => undefined;
  const setMode = (next: Mode): void => {
    if (mode.kind === 'hold' && next.kind !== 'hold') release();
    if (next.kind === 'hold' && mode.kind !== 'hold')
      released = new Promise<void>((resolve) => (release = resolve));
    mode = next;
  };
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      track(client);
      if (mode.kind === 'reset') {
        client.resetAndDestroy();
        return;
      }
      const upstream = createConnection({ host: to.hostname, port: Number(to.port) });
      track(upstream);
      const forward = (from: Socket, into: Socket): void => {
        // Chunks delayed by a slow link are chained so that they keep their order.
        let queue = Promise.resolve();
        from.on('data', (chunk: Buffer) => {
          const current = mode;
          if (current.kind === 'drop' || current.kind === 'reset') return;
          // Latency, not a throughput cap: each chunk is due `ms` after it arrived.
          const due = current.kind === 'slow' ? Date.now() + current.ms : 0;
          queue = queue.then(async () => {
            await released;
            const wait = due - Date.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            if (!into.destroyed) into.write(chunk);
          });
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
    setMode({ kind: 'pass' });
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
      setMode({ kind: 'pass' });
      if (!server) await listen();
    },
    stall: () => setMode({ kind: 'drop' }),
    blackhole: () => setMode({ kind: 'hold' }),
    slow: (ms) => setMode({ kind: 'slow', ms }),
    reset: () => {
      setMode({ kind: 'reset' });
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: cut,
  };
}
