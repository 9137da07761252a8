import { describe, expect, it } from 'vitest';
import { FollowedClock } from './followed-clock.js';

describe('FollowedClock', () => {
  it('fires timers only when the followed time reaches them, in order, and announces the next one', () => {
    const announced: (number | undefined)[] = [];
    const clock = new FollowedClock(1000, (at) => announced.push(at));
    const fired: string[] = [];
    clock.setTimer(500, () => fired.push('b'));
    clock.setTimer(200, () => fired.push('a'));
    const cancel = clock.setTimer(300, () => fired.push('x'));
    cancel();
    expect(announced).toEqual([1500, 1200]);
    clock.follow(1199);
    expect(fired).toEqual([]);
    clock.follow(1600);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(1600);
    expect(announced.at(-1)).toBeUndefined();
    clock.follow(10); // never backwards
    expect(clock.now()).toBe(1600);
  });

  it('a timer set from a firing timer is announced', () => {
    const announced: (number | undefined)[] = [];
    const clock = new FollowedClock(0, (at) => announced.push(at));
    clock.setTimer(10, () => clock.setTimer(10, () => {}));
    clock.follow(10);
    expect(announced).toEqual([10, 20]);
  });

  it('when the master runs on real time, the reading moves on between follows: a timer set late lasts what it says', async () => {
    const announced: (number | undefined)[] = [];
    const clock = new FollowedClock(1000, (at) => announced.push(at), true);
    await new Promise((r) => setTimeout(r, 30));
    // (Not 1000, the last time followed: a 100 ms probe timeout set now would end 30 ms early.)
    expect(clock.now()).toBeGreaterThanOrEqual(1025);
    clock.setTimer(100, () => {});
    expect(announced.at(-1)).toBeGreaterThanOrEqual(1125);
    const read = clock.now();
    clock.follow(1010); // a `time` sent before: never backwards
    expect(clock.now()).toBeGreaterThanOrEqual(read);
  });
});
