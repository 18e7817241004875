import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/poll';
import { ClientCredentialsTokenSource } from '../../../src/adapters/clients/client-credentials-token-source';

/** A token endpoint on port 0 that counts its requests and answers what the test says. */
function tokenEndpoint(answer: (n: number, req: IncomingMessage, body: string) => [number, unknown]) {
  let count = 0;
  const requests: { authorization: string | undefined; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      count += 1;
      requests.push({ authorization: req.headers.authorization, body });
      const [status, json] = answer(count, req, body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  return {
    requests,
    get count() {
      return count;
    },
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('ClientCredentialsTokenSource', () => {
  it('asks once for concurrent callers, reuses the token, and renews it when a third of its life is left', async () => {
    const endpoint = tokenEndpoint((n) => [
      200,
      { access_token: `token-${n}`, token_type: 'Bearer', expires_in: 900 },
    ]);
    const url = await endpoint.start();
    let now = 1_000_000;
    const source = new ClientCredentialsTokenSource(
      url,
      'role:ingester',
      's3cret&+',
      'storage:read storage:write',
      { now: () => now },
    );
    try {
      expect(await Promise.all([source.token(), source.token(), source.token()])).toEqual([
        'token-1',
        'token-1',
        'token-1',
      ]);
      now += 599_000;
      expect(await source.token()).toBe('token-1');
      now += 2_000;
      // Renewed in the background: this call still gets the token held, a later one the new token.
      expect(await source.token()).toBe('token-1');
      expect(
        await eventually(
          () => source.token(),
          (t) => t === 'token-2',
          5_000,
        ),
      ).toBe('token-2');
      expect(endpoint.count).toBe(2);
      // RFC 6749 §2.3.1: id and secret are form-urlencoded inside the Basic credentials.
      const basic = Buffer.from(
        endpoint.requests[0]!.authorization!.slice('Basic '.length),
        'base64',
      ).toString();
      expect(basic).toBe('role%3Aingester:s3cret%26%2B');
      expect(new URLSearchParams(endpoint.requests[0]!.body).get('scope')).toBe('storage:read storage:write');
    } finally {
      await endpoint.stop();
    }
  });

  it('reports a refusal as an unavailable storage element naming the client, then tries again', async () => {
    const endpoint = tokenEndpoint((n) =>
      n === 1 ? [401, { error: 'invalid_client' }] : [200, { access_token: 'late', expires_in: 60 }],
    );
    const url = await endpoint.start();
    const source = new ClientCredentialsTokenSource(url, 'role-query', 'wrong', 'storage:read');
    try {
      await expect(source.token()).rejects.toMatchObject({
        code: 'storage_unavailable',
        message: expect.stringContaining("refused this process's service account: 401 invalid_client"),
      });
      expect(await source.token()).toBe('late');
    } finally {
      await endpoint.stop();
    }
  });

  it('drops its token when told the callee refused it, at most once every 10 s', async () => {
    const endpoint = tokenEndpoint((n) => [200, { access_token: `t${n}`, expires_in: 900 }]);
    const url = await endpoint.start();
    let now = 1_000_000;
    const source = new ClientCredentialsTokenSource(url, 'a', 'b', 'storage:read', { now: () => now });
    try {
      expect(await source.token()).toBe('t1');
      expect(await source.token('t1')).toBe('t2');
      // A refusal of a token already replaced changes nothing.
      expect(await source.token('t1')).toBe('t2');
      // A callee refusing every token cannot make it ask the issuer more than once per 10 s.
      expect(await source.token('t2')).toBe('t2');
      now += 10_000;
      expect(await source.token('t2')).toBe('t3');
      expect(endpoint.count).toBe(3);
    } finally {
      await endpoint.stop();
    }
  });
  it('goes on with a token that has life left while the issuer is down, and reports it unreachable after', async () => {
    const endpoint = tokenEndpoint((n) =>
      n === 1 ? [200, { access_token: 'first', expires_in: 900 }] : [503, { error: 'starting' }],
    );
    const url = await endpoint.start();
    let now = 1_000_000;
    const source = new ClientCredentialsTokenSource(url, 'a', 'b', 'storage:read', { now: () => now });
    try {
      expect(await source.token()).toBe('first');
      now += 700_000; // past renewal: the issuer answers 503
      expect(await source.token()).toBe('first');
      await endpoint.stop();
      now += 100_000; // the issuer unreachable
      expect(await source.token()).toBe('first');
      now += 100_000; // the token has expired: nothing left to go on with
      await expect(source.token()).rejects.toMatchObject({
        code: 'storage_unavailable',
        message: expect.stringContaining('cannot be reached'),
      });
    } finally {
      await endpoint.stop().catch(() => undefined);
    }
  });

  it('renews in the background: a refusal holds up no call while the token lives, and is reported after', async () => {
    const endpoint = tokenEndpoint((n) =>
      n === 1 ? [200, { access_token: 'first', expires_in: 900 }] : [401, { error: 'invalid_client' }],
    );
    const url = await endpoint.start();
    let now = 1_000_000;
    const source = new ClientCredentialsTokenSource(url, 'a', 'b', 'storage:read', { now: () => now });
    try {
      expect(await source.token()).toBe('first');
      now += 700_000;
      expect(await source.token()).toBe('first');
      now += 200_000;
      await expect(source.token()).rejects.toMatchObject({
        code: 'storage_unavailable',
        message: expect.stringContaining('refused'),
      });
    } finally {
      await endpoint.stop();
    }
  });
  it('keeps its token across a restart: a new process goes on with it while the issuer is down', async () => {
    const endpoint = tokenEndpoint((n) => [200, { access_token: `kept-${n}`, expires_in: 900 }]);
    const url = await endpoint.start();
    const dir = await mkdtemp(join(tmpdir(), 'artstore-token-'));
    const cacheFile = join(dir, 'service-token.json');
    let now = 1_000_000;
    const options = { now: () => now, cacheFile };
    try {
      expect(await new ClientCredentialsTokenSource(url, 'a', 'b', 'storage:read', options).token()).toBe(
        'kept-1',
      );
      expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
      await endpoint.stop();
      now += 60_000;
      // Restarted with the issuer unreachable: the kept token, no request.
      expect(await new ClientCredentialsTokenSource(url, 'a', 'b', 'storage:read', options).token()).toBe(
        'kept-1',
      );
      // Another client's process does not take it.
      await expect(
        new ClientCredentialsTokenSource(url, 'other', 'b', 'storage:read', options).token(),
      ).rejects.toMatchObject({ code: 'storage_unavailable' });
      now += 900_000; // expired: nothing to go on with
      await expect(
        new ClientCredentialsTokenSource(url, 'a', 'b', 'storage:read', options).token(),
      ).rejects.toMatchObject({ code: 'storage_unavailable' });
      expect(endpoint.count).toBe(1);
    } finally {
      await endpoint.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
