/**
 * One watcher's queue: the events the store pushed and the reader has not taken yet. The
 * store pushes synchronously as it commits; the reader pulls with `next()` (or
 * `for await`). Initial events (the synthetic ADDED of a watch from "0", a replay from the
 * history) do not count against `maxPending`; live events do, and the push that would
 * exceed it ends the watch with Gone instead of growing the queue without bound (what
 * kube-apiserver does to a watcher that cannot keep up).
 */
import { ApiError, type KubeObject, type WatchEvent } from '../api/types.js';
import type { Watch } from './store.js';

export class WatchStream<T extends KubeObject = KubeObject> implements Watch<T> {
  private initial: WatchEvent<T>[];
  private initialAt = 0;
  private live: WatchEvent<T>[] = [];
  private liveAt = 0;
  private waiter: ((r: IteratorResult<WatchEvent<T>>) => void) | undefined;
  private ended = false;
  error: ApiError | undefined;

  constructor(
    initial: WatchEvent<T>[],
    private readonly maxPending: number,
    private readonly onClose: (w: WatchStream<T>) => void,
  ) {
    this.initial = initial;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Events pushed and not yet read. */
  get pending(): number {
    return this.initial.length - this.initialAt + this.live.length - this.liveAt;
  }

  /** Called by the store. */
  push(ev: WatchEvent<T>): void {
    if (this.ended) return;
    if (this.waiter !== undefined && this.pending === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ done: false, value: ev });
      return;
    }
    if (this.live.length - this.liveAt >= this.maxPending) {
      this.fail(
        new ApiError(
          'Gone',
          `watch closed: the watcher fell more than ${this.maxPending} events behind (last unread: resourceVersion ${ev.object.metadata.resourceVersion ?? '?'}); list again and watch from the list's resourceVersion`,
        ),
      );
      return;
    }
    this.live.push(ev);
  }

  /** Ends the watch with `error` (called by the store). */
  fail(error: ApiError): void {
    if (this.ended) return;
    this.error = error;
    this.end();
  }

  close(): void {
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.initial = [];
    this.live = [];
    this.initialAt = this.liveAt = 0;
    this.onClose(this);
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ done: true, value: undefined });
  }

  next(): Promise<IteratorResult<WatchEvent<T>>> {
    if (this.initialAt < this.initial.length) {
      const ev = this.initial[this.initialAt++] as WatchEvent<T>;
      if (this.initialAt === this.initial.length) {
        this.initial = [];
        this.initialAt = 0;
      }
      return Promise.resolve({ done: false, value: ev });
    }
    if (this.liveAt < this.live.length) {
      const ev = this.live[this.liveAt++] as WatchEvent<T>;
      if (this.liveAt === this.live.length) {
        this.live = [];
        this.liveAt = 0;
      } else if (this.liveAt > 1024 && this.liveAt * 2 > this.live.length) {
        this.live = this.live.slice(this.liveAt);
        this.liveAt = 0;
      }
      return Promise.resolve({ done: false, value: ev });
    }
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.waiter !== undefined) return Promise.reject(new Error('watch: next() called again before the previous call resolved'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<WatchEvent<T>>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
