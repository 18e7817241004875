import type { Socket } from 'node:net';

/** How long, and how much, a refused client may go on sending before its connection is dropped. */
export const LINGER_MS = 2_000;
export const LINGER_BYTES = 64 * 1024 * 1024;

/**
 * Lingering close (nginx's `lingering_close`): an answer given before the request body was read
 * ends our side of the connection after the answer (FIN) and reads and discards what the client
 * is still sending, for a bounded time and amount, before the socket is closed. Closing at once
 * with unread data makes the kernel reset the connection, and a client still sending its body
 * then loses the answer (it sees ECONNRESET or EPIPE instead of the 413).
 */
export function lingerOnClose(socket: Socket): void {
  // Node's HTTP server calls destroySoon() once the last response on a `Connection: close` socket is sent.
  Object.assign(socket, {
    destroySoon(): void {
      socket.end();
      let discarded = 0;
      const drop = (): void => void socket.destroy();
      const timer = setTimeout(drop, LINGER_MS).unref();
      socket.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > LINGER_BYTES) drop();
      });
      socket.once('close', () => clearTimeout(timer));
      socket.resume();
    },
  });
}
