/**
 * The guest side of a container's network arena: the pre-opened listening sockets a
 * WASI guest accepts on (fd 3 onward, wasmtime's `--tcplisten` convention) and the
 * connected sockets `sock_accept` returns, as Preview1 `ExtraDescriptor`s.
 *
 * Semantics follow wasmtime's preview1 sockets: reads return EAGAIN when nothing is
 * there (the WASI layer blocks unless the descriptor is non-blocking), 0 at end of
 * stream; a write to a connection whose peer is gone is EPIPE; accept on an empty queue
 * is EAGAIN. Every change the host must see rings the arena's doorbell.
 *
 * Runs in the container's thread; never blocks itself (Preview1 does the blocking, via
 * `waiter`).
 */
import { wasi } from '@bjorn3/browser_wasi_shim';
import { EAGAIN, EPIPE, ENOTCONN, type Errno } from '../../layers/errno.js';
import type { ExtraDescriptor, Waiter } from '../wasi/options.js';
import { type Arena, CTRL_WAKE, DIAL_CONNECTED, DIAL_REFUSED, RESOLVE_DONE, SLOT_GUEST_RELEASED } from './arena.js';
import { RING_CLOSED, RING_END } from './ring.js';

export class Listener implements ExtraDescriptor {
  readonly filetype = wasi.FILETYPE_SOCKET_STREAM;
  flags = 0;
  private closed = false;
  constructor(
    private readonly arena: Arena,
    private readonly index: number,
  ) {}
  accept(): ExtraDescriptor | Errno {
    if (this.closed) return ENOTCONN;
    const slot = this.arena.dequeue(this.index);
    if (slot < 0) return EAGAIN;
    this.arena.ringDoorbell();
    return new Connection(this.arena, slot);
  }
  ready(kind: 'read' | 'write'): { ready: boolean; nbytes: number; hangup: boolean } {
    if (kind === 'write') return { ready: false, nbytes: 0, hangup: false };
    const n = this.arena.queued(this.index);
    return { ready: n > 0, nbytes: n, hangup: false };
  }
  close(): void {
    this.closed = true;
  }
}

export class Connection implements ExtraDescriptor {
  readonly filetype = wasi.FILETYPE_SOCKET_STREAM;
  flags = 0;
  private released = false;
  constructor(
    private readonly arena: Arena,
    private readonly slot: number,
  ) {}
  read(dst: Uint8Array): number | Errno {
    const ring = this.arena.toGuest(this.slot);
    // Flags before bytes: the host publishes its last bytes before it sets END, so an END
    // seen here means every byte is already visible (read the other way round, bytes and
    // END arriving in between would read as EOF with the bytes left unread).
    const ended = (ring.flags() & (RING_END | RING_CLOSED)) !== 0;
    const n = ring.read(dst);
    if (n > 0) {
      // Space freed: the host may have more to push.
      this.arena.ringDoorbell();
      return n;
    }
    return ended ? 0 : EAGAIN;
  }
  write(src: Uint8Array): number | Errno {
    const ring = this.arena.fromGuest(this.slot);
    const f = ring.flags();
    if (f & (RING_CLOSED | RING_END)) return EPIPE;
    const n = ring.write(src);
    if (n === 0) return EAGAIN;
    this.arena.ringDoorbell();
    return n;
  }
  ready(kind: 'read' | 'write'): { ready: boolean; nbytes: number; hangup: boolean } {
    if (kind === 'read') {
      const ring = this.arena.toGuest(this.slot);
      const ended = (ring.flags() & (RING_END | RING_CLOSED)) !== 0; // before the bytes, as in read()
      const n = ring.available();
      return { ready: n > 0 || ended, nbytes: n, hangup: ended && n === 0 };
    }
    const ring = this.arena.fromGuest(this.slot);
    const closed = (ring.flags() & RING_CLOSED) !== 0;
    const space = ring.space();
    return { ready: space > 0 || closed, nbytes: space, hangup: closed };
  }
  shutdown(how: number): Errno | undefined {
    if (how & wasi.SDFLAGS_RD) this.arena.toGuest(this.slot).setFlag(RING_CLOSED);
    if (how & wasi.SDFLAGS_WR) this.arena.fromGuest(this.slot).setFlag(RING_END);
    this.arena.ringDoorbell();
    return undefined;
  }
  close(): void {
    if (this.released) return;
    this.released = true;
    this.arena.fromGuest(this.slot).setFlag(RING_END);
    this.arena.toGuest(this.slot).setFlag(RING_CLOSED);
    this.arena.orSlotState(this.slot, SLOT_GUEST_RELEASED);
    this.arena.ringDoorbell();
  }
}

export class GuestNet {
  /** Dial entries whose socket was dropped before the outcome was read: freed (and their connection closed) once complete. */
  private readonly abandoned = new Set<number>();
  private readonly abandonedResolves = new Set<number>();

  constructor(readonly arena: Arena) {}

  /**
   * Starts an outbound connect to the IPv4 `address` (a big-endian u32) and `port`; the
   * host completes it (arena.ts, dial entries). The entry to pass to `dialOutcome`, or
   * undefined when too many connects are in progress. Never blocks.
   */
  dial(address: number, port: number): number | undefined {
    this.sweep();
    const entry = this.arena.dial(address, port);
    return entry < 0 ? undefined : entry;
  }

  /** The outcome of a dial: 'pending', 'refused', or the connection (the entry is freed once it has completed). */
  dialOutcome(entry: number): 'pending' | 'refused' | Connection {
    const { state, slot } = this.arena.dialState(entry);
    if (state === DIAL_CONNECTED) {
      this.arena.dialDone(entry);
      return new Connection(this.arena, slot);
    }
    if (state === DIAL_REFUSED) {
      this.arena.dialDone(entry);
      return 'refused';
    }
    return 'pending';
  }

  /** Starts a lookup of `name`; the entry for `resolved`, or undefined when too many are in progress. Never blocks. */
  resolve(name: string): number | undefined {
    this.sweep();
    const entry = this.arena.resolve(new TextEncoder().encode(name));
    return entry < 0 ? undefined : entry;
  }

  /** A lookup's addresses (big-endian u32s; none: unresolvable), or undefined while pending; the entry is freed once read. */
  resolved(entry: number): number[] | undefined {
    return this.arena.resolved(entry);
  }

  /** Whether a lookup has its answer (without reading it). */
  resolveDone(entry: number): boolean {
    return this.arena.resolveState(entry) === RESOLVE_DONE;
  }

  /** The lookup's stream was dropped before its answer: the entry is freed once the answer comes. */
  abandonResolve(entry: number): void {
    this.abandonedResolves.add(entry);
    this.sweep();
  }

  /** Whether a dial has completed (its outcome is ready to read). */
  dialDone(entry: number): boolean {
    const { state } = this.arena.dialState(entry);
    return state === DIAL_CONNECTED || state === DIAL_REFUSED;
  }

  /** The socket of a dial in progress was dropped: its connection, if it comes, is closed at once. */
  abandon(entry: number): void {
    this.abandoned.add(entry);
    this.sweep();
  }

  private sweep(): void {
    for (const entry of this.abandonedResolves) if (this.arena.resolved(entry) !== undefined) this.abandonedResolves.delete(entry);
    for (const entry of this.abandoned) {
      const outcome = this.dialOutcome(entry);
      if (outcome === 'pending') continue;
      this.abandoned.delete(entry);
      if (outcome !== 'refused') outcome.close();
    }
  }

  /** One listening socket per port of the layout, in order: the guest's fds 3, 4, …. */
  listeners(): Listener[] {
    return this.arena.layout.ports.map((_, i) => new Listener(this.arena, i));
  }

  /** Blocks on the arena's WAKE word (the host bumps it on every change the guest may care about). */
  readonly waiter: Waiter = {
    snapshot: () => Atomics.load(this.arena.words, CTRL_WAKE),
    wait: (snapshot, ns) => {
      const ms = ns === undefined ? 50 : Math.min(50, Number(ns) / 1e6);
      // Wake at least every 50 ms so the caller's checkpoint (stop requests) runs.
      Atomics.wait(this.arena.words, CTRL_WAKE, snapshot, Math.max(0, ms));
    },
  };
}
