import { scheduleScrubs } from '../../../src/bootstrap/storage-elements';
import { createLogger } from '../../../src/adapters/telemetry/logger';
import { aDraft } from '../../support/builders';
import { aStartedElement, source } from '../../support/fakes';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

describe('the scrub schedule', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  /** The scrub runs in the background on memory adapters: a few turns of the event loop end it. */
  async function settled(element: Awaited<ReturnType<typeof anElement>>): Promise<void> {
    for (let i = 0; i < 100 && (await element.service.scrubStatus()).state === 'running'; i += 1)
      await new Promise((resolve) => setImmediate(resolve));
    expect((await element.service.scrubStatus()).state).toBe('finished');
  }

  /** A weekly schedule over the one element, the way lifecycle.ts starts it. */
  const weekly = (element: Awaited<ReturnType<typeof anElement>>) =>
    scheduleScrubs([element.service], 7 * DAY, element.fixity, element.clock, createLogger('fatal'));

  async function anElement() {
    const element = await aStartedElement({ mode: 'rw' });
    await element.service.put(aDraft(), source('scrub me'), { size: 8 });
    return element;
  }

  it('scrubs an SE that never was, then not again until the interval has passed since', async () => {
    const element = await anElement();
    const schedule = weekly(element);
    try {
      await jest.advanceTimersByTimeAsync(HOUR);
      await settled(element);
      expect(element.fixity.checks.map((c) => c.trigger)).toEqual(['scrub']);

      element.clock.advance(6 * DAY);
      await jest.advanceTimersByTimeAsync(HOUR);
      expect(element.fixity.checks).toHaveLength(1);

      element.clock.advance(DAY);
      await jest.advanceTimersByTimeAsync(HOUR);
      await settled(element);
      expect(element.fixity.checks.map((c) => c.trigger)).toEqual(['scrub', 'scrub']);
    } finally {
      schedule.stop();
    }
  });

  it('counts a scrub recorded before a restart: a fresh process does not scrub again at once', async () => {
    const element = await anElement();
    await element.fixity.record({
      seId: 'se-1',
      fileId: '0195f3a2-0000-7000-8000-000000000001',
      checkedAt: element.clock.now(),
      ok: true,
      detail: null,
      trigger: 'scrub',
    });
    const schedule = weekly(element);
    try {
      await jest.advanceTimersByTimeAsync(3 * HOUR);
      expect(element.fixity.checks).toHaveLength(1);
      expect((await element.service.scrubStatus()).state).toBe('idle');
    } finally {
      schedule.stop();
    }
  });
});
