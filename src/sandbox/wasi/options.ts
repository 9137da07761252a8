/**
 * What a WASI preview 1 instance is given. Denied by default (wasmtime's rule, STYLE §8):
 * no argument, environment variable, directory, clock or randomness reaches the guest
 * except through these options; the defaults grant nothing but the real clocks and
 * crypto randomness (both injectable for deterministic tests).
 */
import type { Errno } from '../../layers/errno.js';
import type { VNode, Vfs } from '../vfs.js';

/** Where the guest's standard streams go. Writes are delivered synchronously, in order. */
export interface Stdio {
  /** Bytes the guest reads on fd 0, then EOF. Default: empty (immediate EOF). */
  readonly stdin?: Uint8Array;
  /** Called for every write to fd 1 with a copy of the bytes (the caller may keep it). */
  readonly stdout?: (chunk: Uint8Array) => void;
  readonly stderr?: (chunk: Uint8Array) => void;
}

/** Time as the guest sees it. All in nanoseconds. */
export interface WasiClock {
  /** Wall clock, ns since the epoch. */
  realtime(): bigint;
  /** Monotonic clock, ns from an arbitrary origin. */
  monotonic(): bigint;
  /** Blocks the calling thread for `ns` (poll_oneoff on clocks). Must not be called on a browser's main thread. */
  sleep(ns: bigint): void;
}

export interface Preopen {
  /** The name the guest sees (`fd_prestat_dir_name`), e.g. `/` or `/data` or `.`. */
  readonly name: string;
  readonly dir: VNode;
}

/**
 * An extra descriptor placed in the fd table before the preopened directories (fd 3
 * onward), e.g. a pre-opened listening socket (wasmtime's `--tcplisten`). Implemented by
 * the network layer; the WASI layer only dispatches to it.
 */
export interface ExtraDescriptor {
  readonly filetype: number;
  /** fdflags (NONBLOCK may be set by the guest through fd_fdstat_set_flags). */
  flags: number;
  close(): void;
  read?(dst: Uint8Array): number | Errno;
  write?(src: Uint8Array): number | Errno;
  /** For poll_oneoff: is a read (or write) possible without blocking; `nbytes` and hang-up for the event. */
  ready?(kind: 'read' | 'write'): { ready: boolean; nbytes: number; hangup: boolean };
  /** sock_accept: a new connected descriptor, or an errno (EAGAIN when none is pending and non-blocking). */
  accept?(): ExtraDescriptor | Errno;
  shutdown?(how: number): Errno | undefined;
}

export interface Preview1Options {
  /** argv, including argv[0]. */
  readonly args: readonly string[];
  /** `KEY=VALUE` strings, in order. */
  readonly env: readonly string[];
  /** The filesystem namespace the preopens belong to. */
  readonly vfs?: Vfs;
  /** Directories given to the guest, in fd order after `extraFds`. */
  readonly preopens?: readonly Preopen[];
  /** Descriptors at fd 3 onward, before the preopens (sockets). */
  readonly extraFds?: readonly ExtraDescriptor[];
  readonly stdio?: Stdio;
  readonly clock?: WasiClock;
  /** Fills the array with random bytes (default: crypto.getRandomValues). */
  readonly random?: (buf: Uint8Array) => void;
  /** Most descriptors open at once, stdio and preopens included (EMFILE beyond). Default 1024. */
  readonly maxOpenFiles?: number;
  /**
   * Called at the start of every WASI call and periodically while a call blocks. The
   * container thread uses it to notice a stop request and to serve other threads'
   * requests. It may throw to end the guest (the exception propagates out of `start`).
   */
  readonly checkpoint?: () => void;
  /**
   * How a blocking call (a socket read or accept, poll_oneoff on sockets) sleeps until
   * something changes. `snapshot()` is read *before* readiness is checked and passed to
   * `wait`, which returns at once if anything was signalled since the snapshot (no lost
   * wake-ups), else blocks until signalled or `ns` passes (undefined: no timeout).
   * Default: sleeps on the clock in 1 ms steps.
   */
  readonly waiter?: Waiter;
}

export interface Waiter {
  snapshot(): number;
  wait(snapshot: number, ns: bigint | undefined): void;
}
