import { randomBytes } from 'node:crypto';
import { download, expectProblem, json, multipartUpload, rawUpload, sha256Hex } from '../support/http';

export interface Topology {
  readonly ingester: string;
  readonly query: string;
  readonly admin: string;
  /** Storage elements reach "within seconds" consistency via heartbeats/events; nothing else to wait for. */
  stop(): Promise<void>;
}

interface Uploaded {
  file_id: string;
  name: string;
  size: number;
  sha256: string;
  retention_policy: string;
  expires_at: string | null;
  ttl_days: number | null;
  collection: string;
  tags: string[];
  content_type: string;
}

/**
 * The first user story of issue 2, the same in every topology:
 * upload → find → download → range → set the rw SE to ro → permanent upload refused.
 */
export function describeStory(name: string, start: () => Promise<Topology>): void {
  describe(`upload → search → download story (${name})`, () => {
    let t: Topology;
    const permanent = randomBytes(300_000);
    const temporary = randomBytes(70_001);
    const uniqueWord = `quarterly${randomBytes(4).toString('hex')}`;
    let permanentFile: Uploaded;
    let temporaryFile: Uploaded;

    beforeAll(async () => {
      t = await start();
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('uploads a permanent document as a raw body with a client digest', async () => {
      const response = await rawUpload(
        t.ingester,
        permanent,
        { name: `Отчёт ${uniqueWord} 2026.pdf`, retention_policy: 'permanent', tags: 'finance,q1' },
        {
          'content-type': 'application/pdf',
          'content-digest': `sha-256=:${Buffer.from(sha256Hex(permanent), 'hex').toString('base64')}:`,
        },
      );
      expect(response.status).toBe(201);
      permanentFile = await json<Uploaded>(response);
      expect(response.headers.get('location')).toBe(`/api/v1/files/${permanentFile.file_id}`);
      expect(permanentFile).toMatchObject({
        name: `Отчёт ${uniqueWord} 2026.pdf`,
        size: permanent.length,
        sha256: sha256Hex(permanent),
        retention_policy: 'permanent',
        expires_at: null,
        content_type: 'application/pdf',
        tags: ['finance', 'q1'],
        collection: 'default',
      });
    });

    it('uploads a temporary document as multipart with TTL, expiring ttl days later', async () => {
      const response = await multipartUpload(t.ingester, temporary, `draft-${uniqueWord}.docx`, {
        retention_policy: 'temporary',
        ttl_days: '7',
        description: 'working draft',
      });
      expect(response.status).toBe(201);
      temporaryFile = await json<Uploaded>(response);
      expect(temporaryFile).toMatchObject({
        size: temporary.length,
        sha256: sha256Hex(temporary),
        retention_policy: 'temporary',
        ttl_days: 7,
      });
      const uploadedAt = Date.parse((temporaryFile as unknown as { uploaded_at: string }).uploaded_at);
      expect(Date.parse(temporaryFile.expires_at!)).toBe(uploadedAt + 7 * 86_400_000);
    });

    it('returns metadata by id from the query role', async () => {
      const response = await fetch(`${t.query}/api/v1/files/${permanentFile.file_id}`);
      expect(response.status).toBe(200);
      expect(await json(response)).toEqual(
        expect.objectContaining({
          file_id: permanentFile.file_id,
          sha256: permanentFile.sha256,
          status: 'active',
        }),
      );
    });

    it('finds both documents by a word of their names', async () => {
      const response = await fetch(`${t.query}/api/v1/search?q=${uniqueWord}`);
      expect(response.status).toBe(200);
      const page = await json<{ items: Uploaded[]; next_cursor: string | null }>(response);
      expect(page.items.map((f) => f.file_id).sort()).toEqual(
        [permanentFile.file_id, temporaryFile.file_id].sort(),
      );
    });

    it('downloads byte-identical content with ETag, Repr-Digest and a UTF-8 Content-Disposition', async () => {
      const { response, body } = await download(t.query, permanentFile.file_id);
      expect(response.status).toBe(200);
      expect(body.equals(permanent)).toBe(true);
      expect(response.headers.get('etag')).toBe(`"${permanentFile.sha256}"`);
      expect(response.headers.get('content-length')).toBe(String(permanent.length));
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('repr-digest')).toBe(
        `sha-256=:${Buffer.from(permanentFile.sha256, 'hex').toString('base64')}:`,
      );
      expect(response.headers.get('content-disposition')).toContain(
        `filename*=UTF-8''${encodeURIComponent('Отчёт')}`,
      );
      const temp = await download(t.query, temporaryFile.file_id);
      expect(temp.body.equals(temporary)).toBe(true);
    });

    it('serves ranges (206), answers unsatisfiable ranges with 416 and a matching ETag with 304', async () => {
      const middle = await download(t.query, permanentFile.file_id, { range: 'bytes=1000-1999' });
      expect(middle.response.status).toBe(206);
      expect(middle.response.headers.get('content-range')).toBe(`bytes 1000-1999/${permanent.length}`);
      expect(middle.body.equals(permanent.subarray(1000, 2000))).toBe(true);
      const suffix = await download(t.query, permanentFile.file_id, { range: 'bytes=-10' });
      expect(suffix.body.equals(permanent.subarray(permanent.length - 10))).toBe(true);
      const past = await fetch(`${t.query}/api/v1/files/${permanentFile.file_id}/content`, {
        headers: { range: `bytes=${permanent.length}-` },
      });
      expect(past.headers.get('content-range')).toBe(`bytes */${permanent.length}`);
      await expectProblem(past, 416, 'range_not_satisfiable');
      const notModified = await download(t.query, permanentFile.file_id, {
        'if-none-match': `"${permanentFile.sha256}"`,
      });
      expect(notModified.response.status).toBe(304);
      expect(notModified.body.length).toBe(0);
    });

    it('refuses permanent uploads once every rw storage element is read-only, still takes temporary ones', async () => {
      const listed = await json<{ items: { id: string; mode: string }[] }>(
        await fetch(`${t.admin}/api/v1/storage-elements`),
      );
      const writable = listed.items.filter((se) => se.mode === 'rw').map((se) => se.id);
      expect(writable).toContain('rw-1');
      for (const id of writable) {
        const change = await fetch(`${t.admin}/api/v1/storage-elements/${id}/mode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ mode: 'ro' }),
        });
        expect(change.status).toBe(200);
        expect(await json(change)).toMatchObject({ id, mode: 'ro' });
      }
      const refused = await rawUpload(t.ingester, Buffer.from('late'), {
        name: 'late.txt',
        retention_policy: 'permanent',
      });
      await expectProblem(refused, 507, 'no_writable_storage');
      const accepted = await rawUpload(t.ingester, Buffer.from('still fine'), { name: 'fine.txt' });
      expect(accepted.status).toBe(201);
      // Reads keep working on the read-only element.
      const { body } = await download(t.query, permanentFile.file_id);
      expect(body.equals(permanent)).toBe(true);
    });

    it('refuses an illegal mode change with 409', async () => {
      const illegal = await fetch(`${t.admin}/api/v1/storage-elements/edit-1/mode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'ro' }),
      });
      await expectProblem(illegal, 409, 'illegal_mode_transition');
      const unconfirmed = await fetch(`${t.admin}/api/v1/storage-elements/rw-1/mode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'rw' }),
      });
      await expectProblem(unconfirmed, 409, 'confirmation_required');
    });
  });
}
