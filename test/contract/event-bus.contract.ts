import type { EventBus, Events } from '../../src/application/ports/event-bus';
import { Recorder } from '../support/recorder';

export interface EventBusHarness {
  readonly bus: EventBus;
  /** Another bus on the same medium, as another process would hold (in memory: the same bus). */
  peer(): Promise<EventBus>;
  cleanup(): Promise<void>;
}

type FileChanged = Events['file.changed'];
type SeChanged = Events['storage_element.changed'];

/**
 * The behaviour every EventBus adapter must have. Absence of a delivery is proven by ordering: a
 * later event to a still-subscribed handler travels the same path, so once it has arrived an
 * earlier wrong delivery would have arrived too.
 */
export function describeEventBusContract(name: string, open: () => Promise<EventBusHarness>): void {
  describe(`EventBus contract: ${name}`, () => {
    let h: EventBusHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('delivers an event to every subscriber of its topic and to no other topic', async () => {
      const first = new Recorder<FileChanged>();
      const second = new Recorder<FileChanged>();
      const other = new Recorder<SeChanged>();
      await h.bus.subscribe('file.changed', first.handler);
      await h.bus.subscribe('file.changed', second.handler);
      await h.bus.subscribe('storage_element.changed', other.handler);

      await h.bus.publish('file.changed', { fileId: 'f-1' });
      await h.bus.publish('storage_element.changed', { seId: 'se-1' });

      await expect(first.until(1)).resolves.toEqual([{ fileId: 'f-1' }]);
      await expect(second.until(1)).resolves.toEqual([{ fileId: 'f-1' }]);
      await expect(other.until(1)).resolves.toEqual([{ seId: 'se-1' }]);
    });

    it('delivers the events of a topic in the order they were published', async () => {
      const events = Array.from({ length: 25 }, (_, i) => ({ fileId: `f-${i}` }));
      const recorder = new Recorder<FileChanged>();
      await h.bus.subscribe('file.changed', recorder.handler);
      for (const event of events) await h.bus.publish('file.changed', event);
      await expect(recorder.until(events.length)).resolves.toEqual(events);
    });

    it('reaches subscribers of another bus on the same medium', async () => {
      const peer = await h.peer();
      const recorder = new Recorder<SeChanged>();
      await peer.subscribe('storage_element.changed', recorder.handler);
      await h.bus.publish('storage_element.changed', { seId: 'se-7' });
      await expect(recorder.until(1)).resolves.toEqual([{ seId: 'se-7' }]);
    });

    it('stops delivering to an unsubscribed handler while others of its topic still receive', async () => {
      const log: string[] = [];
      const gone = new Recorder<FileChanged>();
      const stays = new Recorder<FileChanged>();
      const unsubscribe = await h.bus.subscribe('file.changed', (p) => {
        log.push(`gone:${p.fileId}`);
        gone.handler(p);
      });
      await h.bus.subscribe('file.changed', (p) => {
        log.push(`stays:${p.fileId}`);
        stays.handler(p);
      });
      await h.bus.publish('file.changed', { fileId: 'f-1' });
      await gone.until(1);
      await stays.until(1);

      await unsubscribe();
      await h.bus.publish('file.changed', { fileId: 'f-2' });
      await h.bus.publish('file.changed', { fileId: 'f-3' });
      await stays.until(3);

      expect(gone.received).toEqual([{ fileId: 'f-1' }]);
      expect(log.filter((l) => l !== 'gone:f-1' && l !== 'stays:f-1')).toEqual(['stays:f-2', 'stays:f-3']);
    });

    it('stops delivering a topic once its last handler unsubscribes, and can subscribe it again', async () => {
      const log: string[] = [];
      const se = new Recorder<SeChanged>();
      const file = new Recorder<FileChanged>();
      const unsubscribe = await h.bus.subscribe('storage_element.changed', (p) => {
        log.push(`se:${p.seId}`);
        se.handler(p);
      });
      await h.bus.subscribe('file.changed', (p) => {
        log.push(`file:${p.fileId}`);
        file.handler(p);
      });
      await h.bus.publish('storage_element.changed', { seId: 'se-1' });
      await se.until(1);

      await unsubscribe();
      await h.bus.publish('storage_element.changed', { seId: 'se-2' });
      await h.bus.publish('file.changed', { fileId: 'f-3' });
      await file.until(1);
      expect(log).toEqual(['se:se-1', 'file:f-3']);

      const again = new Recorder<SeChanged>();
      await h.bus.subscribe('storage_element.changed', again.handler);
      await h.bus.publish('storage_element.changed', { seId: 'se-4' });
      await expect(again.until(1)).resolves.toEqual([{ seId: 'se-4' }]);
      expect(se.received).toEqual([{ seId: 'se-1' }]);
    });

    it('calling an unsubscribe function twice does not cancel a later subscription', async () => {
      const first = new Recorder<SeChanged>();
      const unsubscribe = await h.bus.subscribe('storage_element.changed', first.handler);
      await unsubscribe();
      const later = new Recorder<SeChanged>();
      await h.bus.subscribe('storage_element.changed', later.handler);
      await unsubscribe();

      await h.bus.publish('storage_element.changed', { seId: 'se-1' });
      await expect(later.until(1)).resolves.toEqual([{ seId: 'se-1' }]);
      expect(first.received).toEqual([]);
    });

    it('delivers to every handler once their subscribes, made concurrently, have resolved', async () => {
      const recorders = Array.from({ length: 3 }, () => new Recorder<FileChanged>());
      await Promise.all(recorders.map((r) => h.bus.subscribe('file.changed', r.handler)));
      await h.bus.publish('file.changed', { fileId: 'f-1' });
      for (const recorder of recorders) await expect(recorder.until(1)).resolves.toEqual([{ fileId: 'f-1' }]);
    });

    it('delivers to a handler whose subscribe resolved while an earlier subscribe of its topic is pending', async () => {
      const earlier = new Recorder<FileChanged>();
      const later = new Recorder<FileChanged>();
      const pending = h.bus.subscribe('file.changed', earlier.handler);
      await h.bus.subscribe('file.changed', later.handler);
      await h.bus.publish('file.changed', { fileId: 'f-1' });
      await pending;
      await expect(later.until(1)).resolves.toEqual([{ fileId: 'f-1' }]);
    });
  });
}
