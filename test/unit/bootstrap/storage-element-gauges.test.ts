import { MemoryStorageElementRegistry } from '../../../src/adapters/memory/memory-registry';
import { Metrics } from '../../../src/adapters/telemetry/metrics';
import { announce } from '../../../src/bootstrap/storage-elements';
import { aDraft, FixedClock, thresholdsFullAt } from '../../support/builders';
import { aStartedElement, source } from '../../support/fakes';

const FULL_AT_10_PERCENT = thresholdsFullAt(10);

describe('per-SE gauges', () => {
  it('mirror files, bytes, capacity level, WAL pending and mode at each heartbeat', async () => {
    const metrics = new Metrics();
    const clock = new FixedClock();
    const { service } = await aStartedElement({
      id: 'rw-9',
      mode: 'rw',
      capacityBytes: 1000,
      thresholds: FULL_AT_10_PERCENT,
      clock,
    });
    await service.put(aDraft(), source(Buffer.alloc(700)), { size: 700 });
    await announce(service, 'http://se.test', new MemoryStorageElementRegistry(), clock, metrics);
    const text = await metrics.registry.metrics();
    expect(text).toContain('artstore_se_files{se="rw-9"} 1');
    expect(text).toContain('artstore_se_used_bytes{se="rw-9"} 700');
    expect(text).toContain('artstore_se_capacity_bytes{se="rw-9"} 1000');
    expect(text).toContain('artstore_se_capacity_level{se="rw-9"} 1');
    expect(text).toContain('artstore_se_wal_pending{se="rw-9"} 0');
    expect(text).toContain('artstore_se_mode{se="rw-9",mode="rw"} 1');
    expect(text).toContain('artstore_se_mode{se="rw-9",mode="ro"} 0');
  });
});
