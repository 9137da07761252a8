/**
 * The cluster's clock. Every part of the cluster that waits or timestamps (store
 * timestamps, controllers' requeues, node heartbeats and grace periods, kubelets'
 * back-off and probes, the HPA's sync period) takes a `Clock` instead of reading
 * `Date.now`/`setTimeout`, so a test can drive minutes of cluster time in milliseconds
 * with a `FakeClock` and see the same timeline on every run.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once, `ms` from now (0 and negative: as soon as possible, never
   * synchronously). Returns the function that cancels it (idempotent; a no-op once fired).
   * A real clock's timers do not keep the process alive on their own.
   */
  setTimer(ms: number, fn: () => void): () => void;
}

/** Wall-clock time: `Date.now` and `setTimeout` (unref'd where the host has that). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms)) as unknown as { unref?: () => void };
    t.unref?.();
    return () => clearTimeout(t as unknown as ReturnType<typeof setTimeout>);
  },
};

interface FakeTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. Timers fire in (time, creation) order. Between two
 * timers, `advance` lets the work they started settle (`settle`, by default a few real
 * macrotask turns, enough for the in-memory store's promises and watch deliveries), so
 * a timer that schedules another inside the window sees it fire in the same `advance`.
 */
export class FakeClock implements Clock {
  /** A runaway guard: `advance` throws after firing this many timers. */
  static maxTimersPerAdvance = 1_000_000;
  private current: number;
  private seq = 0;
  private timers: FakeTimer[] = [];
  private readonly settleFn: () => Promise<void>;

  /** `start`: ms since the epoch (default 2026-01-01T00:00:00Z). */
  constructor(start = Date.UTC(2026, 0, 1), options: { settle?: () => Promise<void> } = {}) {
    this.current = start;
    this.settleFn = options.settle ?? settleMacrotasks;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: FakeTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers not yet fired nor cancelled. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** When the next timer fires, or undefined. */
  get nextAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers) if (!t.cancelled && (next === undefined || t.at < next)) next = t.at;
    return next;
  }

  /** Lets pending work settle without moving time. */
  settle(): Promise<void> {
    return this.settleFn();
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (including ones those
   * timers set within the window), settling after each. Resolves at now + ms.
   */
  async advance(ms: number): Promise<void> {
    const until = this.current + Math.max(0, ms);
    await this.settle();
    for (let fired = 0; ; fired++) {
      if (fired > FakeClock.maxTimersPerAdvance) {
        throw new Error(`FakeClock.advance(${ms}): more than ${FakeClock.maxTimersPerAdvance} timers fired at or before ${new Date(until).toISOString()}: a timer keeps re-arming itself without moving time`);
      }
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: FakeTimer | undefined;
      for (const t of this.timers) if (t.at <= until && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      if (next.at > this.current) this.current = next.at;
      next.fn();
      await this.settle();
    }
    this.current = until;
    await this.settle();
  }

  /** Advances in `step` ms increments until `predicate()` holds; throws after `limit` ms of cluster time. */
  async advanceUntil(predicate: () => boolean, options: { step?: number; limit?: number } = {}): Promise<number> {
    const step = options.step ?? 1000;
    const limit = options.limit ?? 3_600_000;
    const start = this.current;
    while (!predicate()) {
      if (this.current - start >= limit) throw new Error(`FakeClock.advanceUntil: condition not met after ${limit} ms of cluster time`);
      await this.advance(step);
    }
    return this.current - start;
  }
}

/** A few real macrotask turns: lets promise chains and message deliveries run. */
async function settleMacrotasks(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setTimeout(r, 0));
}

/** RFC 3339 with seconds, as Kubernetes writes timestamps (`2026-01-01T00:00:00Z`). */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
