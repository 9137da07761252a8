/**
 * Every message between the runtime (runtime.ts, pool.ts) and a container thread
 * (worker.ts), declared here and encoded here (STYLE §9). Nothing else crosses.
 *
 * Wire form: each `post` carries `[bytes, handles]`:
 * - `bytes`: the message, msgpackr-encoded (plain data only: strings, numbers, arrays,
 *   objects). Its first field is `v`, the protocol version; a receiver refuses any other.
 * - `handles`: what msgpackr cannot or should not carry, referenced from the message by
 *   index (a `Handle`): a `WebAssembly.Module`, a SharedArrayBuffer (or a view of one:
 *   layer bytes, the control word), or a large `ArrayBuffer`/`Uint8Array` (output, a
 *   changeset tar) that is *transferred* rather than copied through msgpackr. Handles
 *   travel by structured clone: SharedArrayBuffers and Modules are shared, transferred
 *   buffers move (the sender must not touch them again), anything else is copied.
 *
 * One conversation:
 *   thread → `ready`                       (once, after spawn)
 *   runtime → `init`                        (once: the thread's control word)
 *   runtime → `start` { run: n, … }         (a container run; the thread is busy)
 *   thread → `output` { run: n } …          (batched stdout/stderr, see worker.ts)
 *   runtime → `stop` { run: n }             (optional; the control word is what a busy
 *                                           thread actually sees)
 *   thread → `exited` { run: n, … }         (the run is over; the thread is idle again)
 *   thread → `error`                        (an internal failure; the thread is unusable)
 * Messages about run n that arrive after the runtime gave up on it (killed and
 * terminated) are ignored by `run` number.
 *
 * Caches: a thread keeps compiled modules and decoded layer indexes by key across runs.
 * The runtime remembers which keys each thread holds and sends a module or a layer's
 * `meta` only to a thread that lacks it; `start.evict` tells the thread what to drop, so
 * both sides agree on what is cached without a round trip.
 */
import { Packr } from 'msgpackr';

export const PROTOCOL_VERSION = 1;

/** Index into the handles array of the same post. */
export type Handle = number;

/** Why a run ended; Kubernetes' container termination reasons, plus `Killed`. */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'Killed' | 'DeadlineExceeded';

/** A stop request's reason, written to the control word (see `Control`). */
export type StopReason = 'Killed' | 'DeadlineExceeded';

/**
 * The control word: an Int32Array of length `CONTROL_LENGTH` over a SharedArrayBuffer,
 * one per thread, sent once in `init`. `[CONTROL_STOP]` is 0 while the run may go on;
 * the runtime stores a `STOP_*` code and `Atomics.notify`s it to stop the run. The
 * thread checks it at every WASI call and sleeps on it (`Atomics.wait`), so a stop also
 * wakes a sleeping guest. The runtime resets it to 0 before posting `start`.
 */
export const CONTROL_LENGTH = 2;
export const CONTROL_STOP = 0;
export const STOP_NONE = 0;
export const STOP_KILLED = 1;
export const STOP_DEADLINE = 2;

export function stopCode(reason: StopReason): number {
  return reason === 'Killed' ? STOP_KILLED : STOP_DEADLINE;
}
export function stopReason(code: number): StopReason {
  return code === STOP_DEADLINE ? 'DeadlineExceeded' : 'Killed';
}

/** A layer of the container's root, bottom first. */
export interface LayerRef {
  /** Cache key (the diffID, or a unique name for a layer without one). */
  readonly key: string;
  /** Absent when the thread has this layer cached. Otherwise handles of the layer-transfer.ts parts. */
  readonly meta?: Handle;
  readonly bytes?: Handle;
}

/**
 * A filesystem mounted into the container (mounts.ts). `kind` says how the thread
 * builds its `MountFs`; the remaining fields (plain data and handles) are the mount
 * kind's own: `tmpfs` (none: an empty filesystem made in the thread), `served`
 * (`connection`: the handle of the run's `VolumeConnection`, channel-protocol.ts, the
 * same for every served mount of the run; `index`: the mount's place in it).
 */
export interface MountWire {
  readonly path: string;
  readonly readonly: boolean;
  readonly kind: string;
  readonly [field: string]: unknown;
}

/**
 * The container's network arena (net/arena.ts): a SharedArrayBuffer the runtime allocates
 * for each run that has ports, and its layout (plain data), from which the thread builds the
 * listening sockets the guest finds at fd 3 onward (network.ts).
 */
export interface NetWire {
  /** The arena's SharedArrayBuffer. */
  readonly arena: Handle;
  /** Listening ports, in fd order (fd 3 is the first). */
  readonly ports: readonly number[];
  readonly slots: number;
  readonly ringBytes: number;
  readonly backlog: number;
}

/** A memory the thread creates for a module that imports its memory (module.ts). */
export interface ImportedMemory {
  readonly module: string;
  readonly name: string;
  readonly initial: number;
  readonly maximum: number;
}

export interface Limits {
  /** Pages (64 KiB) the guest's memory may reach; absent: no limit beyond the module's own. */
  readonly memoryPages?: number;
  /** Most descriptors open at once (EMFILE beyond). */
  readonly maxOpenFiles: number;
}

/**
 * Output of a run, batched: `data` (a transferred ArrayBuffer) holds the chunks back to
 * back; `records` is flat, three numbers per chunk: stream (1 stdout, 2 stderr), time
 * (ms since the epoch, fractional) and byte length.
 */
export interface OutputBatch {
  readonly data: Handle;
  readonly records: readonly number[];
}

// ---------------------------------------------------------------- runtime → thread

export interface InitMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'init';
  /** The control word (absent without SharedArrayBuffer: stops are then by terminate only). */
  readonly control?: Handle;
}

export interface StartMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'start';
  /** Serial of this run in the runtime; echoed in every message about it. */
  readonly run: number;
  /** Container id, for messages. */
  readonly container: string;
  /** The compiled module (`WebAssembly.Module`), by key; `handle` only when the thread lacks it. */
  readonly module: { readonly key: string; readonly handle?: Handle };
  readonly memory?: ImportedMemory;
  readonly argv: readonly string[];
  /** `KEY=VALUE`, in order. */
  readonly env: readonly string[];
  /** Absolute; created in the root if missing. */
  readonly cwd: string;
  readonly layers: readonly LayerRef[];
  /** The upper layer of a previous run (a changeset tar), restored before the guest starts. */
  readonly upper?: Handle;
  readonly mounts: readonly MountWire[];
  /** Listening sockets (absent: the container has no ports). */
  readonly net?: NetWire;
  readonly limits: Limits;
  readonly stdin?: Handle;
  /** Send the upper back at exit (containers that may be restarted, diffed or committed). */
  readonly keepUpper: boolean;
  /** Cache entries to drop before this run. */
  readonly evict?: { readonly modules: readonly string[]; readonly layers: readonly string[] };
}

export interface StopMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'stop';
  readonly run: number;
  readonly reason: StopReason;
}

export type ToThread = InitMessage | StartMessage | StopMessage;

// ---------------------------------------------------------------- thread → runtime

export interface ReadyMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'ready';
}

export interface OutputMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'output';
  readonly run: number;
  readonly output: OutputBatch;
}

export interface ExitedMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'exited';
  readonly run: number;
  /** 0–255 from proc_exit or `_start` returning (0); 134 after a trap; 137 when stopped. */
  readonly code: number;
  readonly reason: ExitReason;
  /** The trap or failure, for `inspect` (also written to the log as stderr). */
  readonly message?: string;
  /** Output not yet sent. */
  readonly output?: OutputBatch;
  /** The upper layer as a changeset tar (`keepUpper` and not empty). */
  readonly upper?: Handle;
  /** Size of the guest's memory at exit, in bytes. */
  readonly memoryBytes: number;
}

/** The thread failed in a way that is not the guest's doing; the runtime ends the run and replaces the thread. */
export interface ErrorMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'error';
  readonly run?: number;
  readonly message: string;
  readonly stack?: string;
}

export type FromThread = ReadyMessage | OutputMessage | ExitedMessage | ErrorMessage;

export type Message = ToThread | FromThread;

// ---------------------------------------------------------------- encoding

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Collects the handles of one post. */
export class Handles {
  readonly list: unknown[] = [];
  readonly transfer: Transferable[] = [];
  /** Adds `value`; with `transfer`, its ArrayBuffer moves to the receiver (do not use it after posting). */
  add(value: unknown, transfer?: ArrayBuffer): Handle {
    this.list.push(value);
    if (transfer !== undefined) this.transfer.push(transfer);
    return this.list.length - 1;
  }
}

export interface Poster {
  post(message: unknown, transfer?: readonly Transferable[]): void;
}

/** Encodes `message` and posts it with its handles. */
export function post(to: Poster, message: Message, handles?: Handles): void {
  const packed = packr.pack(message);
  // msgpackr returns a view of its reusable buffer: copy exactly the message out, and
  // move that copy (structured clone of a view would copy its whole buffer).
  const bytes = new Uint8Array(packed.length);
  bytes.set(packed);
  const transfer: Transferable[] = [bytes.buffer];
  if (handles !== undefined) transfer.push(...handles.transfer);
  to.post([bytes, handles?.list ?? []], transfer);
}

export interface Received<M> {
  readonly message: M;
  readonly handles: readonly unknown[];
}

/** Decodes a post. Throws on anything that is not a message of this protocol version. */
export function receive<M extends Message>(raw: unknown): Received<M> {
  if (!Array.isArray(raw) || raw.length !== 2 || !(raw[0] instanceof Uint8Array) || !Array.isArray(raw[1])) {
    throw new Error('skiff protocol: not a message');
  }
  const message = packr.unpack(raw[0]) as M;
  if (message === null || typeof message !== 'object' || message.v !== PROTOCOL_VERSION) {
    throw new Error(`skiff protocol: version ${String((message as { v?: unknown } | null)?.v)}, expected ${PROTOCOL_VERSION}`);
  }
  return { message, handles: raw[1] as unknown[] };
}

/** The handle `h` of a received message, with its expected type (unchecked: both ends are this package). */
export function handle<T>(handles: readonly unknown[], h: Handle): T {
  if (h < 0 || h >= handles.length) throw new Error(`skiff protocol: handle ${h} of ${handles.length}`);
  return handles[h] as T;
}
