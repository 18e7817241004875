import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientToken, createAccount } from '../support/auth';
import { eventually } from '../support/poll';
import { expectProblem, json, rawUpload } from '../support/http';

export interface MetadataTopology {
  readonly ingester: string;
  readonly query: string;
  readonly admin: string;
  /** Where the storage elements keep their blobs and sidecars (searched for `*.attr.json`). */
  readonly storageDir: string;
  stop(): Promise<void>;
}

interface Doc {
  file_id: string;
  name: string;
  description: string | null;
  tags: string[];
  metadata: Record<string, string>;
  retention_policy: string;
  retain_until: string | null;
  legal_hold: boolean;
  attr_version: number;
  updated_at: string;
}

interface AuditItem {
  action: string;
  outcome: string;
  target: string | null;
  actor: { kind: string; subject: string };
  details: Record<string, unknown>;
}

const YEAR = 365 * 24 * 60 * 60 * 1000;

async function findSidecar(dir: string, fileId: string): Promise<string | null> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.attr.json') && entry.name.includes(fileId))
      return join(entry.parentPath, entry.name);
  }
  return null;
}

/**
 * Issue 5 metadata updates, the same in every topology: PATCH of description, tags and metadata
 * (to every copy's sidecar, then the catalog), If-Match, limits, grants, legal hold and retention
 * extension with their audit entries, and the mode rules.
 */
export function describeMetadataUpdates(name: string, start: () => Promise<MetadataTopology>): void {
  describe(`metadata updates and legal hold (${name})`, () => {
    let t: MetadataTopology;
    const word = `patchable${randomBytes(4).toString('hex')}`;
    let temporary: Doc;
    let permanent: Doc;

    const patch = (
      fileId: string,
      body: unknown,
      headers: Record<string, string> = {},
      base = t.ingester,
    ): Promise<Response> =>
      fetch(`${base}/api/v1/files/${fileId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const hold = (
      fileId: string,
      method: 'PUT' | 'DELETE',
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Response> =>
      fetch(`${t.ingester}/api/v1/files/${fileId}/legal-hold`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const get = async (fileId: string): Promise<Doc> => {
      const response = await fetch(`${t.query}/api/v1/files/${fileId}`);
      expect(response.status).toBe(200);
      return json<Doc>(response);
    };
    /** The query role may cache the catalog entry until the change event reaches it. */
    const settled = (fileId: string, version: number): Promise<Doc> =>
      eventually(
        () => get(fileId),
        (doc) => doc.attr_version === version,
      );
    const sidecar = async (fileId: string): Promise<Record<string, unknown>> => {
      const path = await findSidecar(t.storageDir, fileId);
      if (!path) throw new Error(`no sidecar of ${fileId} under ${t.storageDir}`);
      return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    };
    const audit = async (action: string, target: string): Promise<AuditItem[]> => {
      const query = new URLSearchParams({ action, target }).toString();
      const response = await fetch(`${t.admin}/api/v1/audit?${query}`);
      expect(response.status).toBe(200);
      return (await json<{ items: AuditItem[] }>(response)).items;
    };

    beforeAll(async () => {
      t = await start();
      const up = async (query: Record<string, string>): Promise<Doc> => {
        const response = await rawUpload(t.ingester, Buffer.from(`content of ${query.name}`), query);
        expect(response.status).toBe(201);
        return json<Doc>(response);
      };
      temporary = await up({ name: `${word} draft.txt`, description: 'first draft', tags: 'draft' });
      permanent = await up({ name: `${word} record.txt`, retention_policy: 'permanent' });
    });
    afterAll(async () => {
      await t?.stop();
    });

    it('PATCH changes description, tags and metadata on the sidecar, the catalog and in search', async () => {
      expect(temporary.attr_version).toBe(1);
      const response = await patch(temporary.file_id, {
        description: 'reviewed by legal',
        tags: ['reviewed', 'q1'],
        metadata: { case: 'C-42', owner: 'Анна' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe('"2"');
      const updated = await json<Doc>(response);
      expect(updated).toMatchObject({
        file_id: temporary.file_id,
        description: 'reviewed by legal',
        tags: ['reviewed', 'q1'],
        metadata: { case: 'C-42', owner: 'Анна' },
        attr_version: 2,
      });

      const got = await settled(temporary.file_id, 2);
      expect(got).toEqual(updated);
      const found = await fetch(`${t.query}/api/v1/search?q=${word}%20draft`);
      const hits = (await json<{ items: (Doc & { rank: number; snippet: string })[] }>(found)).items;
      expect(hits.map(({ rank: _rank, snippet: _snippet, ...doc }) => doc)).toEqual([updated]);
      expect(hits[0]?.rank).toBeGreaterThan(0);
      expect(await sidecar(temporary.file_id)).toMatchObject({
        attr_version: 2,
        description: 'reviewed by legal',
        tags: ['reviewed', 'q1'],
        metadata: { case: 'C-42', owner: 'Анна' },
      });
    });

    it('merges metadata key by key: a null value removes the key; other fields stay', async () => {
      const response = await patch(temporary.file_id, { metadata: { owner: null, status: 'final' } });
      expect(response.status).toBe(200);
      expect(await json<Doc>(response)).toMatchObject({
        description: 'reviewed by legal',
        tags: ['reviewed', 'q1'],
        metadata: { case: 'C-42', status: 'final' },
        attr_version: 3,
      });
      expect((await sidecar(temporary.file_id)).metadata).toEqual({ case: 'C-42', status: 'final' });
    });

    it('If-Match on the attr_version: a stale one is 412, the current one applies', async () => {
      const current = await settled(temporary.file_id, 3);
      const fetched = await fetch(`${t.query}/api/v1/files/${temporary.file_id}`);
      expect(fetched.headers.get('etag')).toBe('"3"');
      const stale = await patch(temporary.file_id, { description: 'lost update' }, { 'if-match': '"2"' });
      const problem = await expectProblem(stale, 412, 'attr_version_mismatch');
      expect(problem).toMatchObject({ attr_version: 3 });
      const fresh = await patch(temporary.file_id, { description: null }, { 'if-match': '"3"' });
      expect(fresh.status).toBe(200);
      expect(await json<Doc>(fresh)).toMatchObject({ description: null, attr_version: 4 });
      expect(current.description).toBe('reviewed by legal');
    });

    it('refuses bad patches with 4xx naming the field, and changes nothing', async () => {
      const id = temporary.file_id;
      await expectProblem(await patch(id, {}), 400, 'invalid_request');
      expect(
        (await expectProblem(await patch(id, { description: 'x'.repeat(4097) }), 400, 'description_too_long'))
          .field,
      ).toBe('description');
      const tags = Array.from({ length: 65 }, (_, i) => `t${i}`);
      expect((await expectProblem(await patch(id, { tags }), 400, 'too_many_tags')).field).toBe('tags');
      expect(
        (
          await expectProblem(
            await patch(id, { metadata: { k: 'v'.repeat(4097) } }),
            400,
            'metadata_value_too_long',
          )
        ).field,
      ).toBe('metadata[k]');
      const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`key${i}`, 'v']));
      expect(
        (await expectProblem(await patch(id, { metadata: many }), 400, 'too_many_metadata_entries')).field,
      ).toBe('metadata');
      expect(
        (await expectProblem(await patch(id, { name: 'renamed.txt' }), 400, 'invalid_request')).field,
      ).toBe('name');
      await expectProblem(await patch(id, { legal_hold: true }), 400, 'invalid_request');
      await expectProblem(await patch(id, '{"description": '), 400, 'invalid_json');
      await expectProblem(
        await patch(id, { description: 'x'.repeat(2 * 1024 * 1024) }),
        413,
        'request_too_large',
      );
      expect((await sidecar(id)).attr_version).toBe(4);
    });

    it('answers 404 for an unknown file and for a file outside the caller’s grants', async () => {
      await expectProblem(
        await patch('0195f3a2-0000-7000-8000-000000000000', { description: 'x' }),
        404,
        'file_not_found',
      );
      const other = await clientToken(
        t.admin,
        await createAccount(t.admin, {
          name: `other team ${word}`,
          scopes: ['files:read', 'files:write', 'files:legal_hold'],
          collections: { 'files:read': ['other-*'], 'files:write': ['other-*'] },
        }),
      );
      const authorization = { authorization: `Bearer ${other}` };
      await expectProblem(
        await patch(temporary.file_id, { description: 'x' }, authorization),
        404,
        'file_not_found',
      );
      await expectProblem(
        await hold(permanent.file_id, 'PUT', { reason: 'x' }, authorization),
        404,
        'file_not_found',
      );
    });

    it('needs files:write to PATCH and files:legal_hold for a legal hold (403 without)', async () => {
      const reader = await clientToken(
        t.admin,
        await createAccount(t.admin, { name: `reader ${word}`, scopes: ['files:read'] }),
      );
      const writer = await clientToken(
        t.admin,
        await createAccount(t.admin, { name: `writer ${word}`, scopes: ['files:read', 'files:write'] }),
      );
      await expectProblem(
        await patch(temporary.file_id, { description: 'x' }, { authorization: `Bearer ${reader}` }),
        403,
        'forbidden',
      );
      const refused = await hold(
        permanent.file_id,
        'PUT',
        { reason: 'x' },
        { authorization: `Bearer ${writer}` },
      );
      expect(refused.headers.get('www-authenticate')).toContain('scope="files:legal_hold"');
      await expectProblem(refused, 403, 'forbidden');
      expect((await get(permanent.file_id)).legal_hold).toBe(false);
    });

    it('sets and clears a legal hold with a reason, on the sidecar and in the audit log', async () => {
      const id = permanent.file_id;
      await expectProblem(await hold(id, 'PUT', {}), 400, 'invalid_request');
      await expectProblem(await hold(id, 'PUT', { reason: 'x'.repeat(1025) }), 400, 'invalid_request');

      const set = await hold(id, 'PUT', { reason: 'litigation hold 2026-17' });
      expect(set.status).toBe(200);
      expect(set.headers.get('etag')).toBe('"2"');
      expect(await json<Doc>(set)).toMatchObject({ legal_hold: true, attr_version: 2 });
      expect((await settled(id, 2)).legal_hold).toBe(true);
      expect((await sidecar(id)).retention).toMatchObject({ policy: 'permanent', legal_hold: true });
      const setEntries = await audit('file.legal_hold_set', id);
      expect(setEntries).toEqual([
        expect.objectContaining({
          outcome: 'success',
          target: id,
          actor: expect.objectContaining({ kind: 'service' }),
          details: expect.objectContaining({ reason: 'litigation hold 2026-17', changed: true }),
        }),
      ]);

      const cleared = await hold(id, 'DELETE', { reason: 'case closed' });
      expect(cleared.status).toBe(200);
      expect(await json<Doc>(cleared)).toMatchObject({ legal_hold: false, attr_version: 3 });
      expect((await sidecar(id)).retention).toMatchObject({ legal_hold: false });
      expect(await audit('file.legal_hold_cleared', id)).toEqual([
        expect.objectContaining({
          outcome: 'success',
          details: expect.objectContaining({ reason: 'case closed' }),
        }),
      ]);
      // Clearing again needs no body and changes nothing.
      const again = await hold(id, 'DELETE');
      expect(again.status).toBe(200);
      expect(await json<Doc>(again)).toMatchObject({ legal_hold: false, attr_version: 3 });
    });

    it('refuses a legal hold on a temporary file (409 legal_hold_temporary), audited as a failure', async () => {
      await expectProblem(
        await hold(temporary.file_id, 'PUT', { reason: 'too early' }),
        409,
        'legal_hold_temporary',
      );
      expect(await audit('file.legal_hold_set', temporary.file_id)).toEqual([
        expect.objectContaining({
          outcome: 'failure',
          details: expect.objectContaining({ code: 'legal_hold_temporary' }),
        }),
      ]);
    });

    it('extends retain_until, audited; never shortens it (409 retain_until_shortened)', async () => {
      const id = permanent.file_id;
      const until = new Date(Date.now() + 10 * YEAR);
      const extended = await patch(id, { retain_until: until.toISOString() });
      expect(extended.status).toBe(200);
      expect(await json<Doc>(extended)).toMatchObject({ retain_until: until.toISOString(), attr_version: 4 });
      expect(await audit('file.retention_extended', id)).toEqual([
        expect.objectContaining({ details: { from: null, to: until.toISOString() } }),
      ]);
      await expectProblem(
        await patch(id, { retain_until: new Date(until.getTime() - 1000).toISOString() }),
        409,
        'retain_until_shortened',
      );
      await expectProblem(
        await patch(temporary.file_id, { retain_until: until.toISOString() }),
        400,
        'invalid_retention',
      );
      expect((await sidecar(id)).retention).toMatchObject({ retain_until: until.toISOString() });
    });

    it('on a read-only SE: metadata changes are 409 mode_forbids_operation, a legal hold still works', async () => {
      const id = permanent.file_id;
      const ro = await fetch(`${t.admin}/api/v1/storage-elements/rw-1/mode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'ro' }),
      });
      expect(ro.status).toBe(200);
      const refused = await eventually(
        () => patch(id, { tags: ['frozen'] }),
        (response) => response.status !== 200,
      );
      await expectProblem(refused, 409, 'mode_forbids_operation');
      const held = await hold(id, 'PUT', { reason: 'hold on a frozen volume' });
      expect(held.status).toBe(200);
      expect(await json<Doc>(held)).toMatchObject({ legal_hold: true, tags: [], attr_version: 5 });
      expect((await sidecar(id)).retention).toMatchObject({ legal_hold: true });
    });
  });
}
