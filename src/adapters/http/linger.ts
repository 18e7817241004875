import type { IncomingMessage } from 'node:http';

/** How long a refused client may stay silent, or go on sending in all, before it is cut off. */
export const LINGER_IDLE_MS = 5_000;
export const LINGER_TOTAL_MS = 30_000;
export const LINGER_BYTES = 64 * 1024 * 1024;

/**
 * Lingering close (nginx's `lingering_close`) for a request answered before its body was read:
 * after the answer our side of the connection ends (FIN), and what the client is still sending
 * is read and discarded, for a bounded time and amount, before the socket is closed. Closing at
 * once with unread data makes the kernel reset the connection, and a client still sending its
 * body then loses the answer (it sees ECONNRESET or EPIPE instead of the 413).
 */
export function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket;
  // Node's HTTP server calls destroySoon() once the last response on a `Connection: close` socket is sent.
  Object.assign(socket, {
    destroySoon(): void {
      socket.end();
      let discarded = 0;
      const drop = (): void => void socket.destroy();
      const total = setTimeout(drop, LINGER_TOTAL_MS).unref();
      const idle = setTimeout(drop, LINGER_IDLE_MS).unref();
      socket.once('close', () => {
        clearTimeout(total);
        clearTimeout(idle);
      });
      req.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > LINGER_BYTES) drop();
        idle.refresh();
      });
      req.resume();
    },
  });
}
