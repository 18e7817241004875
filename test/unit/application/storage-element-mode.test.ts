import { MemoryStateStore } from '../../../src/adapters/memory/memory-state-store';
import { DomainError } from '../../../src/domain/errors';
import type { StorageMode } from '../../../src/domain/storage-mode/storage-mode';
import { aDraft } from '../../support/builders';
import { aMemoryElement, aStartedElement, ControlledSource, source } from '../../support/fakes';

const CONTENT = Buffer.from('0123456789');

describe('StorageElementService.changeMode', () => {
  it.each<[StorageMode, StorageMode, boolean, StorageMode | string]>([
    ['rw', 'ro', false, 'ro'],
    ['ro', 'ar', false, 'ar'],
    ['ro', 'rw', true, 'rw'],
    ['ro', 'rw', false, 'confirmation_required'],
    ['rw', 'rw', false, 'rw'],
    ['edit', 'rw', true, 'illegal_mode_transition'],
    ['rw', 'edit', true, 'illegal_mode_transition'],
    ['rw', 'ar', true, 'illegal_mode_transition'],
    ['ar', 'ro', true, 'illegal_mode_transition'],
    ['ar', 'rw', true, 'illegal_mode_transition'],
  ])('%s → %s (confirmed=%s) gives %s', async (from, to, confirmed, outcome) => {
    const state = new MemoryStateStore();
    const element = await aStartedElement({ mode: from, state });
    const change = element.service.changeMode(to, confirmed);
    if (outcome === to) {
      await expect(change).resolves.toMatchObject({ id: 'se-1', mode: to });
      expect(await state.load()).toEqual({ mode: to });
      const restarted = aMemoryElement({ mode: from, state });
      await restarted.service.start();
      expect(restarted.service.currentMode()).toBe(to);
    } else {
      await expect(change).rejects.toThrow(DomainError);
      await expect(change).rejects.toMatchObject({ code: outcome });
      expect(element.service.currentMode()).toBe(from);
      expect(await state.load()).toEqual({ mode: from });
    }
  });

  it('refuses ro → ar when the scrub finds a corrupt file, keeping ro', async () => {
    const element = await aStartedElement({ mode: 'rw' });
    const file = await element.service.put(aDraft(), source(CONTENT), { size: 10 });
    await element.service.changeMode('ro', false);
    element.blobs.objects.set(file.stored.key, Buffer.from('0123456780'));
    await expect(element.service.changeMode('ar', false)).rejects.toMatchObject({ code: 'conflict' });
    expect(element.service.currentMode()).toBe('ro');
    expect(await element.state.load()).toEqual({ mode: 'ro' });
  });

  it('passes ro → ar when every file matches its sidecar', async () => {
    const element = await aStartedElement({ mode: 'rw' });
    await element.service.put(aDraft(), source(CONTENT), { size: 10 });
    await element.service.changeMode('ro', false);
    await expect(element.service.changeMode('ar', false)).resolves.toMatchObject({ mode: 'ar' });
  });

  it('rw → ro waits for an in-flight put, and refuses a put started while draining', async () => {
    const element = await aStartedElement({ mode: 'rw' });
    const events: string[] = [];
    const inFlight = new ControlledSource();
    const put = element.service.put(aDraft(), inFlight.stream, { size: 10 });
    const stored = put.then((file) => {
      events.push('put stored');
      return file;
    });
    await inFlight.reading;
    inFlight.push('01234');

    const change = element.service.changeMode('ro', false).then((info) => {
      events.push(`mode ${info.mode}`);
      return info;
    });
    const late = source(CONTENT);
    const refused = element.service.put(aDraft(), late, { size: 10 });
    await expect(refused).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect(late.readableDidRead).toBe(false);
    expect(events).toEqual([]);
    expect(element.service.currentMode()).toBe('rw');

    inFlight.end('56789');
    const file = await stored;
    await expect(change).resolves.toMatchObject({ mode: 'ro' });
    expect(events).toEqual(['put stored', 'mode ro']);
    expect(await element.service.head(file.fileId)).toEqual(file);
    await expect(element.service.put(aDraft(), source(CONTENT), { size: 10 })).rejects.toMatchObject({
      code: 'mode_forbids_operation',
    });
  });

  it('rw → ro requested in the same turn as a put either waits for it or refuses it', async () => {
    const element = await aStartedElement({ mode: 'rw' });
    const events: string[] = [];
    const put = element.service.put(aDraft(), source(CONTENT), { size: 10 }).then(
      () => events.push('put stored'),
      (error: { code?: string }) => events.push(`put refused ${error.code}`),
    );
    const change = element.service.changeMode('ro', false).then((info) => events.push(`mode ${info.mode}`));
    await Promise.all([put, change]);
    // Never a file written to an SE that already reported itself read-only.
    expect(events[events.length - 1]).toBe('mode ro');
  });
});
