/**
 * The kubelet thread's clock: it follows the master's `Clock` through `time` messages
 * (protocol.ts), so that a `FakeClock` on the master drives the kubelet's back-off and
 * probes, and a real clock drives them in real time. The kubelet tells the master when
 * its next timer is due (`wake`), and the master sends `time` then, on its own clock: a
 * timer fires exactly when the master's clock reaches it. Between those, `time` comes
 * with every `pods` message and at the master's tick (1 s by default). When the master's
 * clock is real time (`realTime`), the kubelet's reading also moves on by the real time
 * elapsed since the last `time`, so that a timer set now (a probe's timeout) lasts what it
 * says; a fake clock's time moves only by `time`. Time never goes backwards.
 */
import type { Clock } from '../clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class FollowedClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];
  private announced: number | undefined;
  /** Real time (performance.now) at the last `follow`, when the master's clock is real time. */
  private followedAt: number | undefined;

  /**
   * `onNext` is told when the earliest pending timer changes (undefined: none), so the
   * master can send `time` exactly then (protocol.ts `wake`) instead of relying on ticks.
   */
  constructor(
    now: number,
    private readonly onNext: (at: number | undefined) => void = () => {},
    realTime = false,
  ) {
    this.current = now;
    this.base = now;
    if (realTime) this.followedAt = performance.now();
  }

  /** The master's time at the last `follow`. */
  private base: number;

  private announce(): void {
    let next: number | undefined;
    for (const t of this.timers) if (!t.cancelled && (next === undefined || t.at < next)) next = t.at;
    if (next === this.announced) return;
    this.announced = next;
    this.onNext(next);
  }

  now(): number {
    if (this.followedAt !== undefined) this.current = Math.max(this.current, this.base + (performance.now() - this.followedAt));
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.now() + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    if (timer.at <= this.current) {
      // Due now: as soon as possible, never synchronously.
      setTimeout(() => {
        if (!timer.cancelled) fn();
      }, 0);
    } else {
      this.timers.push(timer);
      if (this.announced === undefined || timer.at < this.announced) this.announce();
    }
    return () => {
      timer.cancelled = true;
    };
  }

  /** The master's clock reads `now`: fires every timer due by then, in (time, creation) order. */
  follow(now: number): void {
    this.base = now;
    if (this.followedAt !== undefined) this.followedAt = performance.now();
    this.now();
    if (now > this.current) this.current = now;
    const due = this.timers.filter((t) => !t.cancelled && t.at <= this.current).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.timers = this.timers.filter((t) => !t.cancelled && t.at > this.current);
    for (const t of due) if (!t.cancelled) t.fn();
    this.announce();
  }
}
