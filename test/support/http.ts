import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { authorizationFor } from './auth';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  field?: string;
}

export function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** Asserts a problem-details response with the given status and code; returns the body. */
export async function expectProblem(response: Response, status: number, code: string): Promise<Problem> {
  const text = await response.text();
  if (response.status !== status)
    throw new Error(`expected ${status} ${code}, got ${response.status}: ${text}`);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/u);
  const body = JSON.parse(text) as Problem;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.detail).toBe('string');
  expect(body.detail.length).toBeGreaterThan(0);
  return body;
}

export function rawUpload(
  base: string,
  content: Buffer,
  query: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}/api/v1/files?${new URLSearchParams(query).toString()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: content,
  });
}

export function multipartUpload(
  base: string,
  content: Buffer,
  fileName: string,
  fields: Record<string, string>,
  type = 'application/pdf',
): Promise<Response> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('file', new Blob([content], { type }), fileName);
  return fetch(`${base}/api/v1/files`, { method: 'POST', body: form });
}

/** The original bytes' representation: fetch would otherwise ask for (and quietly gunzip) gzip. */
export async function download(
  base: string,
  fileId: string,
  headers: Record<string, string> = {},
): Promise<{ response: Response; body: Buffer }> {
  const response = await fetch(`${base}/api/v1/files/${fileId}/content`, {
    headers: { 'accept-encoding': 'identity', ...headers },
  });
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

/**
 * A GET (or HEAD) answered as sent, body undecoded: node:http, unlike fetch, never gunzips. Sends
 * the token the authorizing fetch would.
 */
export function rawGet(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...authorizationFor(url), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
