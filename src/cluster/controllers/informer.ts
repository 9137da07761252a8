/**
 * Informers and work queues: the controller-runtime pattern every controller uses.
 *
 * An `Informer` keeps a local cache of one kind (optionally narrowed by namespace and
 * selectors) by listing, then watching from the list's resourceVersion; when the watch
 * ends with Gone it lists again and reports the difference as events, so handlers see
 * every object's latest state exactly once per change (level-triggered, like client-go).
 *
 * A `WorkQueue` holds keys to reconcile, processed in a task after the one that added
 * them: a key added many times before it is processed is processed once (a burst of
 * events about one object is one reconcile); a key is never processed twice at once; a
 * reconcile that throws is retried with exponential back-off (5 ms doubling to 1,000 s,
 * client-go's default item rate limiter), in cluster time (the queue's Clock).
 */
import type { KubeObject, WatchEvent } from '../api/types.js';
import type { Clock } from '../clock.js';
import { nextTask } from '../../platform/tasks.js';
import type { ListOptions, ObjectReader, ObjectWatcher, Watch } from '../store/store.js';

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Called for each change, after the cache holds the new state. `old` is the previous state (MODIFIED, DELETED). */
export type InformerHandler<T extends KubeObject> = (type: InformerEventType, obj: T, old: T | undefined) => void;

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata.namespace ?? '';
  return ns === '' ? (obj.metadata.name ?? '') : `${ns}/${obj.metadata.name ?? ''}`;
}

/** Splits a key made by `objectKey`. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private watch: Watch<T> | undefined;
  private stopped = false;
  private hasSynced = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly store: ObjectReader & ObjectWatcher,
    readonly kind: string,
    private readonly options: ListOptions = {},
  ) {}

  /** Adds a handler; it also receives ADDED for every object already cached. */
  on(handler: InformerHandler<T>): this {
    this.handlers.push(handler);
    for (const obj of this.cache.values()) handler('ADDED', obj, undefined);
    return this;
  }

  /** Lists and starts watching. The cache is full when this resolves. Idempotent. */
  start(): Promise<void> {
    if (this.loop === undefined) {
      this.relist();
      this.loop = this.run();
    }
    return Promise.resolve();
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  /** Stops watching; the cache keeps its last state. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    await this.loop;
  }

  get(namespace: string, name: string): T | undefined {
    return this.cache.get(namespace === '' ? name : `${namespace}/${name}`);
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Cached objects, optionally only those for which `filter` holds. */
  list(filter?: (obj: T) => boolean): T[] {
    const out: T[] = [];
    for (const obj of this.cache.values()) if (filter === undefined || filter(obj)) out.push(obj);
    return out;
  }

  private emit(type: InformerEventType, obj: T, old: T | undefined): void {
    for (const h of this.handlers) h(type, obj, old);
  }

  /** Lists, reconciles the cache with what the list says (events for the differences), and watches from there. */
  private relist(): void {
    const listed = this.store.list<T>(this.kind, this.options);
    if (!listed.ok) throw listed.error;
    const seen = new Set<string>();
    for (const obj of listed.value.items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      if (old !== undefined && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.cache.set(key, obj);
      this.emit(old === undefined ? 'ADDED' : 'MODIFIED', obj, old);
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.emit('DELETED', old, old);
    }
    const watched = this.store.watch<T>(this.kind, { ...this.options, resourceVersion: listed.value.resourceVersion });
    if (!watched.ok) throw watched.error;
    this.watch = watched.value;
    this.hasSynced = true;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const w = this.watch;
      if (w === undefined) return;
      for await (const ev of w) this.apply(ev);
      if (this.stopped || w.error === undefined) return;
      // Gone: fell behind or compacted away. List again; the cache diff becomes events.
      this.relist();
    }
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'BOOKMARK') return;
    const key = objectKey(ev.object);
    const old = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      this.emit('DELETED', ev.object, old);
    } else {
      this.cache.set(key, ev.object);
      this.emit(old === undefined ? 'ADDED' : 'MODIFIED', ev.object, old);
    }
  }
}

/**
 * What a reconcile asks for: nothing (done until the next change), or another look after
 * `requeueAfter` ms of cluster time (0 or less: soon, rate-limited with back-off).
 */
export type ReconcileResult = void | { readonly requeueAfter?: number };

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** First retry delay after a failed reconcile (ms, default 5); doubles per failure of the same key. */
  readonly baseDelayMs?: number;
  /** Longest retry delay (ms, default 1,000,000). */
  readonly maxDelayMs?: number;
  /** Reports a reconcile that threw (default: console.error). */
  readonly onError?: (key: string, error: unknown) => void;
}

/** Keys to reconcile, one at a time per key, deduplicated. See the file comment. */
export class WorkQueue {
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Consecutive "requeue now" answers per key (rate-limited like failures). */
  private readonly requeues = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
  private readonly queue: string[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<ReconcileResult> | ReconcileResult,
    private readonly options: WorkQueueOptions,
  ) {}

  /** Queues `key` (a no-op if already queued; processed again after the current run if running). */
  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) {
      this.queue.push(key);
      this.kick();
    }
  }

  /** Queues `key` after `ms` of cluster time (an earlier pending request wins). */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.options.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending !== undefined && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.options.clock.setTimer(ms, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, cancel });
  }

  /** Stops processing; pending and delayed keys are dropped. */
  stop(): void {
    this.stopped = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.wakeIdle();
  }

  /** True when nothing is queued or running (delayed keys do not count). */
  get idle(): boolean {
    return this.queue.length === 0 && this.running === 0;
  }

  /** Resolves when the queue is next idle. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** A task is scheduled to process the queue. */
  private kicked = false;

  /**
   * Processes the queue in a task of its own, after the changes that come in the current
   * one: a burst of events about one object (a ReplicaSet's hundred pods changing state)
   * is one reconcile, as client-go's queue dedups keys waiting for a worker. Reconciling
   * at each event instead cost a 100-pod start 600 ReplicaSet reconciles (each a look at
   * every pod) and 200 Deployment reconciles; this way about 30 of each.
   */
  private kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    nextTask(() => {
      this.kicked = false;
      this.processQueued();
    });
  }

  private processQueued(): void {
    while (!this.stopped && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    try {
      const result = await this.reconcile(key);
      this.failures.delete(key);
      if (result && result.requeueAfter !== undefined) {
        if (result.requeueAfter > 0) {
          this.requeues.delete(key);
          this.addAfter(key, result.requeueAfter);
        } else {
          // "Again now" is rate-limited, as client-go's AddRateLimited: a reconcile that keeps
          // asking must not spin (and starve timers) while nothing changes.
          const n = (this.requeues.get(key) ?? 0) + 1;
          this.requeues.set(key, n);
          this.addAfter(key, Math.min((this.options.baseDelayMs ?? 5) * 2 ** (n - 1), this.options.maxDelayMs ?? 1_000_000));
        }
      } else this.requeues.delete(key);
    } catch (error) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      (this.options.onError ?? ((k, e) => console.error(`skiff: reconcile ${k} failed:`, e)))(key, error);
      const base = this.options.baseDelayMs ?? 5;
      this.addAfter(key, Math.min(base * 2 ** (n - 1), this.options.maxDelayMs ?? 1_000_000));
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirty.has(key)) this.queue.push(key);
      this.kick();
      if (this.idle) this.wakeIdle();
    }
  }
}
