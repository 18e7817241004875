/**
 * The soak campaign's mixed workload: each call of `runOne` draws one operation from MIX and
 * checks its answer strictly. Contents are slices of two 4 MiB pools (random bytes, which are
 * stored as is, and document-like text, which `auto` compression may store gzip or br), so every
 * whole or ranged read is compared byte for byte without keeping files in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { bufferBody, LoadClient, tusMetadata, type Response } from '../../../bench/client';
import { prng } from '../../../bench/documents';
import { documentText } from '../../support/documents';

/** Relative weights of the operations (out of 100), documented in docs/chaos.md. */
export const MIX = {
  upload_small: 14, // raw POST /api/v1/files, 0 B – 16 KiB
  upload_medium: 3, // raw POST, 256 KiB – 2 MiB (past the 1 MiB verify-before-send limit)
  tus_with_upload: 2, // tus creation-with-upload, 8 – 128 KiB
  tus_then_patch: 2, // tus creation, then one PATCH with the body
  metadata: 20, // GET /api/v1/files/{id}
  metadata_deleted: 2, // the same for a deleted file: 404 expected
  search: 10, // GET /api/v1/search, a word of the descriptions, with or without filters
  download: 15, // GET …/content whole: 200, SHA-256 checked
  range: 12, // GET …/content with one Range: 206, bytes checked
  range_unsatisfiable: 2, // Range past the end: 416 expected
  not_modified: 4, // If-None-Match with the ETag: 304 expected
  update: 8, // PATCH /api/v1/files/{id}: description, tags, metadata
  delete: 6, // DELETE /api/v1/files/{id}: 204
} as const;
export type Operation = keyof typeof MIX;

const WORDS = ['ledger', 'invoice', 'contract', 'minutes', 'archive', 'payroll', 'tender', 'audit'];
const POOL_BYTES = 4 << 20;

interface LiveFile {
  readonly id: string;
  readonly pool: Buffer;
  readonly offset: number;
  readonly size: number;
  readonly sha256: string;
  /** Operations in flight on the file: a delete only takes a file nobody is using. */
  users: number;
  /**
   * An update is in flight: ArtStore runs one change of a file at a time and answers another
   * `409 conflict` (docs/api.md), so the mix never sends two at once and a 409 is an error.
   */
  updating: boolean;
}

export interface Outcome {
  readonly operation: Operation;
  /** The answer was what the operation expects (including its expected 304, 404, 416). */
  readonly ok: boolean;
  /** Why not, for the error counts: `<operation>: <status or client error>`. */
  readonly kind?: string;
  readonly status: number;
}

class Mismatch extends Error {}

export class Workload {
  private readonly random = randomBytes(POOL_BYTES);
  private readonly text = documentText(POOL_BYTES, 11);
  private readonly live: LiveFile[] = [];
  private readonly deleted: string[] = [];
  private readonly rand = prng(20261202);
  private readonly table: Operation[] = [];
  private uploads = 0;

  /**
   * `maxLive` bounds the files the mix keeps: past it an upload's turn deletes a file instead,
   * so the catalog, disk and caches reach a steady state rather than growing for the whole soak.
   */
  constructor(
    private readonly base: string,
    private readonly client: LoadClient,
    private readonly authorization: () => string,
    private readonly maxLive: number,
  ) {
    for (const [operation, weight] of Object.entries(MIX) as [Operation, number][])
      for (let i = 0; i < weight; i += 1) this.table.push(operation);
  }

  get liveFiles(): number {
    return this.live.length;
  }

  /** One operation drawn from the mix (an upload when `operation` says so). */
  async runOne(operation = this.draw()): Promise<Outcome> {
    let status = 0;
    try {
      status = await this.perform(operation);
      return { operation, ok: true, status };
    } catch (error) {
      const why = error instanceof Mismatch ? error.message : `client error ${(error as Error).message}`;
      return { operation, ok: false, kind: `${operation}: ${why}`, status };
    }
  }

  private draw(): Operation {
    const operation = this.table[Math.floor(this.rand() * this.table.length)]!;
    const isUpload = operation.startsWith('upload') || operation.startsWith('tus');
    if (isUpload && this.live.length >= this.maxLive) return 'delete';
    if (!isUpload && this.live.length === 0) return 'upload_small';
    if (operation === 'metadata_deleted' && this.deleted.length === 0) return 'metadata';
    return operation;
  }

  private perform(operation: Operation): Promise<number> {
    switch (operation) {
      case 'upload_small':
        return this.upload(Math.floor(this.rand() * 16_385));
      case 'upload_medium':
        return this.upload((256 << 10) + Math.floor(this.rand() * (1792 << 10)));
      case 'tus_with_upload':
        return this.tus(true);
      case 'tus_then_patch':
        return this.tus(false);
      case 'metadata_deleted':
        return this.metadataOfDeleted();
      case 'search':
        return this.search();
      case 'delete':
        return this.delete();
      default:
        return this.withFile((file) => this.onFile(operation, file));
    }
  }

  private onFile(operation: Operation, file: LiveFile): Promise<number> {
    switch (operation) {
      case 'metadata':
        return this.metadata(file);
      case 'download':
        return this.download(file);
      case 'range':
        return this.range(file);
      case 'range_unsatisfiable':
        return this.unsatisfiable(file);
      case 'not_modified':
        return this.notModified(file);
      case 'update':
        return this.update(file);
      default:
        throw new Error(`not an operation on a file: ${operation}`);
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: this.authorization(), ...extra };
  }

  private async withFile(use: (file: LiveFile) => Promise<number>): Promise<number> {
    const file = this.live[Math.floor(this.rand() * this.live.length)]!;
    file.users += 1;
    try {
      return await use(file);
    } finally {
      file.users -= 1;
    }
  }

  private content(size: number): { pool: Buffer; offset: number; bytes: Buffer } {
    const pool = this.rand() < 0.5 ? this.random : this.text;
    const offset = Math.floor(this.rand() * (POOL_BYTES - size));
    return { pool, offset, bytes: pool.subarray(offset, offset + size) };
  }

  private remember(id: string, pool: Buffer, offset: number, size: number): void {
    const sha256 = createHash('sha256')
      .update(pool.subarray(offset, offset + size))
      .digest('hex');
    this.live.push({ id, pool, offset, size, sha256, users: 0, updating: false });
  }

  private describe(): { name: string; description: string } {
    this.uploads += 1;
    const word = WORDS[this.uploads % WORDS.length]!;
    return { name: `soak-${this.uploads}-${word}.bin`, description: `soak ${word} number ${this.uploads}` };
  }

  private expect(res: Response, status: number, what: string): void {
    if (res.status !== status)
      throw new Mismatch(`status ${res.status}${res.status >= 400 ? ` ${problemCode(res)}` : ''} ${what}`);
  }

  private async upload(size: number): Promise<number> {
    const { pool, offset, bytes } = this.content(size);
    const { name, description } = this.describe();
    const query = new URLSearchParams({ name, description, tags: 'soak' });
    const res = await this.client.send({
      method: 'POST',
      url: `${this.base}/api/v1/files?${query.toString()}`,
      headers: this.headers({ 'content-type': 'application/octet-stream' }),
      body: bufferBody(bytes),
      collect: true,
    });
    this.expect(res, 201, '(upload)');
    const answer = JSON.parse(res.body.toString('utf8')) as { file_id: string; size: number; sha256: string };
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (answer.size !== size || answer.sha256 !== sha256) throw new Mismatch('answer names other content');
    this.remember(answer.file_id, pool, offset, size);
    return res.status;
  }

  private async tus(withUpload: boolean): Promise<number> {
    const size = (8 << 10) + Math.floor(this.rand() * (120 << 10));
    const { pool, offset, bytes } = this.content(size);
    const { name, description } = this.describe();
    const tus = { 'tus-resumable': '1.0.0' };
    const body = bufferBody(bytes);
    const created = await this.client.send({
      method: 'POST',
      url: `${this.base}/api/v1/uploads`,
      headers: this.headers({
        ...tus,
        'upload-length': String(size),
        'upload-metadata': tusMetadata({ filename: name, description }),
        ...(withUpload ? { 'content-type': 'application/offset+octet-stream' } : {}),
      }),
      ...(withUpload ? { body } : {}),
      collect: true,
    });
    this.expect(created, 201, '(tus creation)');
    let last = created;
    if (!withUpload) {
      last = await this.client.send({
        method: 'PATCH',
        url: new URL(String(created.headers.location), this.base).toString(),
        headers: this.headers({
          ...tus,
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        }),
        body,
        collect: true,
      });
      this.expect(last, 204, '(tus patch)');
    }
    const id = last.headers['artstore-file-id'];
    if (last.headers['upload-offset'] !== String(size) || typeof id !== 'string')
      throw new Mismatch(`tus ended at offset ${String(last.headers['upload-offset'])} without a file id`);
    this.remember(id, pool, offset, size);
    return last.status;
  }

  private async metadata(file: LiveFile): Promise<number> {
    const res = await this.get(`/api/v1/files/${file.id}`, {}, true);
    this.expect(res, 200, '(metadata)');
    const doc = JSON.parse(res.body.toString('utf8')) as { file_id: string; size: number; sha256: string };
    if (doc.file_id !== file.id || doc.size !== file.size || doc.sha256 !== file.sha256)
      throw new Mismatch('metadata names another file');
    return res.status;
  }

  private async metadataOfDeleted(): Promise<number> {
    const id = this.deleted[Math.floor(this.rand() * this.deleted.length)]!;
    const res = await this.get(`/api/v1/files/${id}`, {}, true);
    this.expect(res, 404, '(metadata of a deleted file)');
    return res.status;
  }

  private async search(): Promise<number> {
    const word = WORDS[Math.floor(this.rand() * WORDS.length)]!;
    const filters = this.rand() < 0.3 ? '&size_min=1024&sort=size' : '';
    const res = await this.get(`/api/v1/search?q=${word}&limit=20${filters}`, {}, true);
    this.expect(res, 200, '(search)');
    const answer = JSON.parse(res.body.toString('utf8')) as { items?: unknown };
    if (!Array.isArray(answer.items)) throw new Mismatch('search answer without items');
    return res.status;
  }

  private async download(file: LiveFile): Promise<number> {
    const res = await this.get(`/api/v1/files/${file.id}/content`, { 'accept-encoding': 'identity' }, true);
    this.expect(res, 200, '(download)');
    if (createHash('sha256').update(res.body).digest('hex') !== file.sha256)
      throw new Mismatch(`download of ${res.body.length} of ${file.size} bytes does not match`);
    return res.status;
  }

  private async range(file: LiveFile): Promise<number> {
    if (file.size === 0) return this.unsatisfiable(file);
    const first = Math.floor(this.rand() * file.size);
    const last = Math.min(file.size - 1, first + Math.floor(this.rand() * 65_536));
    const res = await this.get(
      `/api/v1/files/${file.id}/content`,
      { range: `bytes=${first}-${last}`, 'accept-encoding': 'identity' },
      true,
    );
    this.expect(res, 206, '(range)');
    const expected = file.pool.subarray(file.offset + first, file.offset + last + 1);
    if (!res.body.equals(expected)) throw new Mismatch('range bytes differ from the file');
    return res.status;
  }

  private async unsatisfiable(file: LiveFile): Promise<number> {
    const res = await this.get(`/api/v1/files/${file.id}/content`, { range: `bytes=${file.size}-` }, true);
    this.expect(res, 416, '(range past the end)');
    return res.status;
  }

  private async notModified(file: LiveFile): Promise<number> {
    const res = await this.get(
      `/api/v1/files/${file.id}/content`,
      { 'if-none-match': `"${file.sha256}"`, 'accept-encoding': 'identity' },
      true,
    );
    this.expect(res, 304, '(If-None-Match)');
    return res.status;
  }

  private async update(file: LiveFile): Promise<number> {
    if (file.updating) return this.metadata(file);
    file.updating = true;
    try {
      return await this.updateOnce(file);
    } finally {
      file.updating = false;
    }
  }

  private async updateOnce(file: LiveFile): Promise<number> {
    const n = Math.floor(this.rand() * 1000);
    const change = {
      description: `soak updated ${WORDS[n % WORDS.length]!} ${n}`,
      tags: ['soak', `t${n % 7}`],
      metadata: { round: String(n) },
    };
    const res = await this.client.send({
      method: 'PATCH',
      url: `${this.base}/api/v1/files/${file.id}`,
      headers: this.headers({ 'content-type': 'application/json' }),
      body: bufferBody(Buffer.from(JSON.stringify(change))),
      collect: true,
    });
    this.expect(res, 200, '(update)');
    const doc = JSON.parse(res.body.toString('utf8')) as { description: string };
    if (doc.description !== change.description) throw new Mismatch('update answer without the change');
    return res.status;
  }

  /** Deletes a file nobody is using; it leaves the live set first, so no later operation races it. */
  private async delete(): Promise<number> {
    const at = this.live.findIndex((file) => file.users === 0);
    if (at < 0) return this.upload(1024);
    const [file] = this.live.splice(at, 1);
    const res = await this.client.send({
      method: 'DELETE',
      url: `${this.base}/api/v1/files/${file!.id}`,
      headers: this.headers(),
      collect: true,
    });
    this.expect(res, 204, '(delete)');
    this.deleted.push(file!.id);
    if (this.deleted.length > 500) this.deleted.shift();
    return res.status;
  }

  private get(path: string, headers: Record<string, string>, collect: boolean): Promise<Response> {
    return this.client.send({
      method: 'GET',
      url: `${this.base}${path}`,
      headers: this.headers(headers),
      collect,
    });
  }
}

function problemCode(res: Response): string {
  try {
    return String((JSON.parse(res.body.toString('utf8')) as { code?: unknown }).code ?? '');
  } catch {
    return '';
  }
}
