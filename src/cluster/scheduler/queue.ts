/**
 * The scheduling queue (kube's internal/queue, simplified): pending pods wait in the
 * *active* queue, highest spec.priority first and then first come, first served (the
 * PrioritySort plugin's order). A pod that could not be placed moves to the
 * *unschedulable* set and stays there until a cluster event that may help — a node
 * added or changed, a pod removed — moves every unschedulable pod back to active.
 *
 * Differences from kube-scheduler, on purpose: no back-off queue (skiff retries only on
 * events, so an unschedulable pod costs nothing while nothing changes) and no per-plugin
 * event hints (every event moves every waiting pod; cycles are cheap). A caller that
 * wants kube's periodic flush calls `moveAllToActive()` on a timer.
 */
import type { PodInfo } from './pod-info.js';

interface Entry {
  info: PodInfo;
  seq: number;
  removed: boolean;
}

export class SchedulingQueue {
  private heap: Entry[] = [];
  private readonly active = new Map<string, Entry>();
  private readonly unschedulable = new Map<string, PodInfo>();
  private seq = 0;

  get activeCount(): number {
    return this.active.size;
  }

  get unschedulableCount(): number {
    return this.unschedulable.size;
  }

  has(key: string): boolean {
    return this.active.has(key) || this.unschedulable.has(key);
  }

  /**
   * Adds a pending pod, or updates one already queued. An update to an unschedulable pod
   * moves it to active: its spec may now fit. Position in active is kept on update.
   */
  addOrUpdate(info: PodInfo): void {
    const e = this.active.get(info.key);
    if (e) {
      if (e.info.priority === info.priority) {
        e.info = info;
        return;
      }
      e.removed = true;
      this.active.delete(info.key);
    }
    this.unschedulable.delete(info.key);
    this.push(info);
  }

  delete(key: string): void {
    const e = this.active.get(key);
    if (e) {
      e.removed = true;
      this.active.delete(key);
    }
    this.unschedulable.delete(key);
  }

  /** The next pod to schedule, removed from the queue; undefined when none is active. */
  pop(): PodInfo | undefined {
    while (this.heap.length > 0) {
      const e = this.popHeap();
      if (e.removed) continue;
      this.active.delete(e.info.key);
      return e.info;
    }
    return undefined;
  }

  /** Parks a pod that found no node until the next moveAllToActive. */
  addUnschedulable(info: PodInfo): void {
    if (this.active.has(info.key)) return;
    this.unschedulable.set(info.key, info);
  }

  /** A cluster event happened that may make waiting pods schedulable. */
  moveAllToActive(): void {
    if (this.unschedulable.size === 0) return;
    const waiting = [...this.unschedulable.values()];
    this.unschedulable.clear();
    for (const info of waiting) this.push(info);
  }

  private push(info: PodInfo): void {
    const e: Entry = { info, seq: this.seq++, removed: false };
    this.active.set(info.key, e);
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent] as Entry)) break;
      h[i] = h[parent] as Entry;
      i = parent;
    }
    h[i] = e;
    if (this.heap.length > 64 && this.heap.length > 4 * this.active.size) this.compact();
  }

  private popHeap(): Entry {
    const h = this.heap;
    const top = h[0] as Entry;
    const last = h.pop() as Entry;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r] as Entry, h[l] as Entry) ? r : l;
        if (!before(h[c] as Entry, last)) break;
        h[i] = h[c] as Entry;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Drops removed entries when they dominate the heap. */
  private compact(): void {
    const live = this.heap.filter((e) => !e.removed).sort((a, b) => (before(a, b) ? -1 : 1));
    this.heap = live;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.info.priority !== b.info.priority ? a.info.priority > b.info.priority : a.seq < b.seq;
}
