import { aDraft, thresholdsFullAt } from '../../support/builders';
import { aStartedElement, source } from '../../support/fakes';

const FULL_AT_10_PERCENT = thresholdsFullAt(10);

describe('StorageElementService capacity levels (§3.3)', () => {
  it('reports its level, and a rw SE that reaches full switches itself to ro', async () => {
    const { service } = await aStartedElement({
      mode: 'rw',
      capacityBytes: 1000,
      thresholds: FULL_AT_10_PERCENT,
    });
    expect((await service.info()).capacityLevel).toBe('ok');
    await service.put(aDraft(), source(Buffer.alloc(600)), { size: 600 });
    expect(await service.info()).toMatchObject({ capacityLevel: 'warning', mode: 'rw' });
    await service.put(aDraft(), source(Buffer.alloc(300)), { size: 300 });
    expect(service.currentMode()).toBe('ro');
    await expect(service.put(aDraft(), source(Buffer.alloc(1)), { size: 1 })).rejects.toMatchObject({
      code: 'mode_forbids_operation',
    });
  });

  it('leaves an edit SE at full in edit: it refuses what does not fit, write by write', async () => {
    const { service } = await aStartedElement({
      mode: 'edit',
      capacityBytes: 1000,
      thresholds: FULL_AT_10_PERCENT,
    });
    await service.put(aDraft(), source(Buffer.alloc(950)), { size: 950 });
    expect(await service.info()).toMatchObject({ capacityLevel: 'full', mode: 'edit' });
    await expect(service.put(aDraft(), source(Buffer.alloc(100)), { size: 100 })).rejects.toMatchObject({
      code: 'storage_full',
    });
  });
});
