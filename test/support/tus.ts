import { createHash } from 'node:crypto';
import { Client } from 'pg';

export const UPLOADS = '/api/v1/uploads';

/** Upload-Metadata: `key base64(value)` pairs (tus 1.0.0 creation extension). */
export function tusMetadata(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

/** A tus request: Tus-Resumable set, PATCH bodies typed as the protocol wants. */
export function tus(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Response> {
  return fetch(url, {
    method,
    headers: {
      'tus-resumable': '1.0.0',
      ...(body !== undefined ? { 'content-type': 'application/offset+octet-stream' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body } : {}),
  });
}

export function checksum(algorithm: 'sha1' | 'sha256' | 'md5' | 'sha512', content: Buffer): string {
  return `${algorithm} ${createHash(algorithm).update(content).digest('base64')}`;
}

export interface UploadRow {
  id: string;
  owner: string;
  offset: string;
  length: string | null;
  status: string;
  file_id: string | null;
  error: { code: string } | null;
}

/** The `uploads` rows of a test database, read directly (what survives a restart). */
export async function uploadRows(databaseUrl: string): Promise<UploadRow[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<UploadRow>(
      'select id, owner, "offset", length, status, file_id, error from uploads order by created_at',
    );
    return result.rows;
  } finally {
    await client.end();
  }
}
