import { pacer } from '../../../src/application/storage/scrub';

describe('the scrub pacer', () => {
  it('sleeps just long enough to keep the average at the rate, never for a read behind schedule', async () => {
    let now = 1_000;
    const sleeps: number[] = [];
    const pace = pacer(
      1_000,
      new AbortController().signal,
      () => now,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    );
    await pace(500); // half a second of budget used at once
    await pace(500);
    expect(sleeps).toEqual([500, 500]);
    now += 3_000; // a slow medium: far behind the rate, no sleep
    await pace(1_000);
    expect(sleeps).toEqual([500, 500]);
  });

  it('reads at full speed without a rate, and ends the read at once when stopped', async () => {
    const stop = new AbortController();
    const sleeps: number[] = [];
    const pace = pacer(
      null,
      stop.signal,
      () => 0,
      async (ms) => void sleeps.push(ms),
    );
    await pace(1 << 30);
    expect(sleeps).toEqual([]);
    stop.abort(new Error('stopped'));
    await expect(pace(1)).rejects.toThrow('stopped');
  });
});
