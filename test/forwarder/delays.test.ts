import { backoffDelay, sleep } from '../../forwarder/delays';

describe('waiting', () => {
  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 10_000, () => 0.999)).toBe(799);
    expect(backoffDelay(30, 100, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(5, 100, 10_000, () => 0)).toBe(0);
  });

  it('sleeps at least the time asked, and at once for a deadline already past', async () => {
    const started = Date.now();
    await sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
    const past = Date.now();
    await sleep(-5_000, { unref: true });
    expect(Date.now() - past).toBeLessThan(1_000);
  });
});
