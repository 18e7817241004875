/**
 * The tus peer of the upload benchmarks (§8 "peer"): `@tus/server` with its own `@tus/file-store`,
 * as its README sets it up, on 127.0.0.1 port 0 under `/files`. It is not durable: the file store
 * neither fsyncs the bytes nor its JSON metadata, so ArtStore (which is) is measured against a
 * faster-than-fair peer.
 *
 *   node dist/bench/tus-peer-server.js --dir DIR
 *
 * Prints {"msg":"listening","url":"http://127.0.0.1:<port>"} when ready.
 */
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { createServer } from 'node:http';

function arg(name: string): string {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? process.argv[at + 1] : undefined;
  if (!value) throw new Error(`--${name} is required`);
  return value;
}

const tus = new Server({ path: '/files', datastore: new FileStore({ directory: arg('dir') }) });
const server = createServer((req, res) => {
  void tus.handle(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', kind: 'tus-file-store', url: `http://127.0.0.1:${port}` })}\n`,
  );
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
