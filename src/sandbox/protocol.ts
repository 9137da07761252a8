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
 *   runtime → `init`                        (once: the thread's shared memory: control
 *                                           words, output ring, mailbox, exec slots)
 *   runtime → `start` { run: n, … }         (a container run; the thread is busy)
 *        or → `exec` { run: n, … }          (a program run in a running container's
 *                                           files, served by that container's thread)
 *   runtime → `stop` { run: n }             (only without shared memory; with it, the
 *                                           control words are the stop request)
 *   thread → `running` { run: n, … }        (its namespace is up; what exec slots serve)
 *   thread → `exited` { run: n, … }         (the run is over; the thread is idle again)
 *   thread → `error`                        (an internal failure; the thread is unusable)
 * Messages about run n that arrive after the runtime gave up on it (killed and
 * terminated) are ignored by `run` number.
 *
 * How messages travel, with shared memory (and a thread that may block):
 * - runtime → thread: `start` and `exec` go through the thread's mailbox (mailbox.ts),
 *   where the idle thread sleeps in `Atomics.wait`: no `postMessage`, no event loop on
 *   either side. A message with handles (a module or layer the thread lacks, a volume
 *   channel, sockets) is posted, and the mailbox only wakes the thread to read its port.
 * - thread → runtime: messages without handles (`running`, `exited` without an upper,
 *   `error`) are message records in the thread's output ring (output.ts), which the
 *   runtime drains anyway while a run goes on: they arrive in order with the output, by
 *   the same wake-up. `exited` with an upper (a changeset tar, moved) is posted; the
 *   runtime drains the ring before it acts on it, so it still comes after the output.
 * Without shared memory every message is posted.
 *
 * Output does not travel in messages: the thread writes stdout and stderr into its
 * output ring (output.ts) at each `fd_write`, and the runtime drains it, so output is
 * neither delayed by a guest that stops making WASI calls nor lost when its thread is
 * terminated. Only a platform without SharedArrayBuffer (no ring) gets `output`
 * messages instead, one per write.
 *
 * Exec: each thread has `EXEC_SLOTS` synchronous channels (channel.ts), made once by the
 * pool and given in `init`. While a container runs on thread C, C serves its namespace
 * on each slot with a polled `VolumeServer` (remote-fs.ts), made once the namespace is
 * up, answering at every WASI call and whenever its WAKE word is bumped while it sleeps.
 * C's `running` message says what each slot serves: mount 0 is the root (`/`), then the
 * run's mounts in `mountOrder`; the root of mount i has handle `execHandleBase(n, k) + i`
 * in slot k of run n, so a request left over from an earlier run names nothing. An
 * exec'd program on thread E gets one slot's client end (`exec.connection`); E's client
 * bumps C's WAKE word (and the network arena's, which C sleeps on in socket calls) after
 * each request, so a sleeping C wakes to answer.
 *
 * Caches: a thread keeps compiled modules and decoded layer indexes by key across runs.
 * The runtime remembers which keys each thread holds and sends a module or a layer's
 * `meta` only to a thread that lacks it; `start.evict` tells the thread what to drop, so
 * both sides agree on what is cached without a round trip.
 */
import type { RemoteMount } from './channel-protocol.js';
import { Handles, decodeMessage, handleOf, postMessage, receiveMessage, type Handle, type Poster, type Received } from './wire.js';

export { Handles, type Poster, type Received };

export const PROTOCOL_VERSION = 4;

/** Index into the handles array of the same post. */
export type { Handle };

/** Why a run ended; Kubernetes' container termination reasons, plus `Killed`. */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'Killed' | 'DeadlineExceeded';

/** A stop request's reason, written to the control word (see `Control`). */
export type StopReason = 'Killed' | 'DeadlineExceeded';

/**
 * The control words: an Int32Array of length `CONTROL_LENGTH` over a SharedArrayBuffer,
 * one per thread, sent once in `init`.
 * - `[CONTROL_STOP]` is 0 while the run may go on; the runtime stores a `STOP_*` code to
 *   stop the run (and then bumps WAKE). The thread checks it at every WASI call. The
 *   runtime resets it to 0 before posting `start` or `exec`.
 * - `[2]` is unused.
 * - `[CONTROL_WAKE]` is a counter bumped (`Atomics.add` + `notify`) by whoever wants the
 *   busy thread to look again: a stop request, a drain of the output ring that the
 *   thread waits on for room, an exec client's request. The thread's sleeps (a guest's
 *   clock sleep, a full output ring) wait on it, taking its value before they check what
 *   they wait for, so no wake-up is lost. (In socket calls the thread sleeps on the
 *   network arena's WAKE word instead, which the same parties bump.)
 */
export const CONTROL_LENGTH = 5;
export const CONTROL_STOP = 0;
export const CONTROL_WAKE = 1;
/**
 * `[CONTROL_IDLE]`: whole ms the thread's current run has spent blocked (a guest's clock
 * sleep, a socket wait, a full output ring), stored by the thread as it goes and reset to
 * 0 by it when a run starts. The runtime's `usage` subtracts it from the run's wall time
 * to estimate the guest's busy (CPU) time.
 */
export const CONTROL_IDLE = 3;
/**
 * `[CONTROL_BLOCKED]`: 0 while the guest runs; while it is blocked, when the block began
 * as `blockedStamp()` (`Date.now()` mod 2^31, plus 1), so that `usage` counts a block in
 * progress as idle at once. Without it, idle time would show only when each (up to 50 ms)
 * wait ends, and a short sampling window (a kubelet's, under a fast FakeClock) would see
 * an idle guest as busy.
 */
export const CONTROL_BLOCKED = 4;

/** `Date.now()` as stored in `[CONTROL_BLOCKED]` (never 0). */
export function blockedStamp(ms = Date.now()): number {
  return (ms % 0x7fffffff) + 1;
}

/** ms since a stamp made by `blockedStamp` (stamps wrap every 24.8 days). */
export function msSinceStamp(stamp: number, ms = Date.now()): number {
  return (((blockedStamp(ms) - stamp) % 0x7fffffff) + 0x7fffffff) % 0x7fffffff;
}
export const STOP_NONE = 0;
export const STOP_KILLED = 1;
export const STOP_DEADLINE = 2;

/** Bumps a wake counter (`[CONTROL_WAKE]` of the control words, or any word given as a one-word view) and wakes its sleepers. */
export function wake(words: Int32Array, index = 0): void {
  Atomics.add(words, index, 1);
  Atomics.notify(words, index);
}

/** Exec slots per container thread: at most this many execs run in one container at once (more wait for a slot). */
export const EXEC_SLOTS = 4;

/** The first handle number of exec slot `slot` in run `run` (remote-fs.ts `firstHandle`): distinct for every run and slot of a thread. */
export function execHandleBase(run: number, slot: number): number {
  return ((run % 0x100000) * EXEC_SLOTS + slot) * 2 ** 28 + 1;
}

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
 * Output of a run without an output ring (no SharedArrayBuffer): `data` (a transferred
 * ArrayBuffer) holds the chunks back to back; `records` is flat, three numbers per
 * chunk: stream (1 stdout, 2 stderr), time (ms since the epoch, fractional) and byte
 * length.
 */
export interface OutputBatch {
  readonly data: Handle;
  readonly records: readonly number[];
}

// ---------------------------------------------------------------- runtime → thread

/**
 * The thread's shared memory, for all its runs; all absent without SharedArrayBuffer
 * (stops are then by terminate only, output goes in messages, and exec is unsupported).
 */
export interface InitMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'init';
  /** The control words (an Int32Array). */
  readonly control?: Handle;
  /** The output ring's SharedArrayBuffer (output.ts). */
  readonly output?: Handle;
  /** The server ends (`ChannelEnd[]`, channel.ts) of the thread's `EXEC_SLOTS` exec slots. */
  readonly exec?: Handle;
  /** The mailbox's SharedArrayBuffer (mailbox.ts), when the thread may block: it sleeps there between runs. */
  readonly mailbox?: Handle;
  /**
   * The rehearsal module (a `WebAssembly.Module`, rehearsal.ts): the thread runs it once
   * before its first run and answers `rehearsed`. Absent: no rehearsal, no answer.
   */
  readonly rehearsal?: Handle;
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
  /**
   * wasmtime-style preopens (a bare module's `--dir`): when present, `mounts` are not
   * attached to a root; mount i is preopened as `preopens[i]`, each its own capability
   * (`..` above it and absolute symlinks are EPERM), and there is no `/`.
   */
  readonly preopens?: readonly string[];
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

/**
 * Runs a program in a running container's namespace (`Runtime.exec`): argv[0] is looked
 * up in the container's PATH and read from its files, through `connection`.
 */
export interface ExecMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'exec';
  readonly run: number;
  /** Container id, for messages. */
  readonly container: string;
  readonly argv: readonly string[];
  readonly env: readonly string[];
  /** Absolute; must exist in the container (it is not made). */
  readonly cwd: string;
  /**
   * Handle of a `VolumeConnection` (channel-protocol.ts) over one exec slot of the
   * container's thread: mount 0 is the container's root, the others its mounts, at
   * their paths, in `mountOrder`. Its channel end carries the bells to ring.
   */
  readonly connection: Handle;
  readonly limits: Limits;
  readonly stdin?: Handle;
}

export type ToThread = InitMessage | StartMessage | ExecMessage | StopMessage;

// ---------------------------------------------------------------- thread → runtime

export interface ReadyMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'ready';
}

/**
 * The run's namespace is up and its guest about to start. `exec`: what each of the
 * thread's exec slots serves (one list of mounts per slot), absent when the thread
 * serves no exec slots.
 */
export interface RunningMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'running';
  readonly run: number;
  readonly exec?: readonly (readonly RemoteMount[])[];
}

/** Output of a thread without an output ring (see `OutputBatch`). */
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

/** The rehearsal (init's `rehearsal`) is over: the thread is ready for runs. `error`: why it failed (the thread is still usable). */
export interface RehearsedMessage {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: 'rehearsed';
  readonly error?: string;
}

export type FromThread = ReadyMessage | RehearsedMessage | RunningMessage | OutputMessage | ExitedMessage | ErrorMessage;

export type Message = ToThread | FromThread;

// ---------------------------------------------------------------- encoding

/** Encodes `message` and posts it with its handles (wire.ts). */
export function post(to: Poster, message: Message, handles?: Handles): void {
  postMessage(to, message, handles);
}

/** Decodes a message record of a thread's output ring (output.ts). Throws as `receive` does. */
export function decode<M extends Message>(bytes: Uint8Array): M {
  return decodeMessage<M>(bytes, 'skiff protocol', PROTOCOL_VERSION);
}

/** Decodes a post. Throws on anything that is not a message of this protocol version. */
export function receive<M extends Message>(raw: unknown): Received<M> {
  return receiveMessage<M>(raw, 'skiff protocol', PROTOCOL_VERSION);
}

/** The handle `h` of a received message, with its expected type (unchecked: both ends are this package). */
export function handle<T>(handles: readonly unknown[], h: Handle): T {
  return handleOf<T>(handles, h, 'skiff protocol');
}
