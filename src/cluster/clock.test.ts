import { describe, expect, it } from 'vitest';
import { FakeClock, timestamp } from './clock.js';

describe('FakeClock', () => {
  it('fires timers in (time, creation) order, including ones set inside the window, and moves now to each', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    clock.setTimer(2000, () => seen.push(`b@${clock.now()}`));
    clock.setTimer(1000, () => {
      seen.push(`a@${clock.now()}`);
      clock.setTimer(500, () => seen.push(`a2@${clock.now()}`)); // due at 1500, inside the window
    });
    clock.setTimer(2000, () => seen.push(`c@${clock.now()}`));
    const cancel = clock.setTimer(1200, () => seen.push('cancelled'));
    cancel();
    clock.setTimer(5000, () => seen.push('later'));
    await clock.advance(3000);
    expect(seen).toEqual(['a@1000', 'a2@1500', 'b@2000', 'c@2000']);
    expect([clock.now(), clock.pending, clock.nextAt]).toEqual([3000, 1, 5000]);
  });

  it('lets promise work started by a timer settle before the next one fires', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    clock.setTimer(10, () => void Promise.resolve().then(() => new Promise((r) => setTimeout(r, 0))).then(() => seen.push('async work')));
    clock.setTimer(20, () => seen.push('next timer'));
    await clock.advance(20);
    expect(seen).toEqual(['async work', 'next timer']);
  });

  it('advanceUntil stops as soon as the condition holds, and fails after its limit', async () => {
    const clock = new FakeClock(0);
    let fired = false;
    clock.setTimer(4500, () => (fired = true));
    expect(await clock.advanceUntil(() => fired, { step: 1000 })).toBe(5000);
    await expect(clock.advanceUntil(() => false, { step: 1000, limit: 3000 })).rejects.toThrow(/not met after 3000 ms/);
  });

  it('throws instead of spinning forever on a timer that re-arms itself at 0 ms', async () => {
    const clock = new FakeClock(0, { settle: async () => {} });
    const before = FakeClock.maxTimersPerAdvance;
    FakeClock.maxTimersPerAdvance = 100;
    try {
      const rearm = (): void => void clock.setTimer(0, rearm);
      rearm();
      await expect(clock.advance(10)).rejects.toThrow(/keeps re-arming itself/);
    } finally {
      FakeClock.maxTimersPerAdvance = before;
    }
  });

  it('writes timestamps as Kubernetes does (RFC 3339, whole seconds)', () => {
    expect(timestamp(Date.UTC(2026, 0, 1, 12, 0, 5, 999))).toBe('2026-01-01T12:00:05Z');
  });
});
