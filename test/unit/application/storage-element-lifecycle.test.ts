import { MemoryStateStore } from '../../../src/adapters/memory/memory-state-store';
import { ApplicationError } from '../../../src/application/errors';
import { sidecarKeyFor } from '../../../src/domain/document/blob-key';
import { DomainError } from '../../../src/domain/errors';
import type { Retention } from '../../../src/domain/retention/retention';
import { aDraft, T0 } from '../../support/builders';
import { aMemoryElement, aStartedElement, readAll, source } from '../../support/fakes';

const CONTENT = Buffer.from('0123456789');
const DAY = 24 * 60 * 60 * 1000;
const permanent = (retainUntil: Date | null, legalHold = false): Retention => ({
  policy: 'permanent',
  retainUntil,
  legalHold,
});

describe('StorageElementService.delete', () => {
  it('deletes a temporary file on an edit SE: blob, sidecar and row', async () => {
    const element = await aStartedElement({ mode: 'edit' });
    const file = await element.service.put(aDraft(), source(CONTENT), { size: CONTENT.length });
    await element.service.delete(file.fileId);
    expect([...element.blobs.objects.keys()]).toEqual([]);
    expect(await element.index.get('se-1', file.fileId)).toBeNull();
    expect(await element.wal.unfinished()).toEqual([]);
    expect((await element.service.info()).fileCount).toBe(0);
    await expect(element.service.head(file.fileId)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it.each<[string, string | null, Retention]>([
    ['retain_until in the future', 'retention_active', permanent(new Date(T0.getTime() + DAY))],
    ['a legal hold', 'legal_hold_active', permanent(null, true)],
    ['no retain_until', null, permanent(null)],
  ])('on rw, a permanent file with %s: refused with %s', async (_label, refusal, retention) => {
    const element = await aStartedElement({ mode: 'rw' });
    const file = await element.service.put(aDraft({ retention }), source(CONTENT), { size: 10 });
    const deletion = element.service.delete(file.fileId);
    if (refusal === null) {
      await expect(deletion).resolves.toBeUndefined();
      expect(element.blobs.objects.size).toBe(0);
    } else {
      await expect(deletion).rejects.toThrow(DomainError);
      await expect(deletion).rejects.toMatchObject({ code: refusal });
      expect(await element.service.head(file.fileId)).toEqual(file);
      expect(element.blobs.objects.get(file.stored.key)).toEqual(CONTENT);
      expect(element.codec.decode(element.blobs.objects.get(sidecarKeyFor(file.stored.key))!)).toEqual(file);
    }
  });

  it('deletes once retain_until has passed', async () => {
    const element = await aStartedElement({ mode: 'rw' });
    const retention = permanent(new Date(T0.getTime() + DAY));
    const file = await element.service.put(aDraft({ retention }), source(CONTENT), { size: 10 });
    element.clock.advance(DAY);
    await expect(element.service.delete(file.fileId)).resolves.toBeUndefined();
  });

  it('reports an unknown file as file_not_found', async () => {
    const element = await aStartedElement();
    await expect(element.service.delete('0195f3a2-0000-7000-8000-000000000000')).rejects.toMatchObject({
      code: 'file_not_found',
    });
  });
});

describe('StorageElementService.open', () => {
  it.each([
    [{ start: 0, end: 9 }, '0123456789'],
    [{ start: 2, end: 4 }, '234'],
    [{ start: 9, end: 9 }, '9'],
  ])('serves the range %j', async (range, expected) => {
    const element = await aStartedElement();
    const file = await element.service.put(aDraft(), source(CONTENT), { size: 10 });
    const opened = await element.service.open(file.fileId, range);
    expect(opened).toMatchObject({ size: 10, sha256: file.sha256, range });
    expect((await readAll(opened.stream)).toString()).toBe(expected);
  });

  it.each([
    { start: 0, end: 10 },
    { start: 10, end: 12 },
    { start: 5, end: 4 },
    { start: -1, end: 3 },
  ])('refuses the range %j with range_not_satisfiable', async (range) => {
    const element = await aStartedElement();
    const file = await element.service.put(aDraft(), source(CONTENT), { size: 10 });
    const opening = element.service.open(file.fileId, range);
    await expect(opening).rejects.toThrow(ApplicationError);
    await expect(opening).rejects.toMatchObject({ code: 'range_not_satisfiable' });
  });

  it('reports missing content as storage_unavailable', async () => {
    const element = await aStartedElement();
    const file = await element.service.put(aDraft(), source(CONTENT), { size: 10 });
    element.blobs.objects.delete(file.stored.key);
    await expect(element.service.open(file.fileId)).rejects.toMatchObject({ code: 'storage_unavailable' });
  });
});

describe('StorageElementService.rebuild', () => {
  it('re-creates rows from sidecars and removes rows without sidecars', async () => {
    const element = await aStartedElement();
    const a = await element.service.put(aDraft(), source('aaa'), { size: 3 });
    const b = await element.service.put(aDraft(), source('bbbb'), { size: 4 });
    const ghost = { ...a, fileId: '0195f3a2-0000-7000-8000-00000000beef' };
    await element.index.clear('se-1');
    await element.index.upsert('se-1', ghost);
    element.blobs.objects.set('2026/03/01/torn_x.attr.json', Buffer.from('{"schema_'));

    const report = await element.service.rebuild();

    expect(report).toMatchObject({ scanned: 3, indexed: 2, removed: 1 });
    expect(report.problems).toEqual([{ key: '2026/03/01/torn_x.attr.json', problem: expect.any(String) }]);
    expect(await element.index.get('se-1', a.fileId)).toEqual(a);
    expect(await element.index.get('se-1', b.fileId)).toEqual(b);
    expect(await element.index.get('se-1', ghost.fileId)).toBeNull();
    expect((await element.service.info()).fileCount).toBe(2);
  });
});

describe('StorageElementService.start', () => {
  it('keeps the mode it finds in the state store over the configured one', async () => {
    const state = new MemoryStateStore({ mode: 'ro' });
    const element = await aStartedElement({ mode: 'rw', state });
    expect(element.service.currentMode()).toBe('ro');
  });

  it('saves the configured mode on first start', async () => {
    const element = await aStartedElement({ mode: 'rw' });
    expect(await element.state.load()).toEqual({ mode: 'rw' });
  });

  it('counts the files already in the index', async () => {
    const first = await aStartedElement();
    await first.service.put(aDraft(), source(CONTENT), { size: 10 });
    const again = aMemoryElement({ blobs: first.blobs, index: first.index, state: first.state });
    await again.service.start();
    expect((await again.service.info()).fileCount).toBe(1);
  });
});
