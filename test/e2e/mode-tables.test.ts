import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, startServe, type ArtStoreProcess } from '../support/artstore-process';
import { anonymousFetch, internalToken } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { download, expectProblem, json, rawUpload } from '../support/http';
import { startSplit, type SplitDeployment } from '../support/split';
import { until } from '../support/poll';

afterAll(killAll);

type Mode = 'edit' | 'rw' | 'ro' | 'ar';
const MODES: readonly Mode[] = ['edit', 'rw', 'ro', 'ar'];

/**
 * ARCHITECTURE §3.3, written out here rather than imported from the domain, so the code is
 * checked against the specification and not against itself. `ar` serves content only after a
 * restore (test/e2e/archive-restore.test.ts); none is requested here: its content is refused.
 */
const OPERATIONS: Readonly<
  Record<Mode, { create: boolean; read: boolean; delete: 'yes' | 'after_retention' }>
> = {
  edit: { create: true, read: true, delete: 'yes' },
  rw: { create: true, read: true, delete: 'after_retention' },
  ro: { create: false, read: true, delete: 'after_retention' },
  ar: { create: false, read: false, delete: 'after_retention' },
};

type Outcome = 'noop' | 'changed' | 'illegal_mode_transition' | 'confirmation_required';

/** §3.3 transitions: `rw → ro → ar` forward, `ro → rw` only when confirmed, `edit` alone, `ar` terminal. */
function transitionOutcome(from: Mode, to: Mode, confirm: boolean): Outcome {
  if (from === to) return 'noop';
  if ((from === 'rw' && to === 'ro') || (from === 'ro' && to === 'ar')) return 'changed';
  if (from === 'ro' && to === 'rw') return confirm ? 'changed' : 'confirmation_required';
  return 'illegal_mode_transition';
}

/** One SE per row of the operation table; each is loaded with files while it is the only `rw` one. */
const SE: Readonly<Record<Mode, string>> = { edit: 'se-edit', rw: 'se-rw', ro: 'se-ro', ar: 'se-ar' };

/**
 * ARTSTORE_SE_MODE on first start. Only se-rw is rw, so the first permanent files land on it. No
 * SE starts in a mode a matrix transition moves it to (se-rw: rw → ro, then ro → ar; se-ro: ro →
 * rw), so a restart that lost the transition cannot pass for one that kept it.
 */
const INITIAL: Readonly<Record<string, Mode>> = {
  [SE.edit]: 'edit',
  [SE.rw]: 'rw',
  [SE.ro]: 'ro',
  [SE.ar]: 'ro',
};

/**
 * The 4×4 transition matrix, row by row. A row takes the first SE (in `SE` order) that is in its
 * `from` mode when it runs; moves that change the mode come last in their row, so the refused and
 * idempotent ones find the SE still in `from`. `rw` runs before `ro`: se-rw, once ro, gives the
 * `ro` row a second SE, so both `ro → ar` (se-rw) and `ro → rw` (se-ro) can happen.
 */
const FROM_ORDER: readonly Mode[] = ['edit', 'ar', 'rw', 'ro'];
const TO_ORDER: readonly Mode[] = ['ar', 'ro', 'rw', 'edit'];
const CELLS = FROM_ORDER.flatMap((from) =>
  TO_ORDER.map((to) => ({ from, to, changes: transitionOutcome(from, to, true) === 'changed' })),
).sort(
  (a, b) => FROM_ORDER.indexOf(a.from) - FROM_ORDER.indexOf(b.from) || Number(a.changes) - Number(b.changes),
);

interface Stored {
  readonly fileId: string;
  readonly content: Buffer;
  /** Permanent files: until when the SE must refuse to delete it. */
  readonly retainUntil: Date | null;
}

interface AuditEntry {
  seq: number;
  target: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

/** The ARTSTORE_* environment startSplit gave a process (Linux /proc), to start it again alike. */
async function artstoreEnvironmentOf(proc: ArtStoreProcess): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${proc.pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter((entry) => entry.startsWith('ARTSTORE_'))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

describe('storage-element mode tables of §3.3 over HTTP (split: admin, ingester, query, four storage processes)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let split: SplitDeployment;
  /** The current process of each SE (restarts replace them). */
  const storage = new Map<string, ArtStoreProcess>();
  /** The mode each SE should be in now, as the test has driven it. */
  const modes = new Map<string, Mode>();
  /** Per SE: a file retained until 2099, and one whose retention ends seconds after upload. */
  const held = new Map<string, Stored>();
  const ending = new Map<string, Stored>();
  let temporary: Stored;
  let internal: string;

  const changeMode = (se: string, mode: Mode, confirm?: boolean): Promise<Response> =>
    fetch(`${split.admin.url}/api/v1/storage-elements/${se}/mode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(confirm === undefined ? { mode } : { mode, confirm }),
    });

  /** The storage role's own internal API, with a role token (`storage:*`). */
  const internalApi = (se: string, path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${internal}`);
    return anonymousFetch(`${storage.get(se)!.url}/internal/v1/storage-elements/${se}${path}`, {
      ...init,
      headers,
    });
  };

  const seInfo = async (se: string): Promise<{ mode: string }> => {
    const response = await internalApi(se, '/info');
    expect(response.status).toBe(200);
    return json<{ mode: string }>(response);
  };

  const registry = async (): Promise<{ id: string; mode: string; last_seen_at: string }[]> => {
    const response = await fetch(`${split.admin.url}/api/v1/storage-elements`);
    expect(response.status).toBe(200);
    return (await json<{ items: { id: string; mode: string; last_seen_at: string }[] }>(response)).items;
  };

  /** Waits until the registry the other roles place and read by shows `se` in `mode`. */
  const registryShows = (se: string, mode: Mode, seenAfter = 0): Promise<true> =>
    until(
      `the registry to show ${se} in mode ${mode}`,
      async () => {
        const entry = (await registry()).find((e) => e.id === se);
        return entry?.mode === mode && Date.parse(entry.last_seen_at) > seenAfter ? true : undefined;
      },
      5_000,
    );

  const modeChanges = async (se: string): Promise<AuditEntry[]> => {
    const response = await fetch(
      `${split.admin.url}/api/v1/audit?action=storage_element.mode_changed&outcome=success&target=${se}&limit=100`,
    );
    expect(response.status).toBe(200);
    return (await json<{ items: AuditEntry[] }>(response)).items;
  };

  /** Which SEs hold a file, asked of every storage process. */
  const holders = async (fileId: string): Promise<string[]> => {
    const found: string[] = [];
    for (const se of storage.keys()) {
      const response = await internalApi(se, `/files/${fileId}`);
      if (response.status === 200) found.push(se);
      else await expectProblem(response, 404, 'file_not_found');
    }
    return found;
  };

  const upload = (
    policy: 'temporary' | 'permanent',
    content: Buffer,
    retainUntil?: Date,
  ): Promise<Response> =>
    rawUpload(split.ingester.url, content, {
      name: `mode-table-${randomBytes(4).toString('hex')}.bin`,
      retention_policy: policy,
      ...(retainUntil ? { retain_until: retainUntil.toISOString() } : {}),
    });

  /** Uploads until the ingester places the file (its view of the registry may lag by a heartbeat). */
  const uploadWhenPlaced = async (
    policy: 'temporary' | 'permanent',
    retainUntil: Date | null,
  ): Promise<Stored> => {
    const content = randomBytes(2_048);
    const response = await until(`the ingester to place a ${policy} file`, async () => {
      const answer = await upload(policy, content, retainUntil ?? undefined);
      if (answer.status === 201) return answer;
      await expectProblem(answer, 507, 'no_writable_storage');
      return undefined;
    });
    return { fileId: (await json<{ file_id: string }>(response)).file_id, content, retainUntil };
  };

  /** Puts a held and an ending permanent file on `se`, which must be the only `rw` SE. */
  const loadPermanent = async (se: string): Promise<void> => {
    for (const [target, retainUntil] of [
      [held, new Date('2099-01-01T00:00:00Z')],
      [ending, new Date(Date.now() + 3_000)],
    ] as const) {
      const file = await uploadWhenPlaced('permanent', retainUntil);
      expect(await holders(file.fileId)).toEqual([se]);
      target.set(se, file);
    }
  };

  const expectModeAnswer = async (response: Response, se: string, mode: Mode): Promise<void> => {
    const text = await response.text();
    if (response.status !== 200) throw new Error(`mode change of ${se} answered ${response.status}: ${text}`);
    expect(JSON.parse(text)).toMatchObject({ id: se, mode });
  };

  /** Setup moves (themselves transitions of the table) that must succeed. */
  const move = async (se: string, mode: Mode, confirm?: boolean): Promise<void> => {
    await expectModeAnswer(await changeMode(se, mode, confirm), se, mode);
    modes.set(se, mode);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'artstore-e2e-modes-'));
    split = await startSplit({
      databaseUrl: db.url,
      dataDir,
      storageElements: Object.entries(INITIAL).map(([id, mode]) => ({ id, mode })),
    });
    for (const [id, proc] of split.storage) storage.set(id, proc);
    for (const [id, mode] of Object.entries(INITIAL)) modes.set(id, mode);
    internal = await internalToken(split.admin.url);

    // Each SE that takes permanent files is loaded while it is the only rw one, then moved on.
    await loadPermanent(SE.rw);
    await move(SE.rw, 'ro');
    await move(SE.ar, 'rw', true);
    await loadPermanent(SE.ar);
    await move(SE.ar, 'ro');
    await move(SE.ar, 'ar');
    await move(SE.ro, 'rw', true);
    await loadPermanent(SE.ro);
    await move(SE.ro, 'ro');
    await move(SE.rw, 'rw', true);
    temporary = await uploadWhenPlaced('temporary', null);
    expect(await holders(temporary.fileId)).toEqual([SE.edit]);
    for (const mode of MODES) await registryShows(SE[mode], mode);
  });

  afterAll(async () => {
    const codes = await Promise.all(
      [split.admin, split.ingester, split.query, ...storage.values()].map((p) => p.stop()),
    );
    expect(codes).toEqual(codes.map(() => 0));
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('mode × operation', () => {
    it.each(MODES)('create on %s: placed there by the ingester, or refused by the SE', async (mode) => {
      const se = SE[mode];
      const { fileId } = await uploadWhenPlaced(mode === 'edit' ? 'temporary' : 'permanent', null);
      if (OPERATIONS[mode].create) {
        expect(await holders(fileId)).toEqual([se]);
      } else {
        // The ingester passes it by for the rw SE; the SE itself refuses before reading a byte.
        expect(await holders(fileId)).toEqual([SE.rw]);
        const direct = await internalApi(se, `/files/${randomUUID()}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'artstore-content-length': '1' },
          body: 'x',
        });
        await expectProblem(direct, 409, 'mode_forbids_operation');
      }
    });

    const fileOn = (mode: Mode): Stored => (mode === 'edit' ? temporary : held.get(SE[mode])!);

    it.each(MODES)('read metadata of a file on %s through the query role', async (mode) => {
      const response = await fetch(`${split.query.url}/api/v1/files/${fileOn(mode).fileId}`);
      expect(response.status).toBe(200);
      expect(await json(response)).toMatchObject({ file_id: fileOn(mode).fileId, status: 'active' });
    });

    it.each(MODES.filter((m) => OPERATIONS[m].read))(
      'read content of a file on %s through the query role',
      async (mode) => {
        const { response, body } = await download(split.query.url, fileOn(mode).fileId);
        expect(response.status).toBe(200);
        expect(body.equals(fileOn(mode).content)).toBe(true);
      },
    );

    it.each(MODES.filter((m) => !OPERATIONS[m].read))(
      'refuses content of a file on %s with a 4xx problem (no restore exists yet)',
      async (mode) => {
        const response = await fetch(`${split.query.url}/api/v1/files/${fileOn(mode).fileId}/content`);
        await expectProblem(response, 409, 'restore_required');
        // The SE itself refuses the download too; only a restore job may read it (?purpose=restore).
        const direct = await internalApi(SE[mode], `/files/${fileOn(mode).fileId}/content`);
        await expectProblem(direct, 409, 'mode_forbids_operation');
      },
    );

    it.each(MODES)('delete a file on %s, before and after its retention ends', async (mode) => {
      const se = SE[mode];
      const remove = (file: Stored) => internalApi(se, `/files/${file.fileId}`, { method: 'DELETE' });
      if (OPERATIONS[mode].delete === 'yes') {
        // A temporary file, long before its TTL ends.
        expect((await remove(temporary)).status).toBe(204);
        expect(await holders(temporary.fileId)).toEqual([]);
        return;
      }
      const kept = held.get(se)!;
      await expectProblem(await remove(kept), 409, 'retention_active');
      expect(await holders(kept.fileId)).toEqual([se]);
      const ended = ending.get(se)!;
      await until('the retention of the ending file to pass', async () =>
        Date.now() > ended.retainUntil!.getTime() ? true : undefined,
      );
      expect((await remove(ended)).status).toBe(204);
      expect(await holders(ended.fileId)).toEqual([]);
    });
  });

  describe('mode transitions', () => {
    /** The first SE, in `SE` order, that is in `mode` now. */
    const subjectIn = (mode: Mode): string => {
      const found = Object.values(SE).find((se) => modes.get(se) === mode);
      if (!found) throw new Error(`no storage element is in mode ${mode}`);
      return found;
    };

    /**
     * Stops the SE's process and starts it as before, on the same port so that the other roles'
     * cached URL of it stays right.
     */
    const restart = async (se: string): Promise<number> => {
      const old = storage.get(se)!;
      const env = await artstoreEnvironmentOf(old);
      expect(await old.stop()).toBe(0);
      const restartedAt = Date.now();
      storage.set(
        se,
        await startServe(
          ['--role', 'storage', '--data-dir', join(dataDir, se), '--port', new URL(old.url).port],
          env,
        ),
      );
      return restartedAt;
    };

    /** What the other roles do with an SE that has just changed mode; no other SE is rw then. */
    const checkRolesSee = async (se: string, to: Mode): Promise<void> => {
      expect([...modes].filter(([id, m]) => id !== se && m === 'rw')).toEqual([]);
      if (to === 'rw') {
        // The ingester finds it again.
        const file = await uploadWhenPlaced('permanent', null);
        expect(await holders(file.fileId)).toEqual([se]);
      } else {
        // It takes no permanent file, even where the ingester's view still lags.
        await expectProblem(await upload('permanent', randomBytes(100)), 507, 'no_writable_storage');
      }
      if (to === 'ar') {
        // The query role no longer serves its content (the exact answer is pinned in the operation table).
        const { response } = await download(split.query.url, held.get(se)!.fileId);
        expect(response.status).not.toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/u);
      }
    };

    it.each(CELLS)('$from → $to', async ({ from, to }) => {
      const se = subjectIn(from);
      // Without `confirm` first, then with it, unless the first attempt already moved the SE.
      for (const confirm of [undefined, true]) {
        const outcome = transitionOutcome(from, to, confirm === true);
        const auditBefore = (await modeChanges(se)).length;
        const response = await changeMode(se, to, confirm);
        const now = outcome === 'changed' ? to : from;
        if (outcome === 'noop' || outcome === 'changed') await expectModeAnswer(response, se, now);
        else await expectProblem(response, 409, outcome);
        modes.set(se, now);
        expect((await seInfo(se)).mode).toBe(now);
        await registryShows(se, now);
        const audit = await modeChanges(se);
        if (outcome !== 'changed') {
          if (outcome !== 'noop') expect(audit.length).toBe(auditBefore);
          continue;
        }
        expect(audit.length).toBe(auditBefore + 1);
        expect(audit[0]).toMatchObject({
          outcome: 'success',
          details: { mode: to, confirmed: confirm === true },
        });
        expect(INITIAL[se]).not.toBe(to);
        const restartedAt = await restart(se);
        expect((await seInfo(se)).mode).toBe(to);
        await registryShows(se, to, restartedAt);
        await checkRolesSee(se, to);
        break;
      }
    });

    it('leaves every SE where the table says', async () => {
      expect(Object.fromEntries(await registry().then((r) => r.map((e) => [e.id, e.mode])))).toEqual(
        Object.fromEntries(modes),
      );
    });
  });
});
