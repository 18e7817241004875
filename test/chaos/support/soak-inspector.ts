/**
 * The soak campaign's window into an ArtStore child's heap: the child runs with
 * `--inspect=127.0.0.1:0` (NODE_OPTIONS, test only) and this client speaks the Chrome DevTools
 * protocol to it over the WebSocket the inspector announces on stderr. A forced full GC
 * (`HeapProfiler.collectGarbage`) then `process.memoryUsage()` is the heap that survives, without
 * any debug endpoint in production code.
 */

/** The inspector's announcement: `Debugger listening on ws://127.0.0.1:PORT/UUID`. */
export function inspectorUrl(lines: readonly string[]): string {
  for (const line of lines) {
    const match = /Debugger listening on (ws:\/\/\S+)/u.exec(line);
    if (match) return match[1]!;
  }
  throw new Error('the child announced no inspector (was it started with --inspect?)');
}

/** NODE_OPTIONS for a child the soak inspects: the caller's options plus an inspector on port 0. */
export function inspectedNodeOptions(): string {
  return `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim();
}

export interface MemorySample {
  /** Bytes of V8 heap in use after a full GC. */
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

interface Reply {
  id: number;
  result?: { result?: { value?: unknown } };
  error?: { message: string };
}

export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as Reply;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return; // an event, not a reply
      this.pending.delete(reply.id);
      if (reply.error) waiter.reject(new Error(`inspector: ${reply.error.message}`));
      else waiter.resolve(reply);
    });
    socket.addEventListener('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot reach the inspector at ${url}`)), {
        once: true,
      });
    });
    return new Inspector(socket);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, forced GC in the child, then its memory as `process.memoryUsage()` reports it. */
  async memoryAfterGc(): Promise<MemorySample> {
    await this.call('HeapProfiler.collectGarbage');
    const reply = await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const value = reply.result?.result?.value;
    if (typeof value !== 'string') throw new Error(`inspector: unexpected reply ${JSON.stringify(reply)}`);
    return JSON.parse(value) as MemorySample;
  }

  close(): void {
    this.socket.close();
  }
}
