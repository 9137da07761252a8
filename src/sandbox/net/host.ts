/**
 * The host side of a container's network arena (runs in the runtime's thread): opens
 * virtual connections to the container's listening ports and moves bytes between them
 * and ordinary web streams, with back-pressure both ways.
 *
 * `connect(port)` gives `{ readable, writable }`. Nothing here dials a real socket:
 * published host ports (platform/node) and `fetch` are built on top of `connect`.
 *
 * Waking: the guest rings the arena's doorbell on every change; one `Atomics.waitAsync`
 * loop per container wakes whatever waits here (a stream read, a stream write waiting for
 * space, a queued connection waiting for backlog room, a slot to free). Without
 * Atomics.waitAsync (older browsers) the loop polls every millisecond while connections
 * are open.
 */
import type { Errno } from '../../layers/errno.js';
import { Errno as ErrnoClass } from '../../layers/errno.js';
import { type Arena, CTRL_DOORBELL, SLOT_FREE, SLOT_GUEST_RELEASED, SLOT_HOST_RELEASED, SLOT_IN_USE } from './arena.js';
import { RING_CLOSED, RING_END } from './ring.js';

export interface VirtualConnection {
  /** Bytes the container sends; ends when it closes or shuts down writing. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the container; closing it is a half-close (the container reads EOF). */
  readonly writable: WritableStream<Uint8Array>;
  /** Aborts both directions at once (the container's next read gives EOF, its next write EPIPE). */
  close(): void;
}

export const ECONNREFUSED = ErrnoClass.of('ENOTCONN');

/** Thrown into a connection's streams when the container goes away. */
export class ConnectionClosedError extends Error {}

/**
 * Resolves an outbound connect of the guest's (an IPv4 address as a big-endian u32, and a
 * port) to a connection to another container's port, or undefined: refused.
 */
export type Dialer = (address: number, port: number) => Promise<VirtualConnection | undefined>;

/** Resolves a name the guest looks up to IPv4 addresses (big-endian u32s); none: unresolvable. */
export type Resolver = (name: string) => Promise<readonly number[]>;

interface Pending {
  readonly listener: number;
  readonly slot: number;
}

export class ContainerNetwork {
  private waiters: (() => void)[] = [];
  private readonly pending: Pending[] = [];
  private readonly open = new Set<number>();
  private readonly streams = new Map<number, { failWrites: (e: Error) => void }>();
  private looping = false;
  private stopped = false;
  private dialer: Dialer | undefined;
  private resolver: Resolver | undefined;

  constructor(readonly arena: Arena) {}

  /** Ports with a listening socket in the container. */
  get ports(): readonly number[] {
    return this.arena.layout.ports;
  }

  /**
   * A new connection to `port`, queued on the container's listening socket (it completes
   * when the guest accepts it; bytes written before that wait in the ring). ENOTCONN if
   * nothing listens on `port` or the container is gone.
   */
  connect(port: number): VirtualConnection | Errno {
    const listener = this.arena.layout.ports.indexOf(port);
    if (listener < 0 || this.stopped) return ECONNREFUSED;
    const slot = this.allocate();
    if (slot < 0) return ErrnoClass.of('EAGAIN');
    this.open.add(slot);
    if (this.arena.enqueue(listener, slot)) this.arena.wakeGuest();
    else this.pending.push({ listener, slot });
    this.ensureLoop();
    return this.streamsFor(slot);
  }

  /**
   * Serves the guest's outbound connects through `dialer`, and its name lookups through
   * `resolver` (none: every name is unresolvable), from now on (the loop then runs for as
   * long as the network does). Each connect gets a slot of this arena, joined both
   * ways to the dialled connection with back-pressure; either side's end or failure ends
   * the other.
   */
  enableDial(dialer: Dialer, resolver?: Resolver): void {
    this.dialer = dialer;
    this.resolver = resolver;
    this.ensureLoop();
  }

  private async serveResolve(entry: number, name: string, resolver: Resolver | undefined): Promise<void> {
    let addresses: readonly number[] = [];
    try {
      addresses = resolver === undefined ? [] : await resolver(name);
    } catch {
      addresses = [];
    }
    if (!this.stopped) this.arena.completeResolve(entry, addresses);
  }

  private async serveDial(entry: number, address: number, port: number, dialer: Dialer): Promise<void> {
    let remote: VirtualConnection | undefined;
    try {
      remote = await dialer(address, port);
    } catch {
      remote = undefined;
    }
    if (remote === undefined || this.stopped) {
      remote?.close();
      this.arena.completeDial(entry, -1);
      return;
    }
    let slot = this.allocate();
    while (slot < 0 && !this.stopped) {
      await this.change();
      slot = this.allocate();
    }
    if (slot < 0) {
      remote.close();
      this.arena.completeDial(entry, -1);
      return;
    }
    this.open.add(slot);
    const local = this.streamsFor(slot);
    this.arena.completeDial(entry, slot);
    const end = (): void => {
      local.close();
      remote.close();
    };
    // A direction that ends cleanly half-closes the other side; a failure ends both.
    void local.readable.pipeTo(remote.writable).catch(end);
    void remote.readable.pipeTo(local.writable).catch(end);
  }

  /**
   * The container is gone: stops the loop and ends every connection. Idempotent. What the
   * guest wrote before it went is still read (as a kernel flushes a socket's send buffer
   * when the process exits), then its end: EOF where the guest had shut down or closed
   * its side, else a `ConnectionClosedError`. Writes to it fail at once.
   */
  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    const err = new ConnectionClosedError('container stopped');
    for (const s of this.streams.values()) s.failWrites(err);
    this.streams.clear();
    // Pulls waiting for bytes look again: they deliver what is left, then end.
    this.wakeAll();
    Atomics.notify(this.arena.words, CTRL_DOORBELL);
  }

  /**
   * Resolves at the next change the guest signals (a connection released, bytes moved),
   * or at once when the network is shut down: for a caller waiting for a free slot.
   */
  whenChanged(): Promise<void> {
    return this.stopped ? Promise.resolve() : this.change();
  }

  /** Whether `shutdown` was called. */
  get isShutdown(): boolean {
    return this.stopped;
  }

  /** Connections not yet released by both sides (for leak checks). */
  get openConnections(): number {
    return this.open.size;
  }

  private allocate(): number {
    for (let s = 0; s < this.arena.layout.slots; s++) {
      if (this.arena.slotState(s) === SLOT_FREE) {
        this.arena.toGuest(s).reset();
        this.arena.fromGuest(s).reset();
        this.arena.setSlotState(s, SLOT_IN_USE);
        return s;
      }
    }
    return -1;
  }

  private streamsFor(slot: number): VirtualConnection {
    const arena = this.arena;
    const toGuest = arena.toGuest(slot);
    const fromGuest = arena.fromGuest(slot);
    let readDone = false;
    let writeDone = false;
    let released = false;
    const release = (): void => {
      // Once: a second release after the slot was freed (and maybe reused) would mark a slot that is no longer ours.
      if (!readDone || !writeDone || released) return;
      released = true;
      arena.orSlotState(slot, SLOT_HOST_RELEASED);
      this.streams.delete(slot);
      this.reclaim();
    };
    let readCtl: ReadableStreamDefaultController<Uint8Array> | undefined;
    let writeCtl: WritableStreamDefaultController | undefined;
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          readCtl = c;
        },
        pull: async (c) => {
          for (;;) {
            // Flags before bytes: the guest publishes its last bytes before it sets END, so
            // an END seen first means nothing more can arrive after the bytes read now.
            const ended = (fromGuest.flags() & RING_END) !== 0;
            const n = fromGuest.available();
            if (n > 0) {
              const buf = new Uint8Array(Math.min(n, 256 * 1024));
              fromGuest.read(buf);
              arena.wakeGuest();
              c.enqueue(buf);
              return;
            }
            if (ended) {
              readDone = true;
              c.close();
              release();
              return;
            }
            // Gone without ending its side, and nothing left to read.
            if (this.stopped) throw new ConnectionClosedError('container stopped');
            await this.change();
          }
        },
        cancel: () => {
          fromGuest.setFlag(RING_CLOSED);
          arena.wakeGuest();
          readDone = true;
          release();
        },
      },
      { highWaterMark: 0 },
    );
    const writable = new WritableStream<Uint8Array>({
      start: (c) => {
        writeCtl = c;
      },
      write: async (chunk) => {
        let off = 0;
        while (off < chunk.length) {
          if (this.stopped) throw new ConnectionClosedError('container stopped');
          if (toGuest.flags() & RING_CLOSED || arena.slotState(slot) & SLOT_GUEST_RELEASED) throw new ConnectionClosedError('the container closed the connection (EPIPE)');
          const n = toGuest.write(chunk.subarray(off));
          if (n > 0) {
            off += n;
            arena.wakeGuest();
          } else await this.change();
        }
      },
      close: () => {
        toGuest.setFlag(RING_END);
        arena.wakeGuest();
        writeDone = true;
        release();
      },
      abort: () => {
        toGuest.setFlag(RING_END);
        arena.wakeGuest();
        writeDone = true;
        release();
      },
    });
    this.streams.set(slot, {
      failWrites: (e) => writeCtl?.error(e),
    });
    return {
      readable,
      writable,
      close: () => {
        // Only while the slot is ours: once released it may already carry another connection.
        if (released) return;
        fromGuest.setFlag(RING_CLOSED);
        toGuest.setFlag(RING_END);
        arena.wakeGuest();
        const e = new ConnectionClosedError('connection closed');
        try {
          readCtl?.error(e);
        } catch {
          /* already closed */
        }
        writeCtl?.error(e);
        readDone = writeDone = true;
        release();
      },
    };
  }

  /** Resolves at the next doorbell (or host-side change). */
  private change(): Promise<void> {
    this.ensureLoop();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Frees slots released by both sides; queues pending connections into freed backlog room. */
  private reclaim(): void {
    let freed = false;
    for (const slot of this.open) {
      const st = this.arena.slotState(slot);
      if ((st & (SLOT_GUEST_RELEASED | SLOT_HOST_RELEASED)) === (SLOT_GUEST_RELEASED | SLOT_HOST_RELEASED)) {
        this.arena.setSlotState(slot, SLOT_FREE);
        this.open.delete(slot);
        freed = true;
      }
    }
    // A slot freed by the host's own release rings no doorbell: wake whoever waits for one.
    if (freed) this.wakeAll();
    while (this.pending.length > 0) {
      const p = this.pending[0] as Pending;
      if (!this.arena.enqueue(p.listener, p.slot)) break;
      this.pending.shift();
      this.arena.wakeGuest();
    }
  }

  private ensureLoop(): void {
    if (this.looping || this.stopped) return;
    this.looping = true;
    const words = this.arena.words;
    const step = (): void => {
      if (this.stopped) {
        this.looping = false;
        return;
      }
      const seen = Atomics.load(words, CTRL_DOORBELL);
      this.reclaim();
      this.wakeAll();
      const dialer = this.dialer;
      if (dialer !== undefined) {
        for (const d of this.arena.takeDials()) void this.serveDial(d.entry, d.address, d.port, dialer);
        for (const r of this.arena.takeResolves()) void this.serveResolve(r.entry, r.name, this.resolver);
      }
      // Idle: nothing open, nobody waiting, and no outbound connects to serve.
      if (this.open.size === 0 && this.waiters.length === 0 && this.pending.length === 0 && dialer === undefined) {
        this.looping = false;
        return;
      }
      const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string } }).waitAsync;
      if (waitAsync !== undefined) {
        // A bounded wait keeps an idle-but-open connection from pinning the loop forever.
        const r = waitAsync(words, CTRL_DOORBELL, seen, 1000);
        if (r.async) void (r.value as Promise<string>).then(step);
        else queueMicrotask(step);
      } else {
        setTimeout(step, 1);
      }
    };
    queueMicrotask(step);
  }
}
