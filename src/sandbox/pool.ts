/**
 * The warm pool: container threads kept booted and idle so that starting a container
 * costs one letter in the thread's mailbox, not a thread spawn and a module load.
 *
 * A thread's life:
 *   booting  — spawned (ref'd: a caller may be waiting for it); becomes idle when it says
 *              `ready` (the pool then sends `init` with its control word) — or, when no
 *              run is waiting for it, first rehearses a run (rehearsal.ts: its first run
 *              in a new isolate costs several times a later one) and is idle when it says
 *              `rehearsed`;
 *   idle     — in the pool, unref'd (an idle pool never keeps a program alive);
 *   busy     — `acquire`d by a run; ref'd; its messages go to the run's listener;
 *   → idle   — `release`d after its run ended cleanly (the thread says `exited`);
 *   → dead   — `discard`ed (terminated: a killed spinning guest, an internal error), or it
 *              died on its own. The pool spawns a replacement to keep `size` threads idle.
 *              A thread that dies while booting (its module does not load) fails every
 *              caller waiting for a thread with that error, and the pool spawns again
 *              only when asked (no respawn loop).
 * The pool keeps `size` threads idle or booting (default 2; `resize` changes it): threads
 * taken by runs are replaced once no thread has been taken for 100 ms per thread missing
 * (short runs give theirs back first, so back-to-back runs never spawn; and the
 * replacements for a burst of long runs, such as a node starting its pods, wait until
 * the burst is over and its guests have had time to start: spawning them takes the same
 * CPU the guests start with). A run that finds none idle waits 5 ms for one to come back
 * before a thread is spawned for it (a burst of short runs spawns nothing); a caller that
 * knows runs are coming (`prepare`) has their threads spawned at once. Threads beyond
 * `size` that have been idle for 5 s are terminated (so a workload that runs N
 * containers at once keeps about N threads while it lasts, instead of spawning and
 * terminating threads at every burst); never more than 32 (or `size`, if larger) are
 * kept idle.
 *
 * Shared memory: each thread gets, once, its control words (protocol.ts), its output ring
 * (output.ts), its mailbox (mailbox.ts: where it sleeps while idle) and its exec slots
 * (`EXEC_SLOTS` synchronous channels, protocol.ts), all reused by its successive runs;
 * none without SharedArrayBuffer (and no mailbox where threads may not block).
 *
 * Caches: each thread keeps compiled modules and layer indexes by key (worker.ts); the
 * pool mirrors which keys each thread holds (`need`), bounded per thread, choosing what
 * to evict itself and telling the thread in the next `start` (`evictions`). `acquire`
 * prefers an idle thread that already holds the wanted module.
 */
import type { Platform } from '../platform/platform.js';
import type { Thread } from '../platform/threads.js';
import { createChannel, type ChannelEnd } from './channel.js';
import { OutputRing } from './output.js';
import { Mailbox } from './mailbox.js';
import { CONTROL_LENGTH, EXEC_SLOTS, PROTOCOL_VERSION, Handles, post, receive, type FromThread, type ToThread } from './protocol.js';

export const DEFAULT_POOL_SIZE = 2;
const MODULE_CACHE = 16;
/** Data area of an exec slot's channel (larger messages cross in pieces). */
const EXEC_SLOT_CAPACITY = 64 * 1024;
const LAYER_CACHE = 128;
/** How long a pool below its size waits, per thread missing, for threads to come back before spawning them. */
const REPLENISH_DELAY_MS = 100;
/** How long a run that found no idle thread waits for one to come back before one is spawned for it. */
const SPAWN_DELAY_MS = 5;
/** Idle threads beyond the pool's size are terminated after this long idle… */
const IDLE_TTL_MS = 5000;
/** …and at once beyond this many idle. */
const MAX_IDLE = 32;

export type ThreadListener = (message: FromThread, handles: readonly unknown[]) => void;

export interface PoolStats {
  readonly idle: number;
  readonly busy: number;
  readonly booting: number;
  /** Threads spawned and terminated (or died) since the pool was made. */
  readonly spawned: number;
  readonly ended: number;
  /** Threads that rehearsed (rehearsal.ts) before their first run. */
  readonly rehearsed: number;
}

/** A container thread as the pool and the runtime see it. */
export class PooledThread {
  state: 'booting' | 'idle' | 'busy' | 'dead' = 'booting';
  /** Booted, and rehearsing (rehearsal.ts) before it is idle. */
  rehearsing = false;
  /** When it last became idle (performance.now()). */
  idleSince = 0;
  /** The control words (protocol.ts), when the platform shares memory. */
  readonly control: Int32Array | undefined;
  /** Where its runs write stdout and stderr (output.ts), when the platform shares memory. */
  readonly output: OutputRing | undefined;
  /** Where an idle thread sleeps for its next run (mailbox.ts), when the platform shares memory and threads may block. */
  readonly mailbox: Mailbox | undefined;
  /** Its exec slots (protocol.ts): the thread serves the server ends; exec'd programs get the client ends. */
  readonly execSlots: readonly { readonly client: ChannelEnd; readonly server: ChannelEnd }[];
  /** Receives the thread's messages while it is busy. */
  listener: ThreadListener | undefined;
  /** Called once if the thread dies while busy. */
  onDeath: ((error: Error) => void) | undefined;
  private readonly modules = new Map<string, true>();
  private readonly layers = new Map<string, true>();
  private evictModules: string[] = [];
  private evictLayers: string[] = [];

  constructor(
    readonly id: number,
    readonly thread: Thread,
    shared: boolean,
    blockingWait: boolean,
  ) {
    this.control = shared ? new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4)) : undefined;
    this.mailbox = shared && blockingWait ? Mailbox.create() : undefined;
    this.output = shared ? OutputRing.create() : undefined;
    this.execSlots = shared ? Array.from({ length: EXEC_SLOTS }, () => createChannel({ capacity: EXEC_SLOT_CAPACITY, doorbell: false })) : [];
  }

  /**
   * Hands the thread a run (`start` or `exec`): through its mailbox when the message has
   * no handles and fits, else posted, and then the mailbox rings so that the sleeping
   * thread reads its port. Only for a thread just acquired (mailbox.ts: one letter).
   */
  send(message: ToThread, handles: Handles): void {
    if (this.mailbox === undefined) return post(this.thread, message, handles);
    if (handles.list.length === 0 && this.mailbox.put(message)) return;
    post(this.thread, message, handles);
    this.mailbox.ring();
  }

  /** Whether the thread lacks `key` (then the caller must send it); records it as held either way. */
  need(kind: 'module' | 'layer', key: string): boolean {
    const map = kind === 'module' ? this.modules : this.layers;
    const had = map.delete(key);
    map.set(key, true);
    if (!had) {
      const cap = kind === 'module' ? MODULE_CACHE : LAYER_CACHE;
      for (const old of map.keys()) {
        if (map.size <= cap) break;
        if (old === key) continue;
        map.delete(old);
        (kind === 'module' ? this.evictModules : this.evictLayers).push(old);
      }
    }
    return !had;
  }

  holds(kind: 'module' | 'layer', key: string): boolean {
    return (kind === 'module' ? this.modules : this.layers).has(key);
  }

  /** Keys the thread must drop before its next run (then forgotten here). */
  evictions(): { modules: string[]; layers: string[] } | undefined {
    if (this.evictModules.length === 0 && this.evictLayers.length === 0) return undefined;
    const out = { modules: this.evictModules, layers: this.evictLayers };
    this.evictModules = [];
    this.evictLayers = [];
    return out;
  }
}

export class ThreadPool {
  private readonly idle: PooledThread[] = [];
  private readonly all = new Set<PooledThread>();
  private readonly waiters: { resolve: (t: PooledThread) => void; reject: (e: Error) => void }[] = [];
  private nextId = 1;
  private spawned = 0;
  private rehearsed = 0;
  private warnedRehearsal = false;
  private ended = 0;
  private closed = false;
  private readyWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** A thread died before it was ready: spawn only on demand until one boots. */
  private bootFailed = false;
  private replenishTimer: ReturnType<typeof setTimeout> | undefined;
  private spawnTimer: ReturnType<typeof setTimeout> | undefined;
  private cancelTrim: (() => void) | undefined;

  /**
   * `rehearsal`: the module a thread booted ahead of need rehearses with before it is idle
   * (rehearsal.ts), when it is compiled by then; none: threads are idle once booted.
   */
  constructor(
    private readonly platform: Platform,
    private readonly threadModule: URL,
    private size = DEFAULT_POOL_SIZE,
    private readonly rehearsal?: () => WebAssembly.Module | undefined,
  ) {
    this.replenish();
  }

  /** An idle thread, marked busy (preferring one that holds `module`); spawns one if none is idle. */
  acquire(module?: string): Promise<PooledThread> {
    if (this.closed) return Promise.reject(new Error('the container runtime is closed'));
    let pick = -1;
    if (module !== undefined) pick = this.idle.findLastIndex((t) => t.holds('module', module));
    if (pick < 0) pick = this.idle.length - 1;
    if (pick >= 0) {
      const t = this.idle.splice(pick, 1)[0] as PooledThread;
      this.busy(t);
      this.replenishSoon();
      return Promise.resolve(t);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.spawnSoon();
    });
  }

  /** Gives back a thread whose run ended cleanly. */
  release(t: PooledThread): void {
    if (t.state !== 'busy') return;
    t.listener = undefined;
    t.onDeath = undefined;
    this.makeIdle(t);
  }

  /** Terminates a thread (its run is abandoned) and keeps the pool full. Resolves when it has stopped. */
  discard(t: PooledThread): Promise<void> {
    if (t.state === 'dead') return Promise.resolve();
    this.end(t);
    const stopped = t.thread.terminate();
    this.replenish();
    return stopped;
  }

  stats(): PoolStats {
    let busy = 0;
    for (const t of this.all) if (t.state === 'busy') busy++;
    return { idle: this.idle.length, busy, booting: this.booting(), spawned: this.spawned, ended: this.ended, rehearsed: this.rehearsed };
  }

  /**
   * Keeps `size` threads idle from now on: a larger pool spawns the missing threads at
   * once (in the background: `warm` says when they are booted); a smaller one lets the
   * surplus age out as it does after a burst. Idempotent.
   */
  resize(size: number): void {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`pool size must be a whole number ≥ 0, not ${size}`);
    const grows = size > this.size;
    this.size = size;
    if (grows) this.replenish();
    else if (this.idle.length > size) this.trimLater();
  }

  /**
   * `n` runs are about to start (a kubelet was given n new containers, whose images it is
   * still pulling): spawns at once the threads that the idle and booting ones do not
   * cover, so that they boot meanwhile. Those beyond `size` age out as after a burst.
   */
  prepare(n: number): void {
    if (this.closed || this.bootFailed) return;
    const missing = n - this.idle.length - this.booting();
    for (let i = 0; i < missing; i++) this.spawn();
  }

  /** Resolves when `size` threads are idle (for benchmarks and tests that measure warm starts). */
  warm(): Promise<void> {
    if (this.idle.length >= this.size) return Promise.resolve();
    const ready = new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
    if (this.bootFailed && this.booting() === 0) this.spawn();
    // Now, not when a refill is due: the caller waits for them.
    else this.replenish();
    return ready.then(() => this.warm());
  }

  /** Terminates every thread. Runs still going are abandoned (their threads die). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.replenishTimer !== undefined) clearTimeout(this.replenishTimer);
    if (this.spawnTimer !== undefined) clearTimeout(this.spawnTimer);
    this.cancelTrim?.();
    const closed = new Error('the container runtime is closed');
    for (const w of this.waiters.splice(0)) w.reject(closed);
    for (const w of this.readyWaiters.splice(0)) w.reject(closed);
    const all = [...this.all];
    for (const t of all) this.end(t);
    await Promise.all(all.map((t) => t.thread.terminate()));
  }

  private booting(): number {
    let n = 0;
    for (const t of this.all) if (t.state === 'booting') n++;
    return n;
  }

  /**
   * Replaces threads taken from the pool only if they are still missing when no thread
   * has been taken for a while, 100 ms per thread missing: a short run gives its thread
   * back first, so back-to-back runs never spawn a thread (spawning one costs more CPU
   * than a hundred short runs); and the replacements for a burst of N runs (a node
   * starting N pods) wait N × 100 ms, so that spawning them (30–40 ms of CPU each) does not
   * take the CPU the burst's guests start with.
   */
  private replenishSoon(): void {
    if (this.replenishTimer !== undefined) clearTimeout(this.replenishTimer);
    this.replenishTimer = undefined;
    const missing = this.size - this.idle.length - this.booting();
    if (missing <= 0) return;
    this.replenishTimer = setTimeout(() => {
      this.replenishTimer = undefined;
      this.replenish();
    }, REPLENISH_DELAY_MS * missing);
  }

  /**
   * A thread for each waiter that a booting thread will not serve — if it is still
   * waiting a moment later: in a burst of short runs the busy threads come back first
   * (a run takes well under a millisecond, a thread boot tens), so a burst does not
   * spawn threads only to terminate them.
   */
  private spawnSoon(): void {
    if (this.spawnTimer !== undefined) return;
    const check = (): void => {
      this.spawnTimer = undefined;
      if (this.closed) return;
      while (this.booting() < this.waiters.length) this.spawn();
    };
    if (this.bootFailed) check();
    else this.spawnTimer = setTimeout(check, SPAWN_DELAY_MS);
  }

  private replenish(): void {
    if (this.closed || this.bootFailed) return;
    const want = this.size + this.waiters.length - this.idle.length - this.booting();
    for (let i = 0; i < want; i++) this.spawn();
  }

  private spawn(): void {
    const id = this.nextId++;
    // The thread's events may only come after `spawn` returns, once `self.t` is set.
    const self: { t?: PooledThread } = {};
    let thread: Thread;
    try {
      thread = this.platform.threads.spawn(this.threadModule, {
        onMessage: (raw) => self.t !== undefined && this.message(self.t, raw),
        onError: (error) => self.t !== undefined && this.died(self.t, error),
        onExit: (code) => self.t !== undefined && this.died(self.t, new Error(`container thread ${id} exited (code ${code})`)),
      });
    } catch (e) {
      this.bootFailure(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // Ref'd while booting (someone may be waiting for it; booting is short), unref'd when idle.
    const t = new PooledThread(id, thread, this.platform.threads.sharedMemory, this.platform.threads.blockingWait);
    self.t = t;
    this.all.add(t);
    this.spawned++;
  }

  private message(t: PooledThread, raw: unknown): void {
    let decoded;
    try {
      decoded = receive<FromThread>(raw);
    } catch (e) {
      this.died(t, e as Error);
      void t.thread.terminate();
      return;
    }
    const { message, handles } = decoded;
    if (message.type === 'ready' && t.state === 'booting') {
      // A thread booted ahead of need rehearses first (it needs shared memory, as a run's
      // network does); one a run waits for goes straight to it.
      const rehearsal = this.waiters.length === 0 && this.platform.threads.sharedMemory ? this.rehearsal?.() : undefined;
      const h = new Handles();
      post(
        t.thread,
        {
          v: PROTOCOL_VERSION,
          type: 'init',
          ...(t.control !== undefined ? { control: h.add(t.control) } : {}),
          ...(t.output !== undefined ? { output: h.add(t.output.buffer) } : {}),
          ...(t.execSlots.length > 0 ? { exec: h.add(t.execSlots.map((s) => s.server)) } : {}),
          ...(t.mailbox !== undefined ? { mailbox: h.add(t.mailbox.buffer) } : {}),
          ...(rehearsal !== undefined ? { rehearsal: h.add(rehearsal) } : {}),
        },
        h,
      );
      // Still booting (counted so, and not idle) until it says `rehearsed`.
      if (rehearsal !== undefined) t.rehearsing = true;
      else this.makeIdle(t);
      return;
    }
    if (message.type === 'rehearsed' && t.rehearsing) {
      t.rehearsing = false;
      this.rehearsed++;
      if (message.error !== undefined && !this.warnedRehearsal) {
        // A bug, not the guest's doing (the rehearsal is skiff's own): said once, the thread still serves.
        this.warnedRehearsal = true;
        console.warn(`skiff: a container thread's rehearsal failed: ${message.error}`);
      }
      if (t.state === 'booting') this.makeIdle(t);
      return;
    }
    if (t.state === 'busy') t.listener?.(message, handles);
  }

  private died(t: PooledThread, error: Error): void {
    if (t.state === 'dead') return;
    const booting = t.state === 'booting';
    const onDeath = t.state === 'busy' ? t.onDeath : undefined;
    this.end(t);
    onDeath?.(error);
    if (booting) this.bootFailure(error);
    else this.replenish();
  }

  /** Do not respawn in a loop a thread that cannot start: fail whoever waits for one. */
  private bootFailure(error: Error): void {
    this.bootFailed = true;
    const failure = new Error(`a container thread failed to start: ${error.message}`, { cause: error });
    for (const w of this.waiters.splice(0)) w.reject(failure);
    for (const w of this.readyWaiters.splice(0)) w.reject(failure);
  }

  private end(t: PooledThread): void {
    if (t.state === 'idle') this.idle.splice(this.idle.indexOf(t), 1);
    t.state = 'dead';
    t.listener = undefined;
    t.onDeath = undefined;
    this.all.delete(t);
    this.ended++;
  }

  private busy(t: PooledThread): void {
    t.state = 'busy';
    t.thread.ref();
  }

  private makeIdle(t: PooledThread): void {
    this.bootFailed = false;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.busy(t);
      waiter.resolve(t);
      // A run served by a waited-for thread leaves the pool short, as one taken idle does.
      this.replenishSoon();
      return;
    }
    if (this.idle.length >= Math.max(MAX_IDLE, this.size)) {
      this.end(t);
      void t.thread.terminate();
      return;
    }
    t.state = 'idle';
    t.idleSince = performance.now();
    t.thread.unref();
    this.idle.push(t);
    if (this.idle.length > this.size) this.trimLater();
    for (const w of this.readyWaiters.splice(0)) w.resolve();
  }

  /** Terminates, oldest first, idle threads beyond `size` that have idled IDLE_TTL_MS. */
  private trimLater(): void {
    if (this.cancelTrim !== undefined || this.closed) return;
    this.cancelTrim = this.platform.later(IDLE_TTL_MS, () => {
      this.cancelTrim = undefined;
      const now = performance.now();
      // `idle` is in release order (acquire takes from the end): the oldest are first.
      while (this.idle.length > this.size && now - (this.idle[0] as PooledThread).idleSince >= IDLE_TTL_MS) {
        const t = this.idle[0] as PooledThread;
        this.end(t);
        void t.thread.terminate();
      }
      if (this.idle.length > this.size) this.trimLater();
    });
  }
}
