/**
 * A container's network arena: one SharedArrayBuffer holding everything its sockets
 * need, shared by the runtime (host side, net/host.ts) and the container's thread (guest
 * side, net/guest.ts). Allocated once when the container starts, so no buffer ever has
 * to be handed to a thread that is blocked inside the guest.
 *
 * Contents:
 * - control words: WAKE (the host bumps it and notifies whenever the guest may have
 *   something new to do; the guest waits on it), DOORBELL (the guest bumps it and
 *   notifies whenever the host may have something to do; the host waits on it with
 *   Atomics.waitAsync);
 * - dial entries: outbound connects (a WASI 0.2 guest's `tcp-socket.start-connect`). The
 *   guest takes a FREE entry, writes the IPv4 address and port, sets it REQUESTED and rings
 *   the doorbell; the host resolves the address in the virtual network, allocates a slot
 *   for the connection and sets the entry CONNECTED (with the slot) or REFUSED; the guest
 *   reads the outcome and frees the entry. The guest allocates entries, the host only
 *   completes them, so neither needs a lock;
 * - resolve entries: name lookups (`ip-name-lookup.resolve-addresses`), the same way: the
 *   guest writes the name (UTF-8, at most RESOLVE_NAME_BYTES) and sets REQUESTED; the host
 *   answers with up to RESOLVE_ADDRESSES IPv4 addresses (RESOLVED) or UNRESOLVABLE;
 * - one accept queue per listening port: a ring of slot numbers, filled by the host,
 *   drained by `sock_accept`;
 * - connection slots: each a state word and two byte rings (host→guest, guest→host).
 *
 * Slot lifecycle: the host takes a FREE slot (state IN_USE), queues it on a listener;
 * the guest accepts it; each side marks its own release (GUEST_RELEASED on close,
 * HOST_RELEASED when the host's streams are done); the host frees a slot when both are
 * set. Only the host allocates and frees, so allocation needs no lock.
 */
import { RING_WORDS, Ring } from './ring.js';
import { sharedBuffer } from '../../layers/shared-memory.js';

export const CTRL_WAKE = 0;
export const CTRL_DOORBELL = 1;
const CTRL_WORDS = 8;

export const DIAL_FREE = 0;
export const DIAL_REQUESTED = 1;
/** The host has taken the request (the guest keeps waiting). */
export const DIAL_TAKEN = 2;
export const DIAL_CONNECTED = 3;
export const DIAL_REFUSED = 4;
/** Outbound connects in progress at once, per container. */
export const DIAL_ENTRIES = 16;
const DIAL_WORDS = 4; // state, IPv4 address (big-endian u32), port, slot

export const RESOLVE_REQUESTED = 1;
export const RESOLVE_TAKEN = 2;
export const RESOLVE_DONE = 3;
/** Name lookups in progress at once, per container. */
export const RESOLVE_ENTRIES = 4;
/** The longest name looked up (a DNS name is at most 253). */
export const RESOLVE_NAME_BYTES = 256;
/** Addresses one lookup answers with, at most. */
export const RESOLVE_ADDRESSES = 8;
// state, name length, address count (-1: unresolvable), the addresses, then the name's bytes
const RESOLVE_WORDS = 3 + RESOLVE_ADDRESSES + RESOLVE_NAME_BYTES / 4;
const RESOLVE_BASE = CTRL_WORDS + DIAL_ENTRIES * DIAL_WORDS;

export const SLOT_FREE = 0;
export const SLOT_IN_USE = 1;
export const SLOT_GUEST_RELEASED = 2;
export const SLOT_HOST_RELEASED = 4;

export interface ArenaLayout {
  /** Listening ports, in listener order (the guest's fds 3, 4, … in that order). */
  readonly ports: readonly number[];
  readonly slots: number;
  /** Bytes per ring (power of two). */
  readonly ringBytes: number;
  /** Entries per accept queue (power of two): the listen backlog. */
  readonly backlog: number;
}

export const defaultArena: Omit<ArenaLayout, 'ports'> = { slots: 64, ringBytes: 64 * 1024, backlog: 128 };

/** Word offsets of everything, computed identically on both sides from the layout. */
export class Arena {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  private readonly listenerBase: number;
  private readonly slotBase: number;
  private readonly dataBase: number;
  private readonly rings: Ring[] = [];

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly layout: ArenaLayout,
  ) {
    const { ports, slots, backlog } = layout;
    this.listenerBase = RESOLVE_BASE + RESOLVE_ENTRIES * RESOLVE_WORDS;
    this.slotBase = this.listenerBase + ports.length * (2 + backlog);
    const totalWords = this.slotBase + slots * (1 + 2 * RING_WORDS);
    this.dataBase = totalWords * 4;
    this.words = new Int32Array(buffer, 0, totalWords);
    this.bytes = new Uint8Array(buffer, 0, buffer.byteLength);
    for (let s = 0; s < slots; s++) {
      for (let dir = 0; dir < 2; dir++) {
        const w = this.slotBase + s * (1 + 2 * RING_WORDS) + 1 + dir * RING_WORDS;
        const at = this.dataBase + (s * 2 + dir) * layout.ringBytes;
        this.rings.push(new Ring(this.words, w, new Uint8Array(buffer, at, layout.ringBytes)));
      }
    }
  }

  /** A new, zeroed arena for `layout`. */
  static create(layout: ArenaLayout): Arena {
    const words = RESOLVE_BASE + RESOLVE_ENTRIES * RESOLVE_WORDS + layout.ports.length * (2 + layout.backlog) + layout.slots * (1 + 2 * RING_WORDS);
    const buffer = sharedBuffer(words * 4 + layout.slots * 2 * layout.ringBytes);
    return new Arena(buffer, layout);
  }

  /** The ring carrying bytes from the host to the guest in `slot`. */
  toGuest(slot: number): Ring {
    return this.rings[slot * 2] as Ring;
  }
  /** The ring carrying bytes from the guest to the host in `slot`. */
  fromGuest(slot: number): Ring {
    return this.rings[slot * 2 + 1] as Ring;
  }
  slotState(slot: number): number {
    return Atomics.load(this.words, this.slotBase + slot * (1 + 2 * RING_WORDS));
  }
  setSlotState(slot: number, state: number): void {
    Atomics.store(this.words, this.slotBase + slot * (1 + 2 * RING_WORDS), state);
  }
  orSlotState(slot: number, bits: number): void {
    Atomics.or(this.words, this.slotBase + slot * (1 + 2 * RING_WORDS), bits);
  }

  /** Host: queues `slot` on listener `l`; false when the backlog is full. */
  enqueue(l: number, slot: number): boolean {
    const q = this.listenerBase + l * (2 + this.layout.backlog);
    const head = Atomics.load(this.words, q);
    const tail = Atomics.load(this.words, q + 1);
    if (((head - tail) >>> 0) >= this.layout.backlog) return false;
    Atomics.store(this.words, q + 2 + (head & (this.layout.backlog - 1)), slot);
    Atomics.store(this.words, q, (head + 1) | 0);
    return true;
  }
  /** Guest: the next queued slot of listener `l`, or -1. */
  dequeue(l: number): number {
    const q = this.listenerBase + l * (2 + this.layout.backlog);
    const head = Atomics.load(this.words, q);
    const tail = Atomics.load(this.words, q + 1);
    if (head === tail) return -1;
    const slot = Atomics.load(this.words, q + 2 + (tail & (this.layout.backlog - 1)));
    Atomics.store(this.words, q + 1, (tail + 1) | 0);
    return slot;
  }
  queued(l: number): number {
    const q = this.listenerBase + l * (2 + this.layout.backlog);
    return (Atomics.load(this.words, q) - Atomics.load(this.words, q + 1)) >>> 0;
  }

  /** Guest: requests a connection to `address:port`; the entry, or -1 when DIAL_ENTRIES are in progress. */
  dial(address: number, port: number): number {
    for (let e = 0; e < DIAL_ENTRIES; e++) {
      const w = CTRL_WORDS + e * DIAL_WORDS;
      if (Atomics.load(this.words, w) !== DIAL_FREE) continue;
      Atomics.store(this.words, w + 1, address | 0);
      Atomics.store(this.words, w + 2, port);
      Atomics.store(this.words, w + 3, -1);
      Atomics.store(this.words, w, DIAL_REQUESTED);
      this.ringDoorbell();
      return e;
    }
    return -1;
  }
  /** Guest: the entry's state, and the connection's slot once CONNECTED. */
  dialState(entry: number): { state: number; slot: number } {
    const w = CTRL_WORDS + entry * DIAL_WORDS;
    const state = Atomics.load(this.words, w);
    return { state, slot: Atomics.load(this.words, w + 3) };
  }
  /** Guest: frees a CONNECTED or REFUSED entry (a REQUESTED or TAKEN one stays the host's until it completes). */
  dialDone(entry: number): void {
    Atomics.store(this.words, CTRL_WORDS + entry * DIAL_WORDS, DIAL_FREE);
  }
  /** Host: the REQUESTED entries, each marked TAKEN, with their address (u32) and port. */
  takeDials(): { entry: number; address: number; port: number }[] {
    const out: { entry: number; address: number; port: number }[] = [];
    for (let e = 0; e < DIAL_ENTRIES; e++) {
      const w = CTRL_WORDS + e * DIAL_WORDS;
      if (Atomics.compareExchange(this.words, w, DIAL_REQUESTED, DIAL_TAKEN) !== DIAL_REQUESTED) continue;
      out.push({ entry: e, address: Atomics.load(this.words, w + 1) >>> 0, port: Atomics.load(this.words, w + 2) });
    }
    return out;
  }
  /** Host: completes a TAKEN entry: connected on `slot`, or refused (slot -1); wakes the guest. */
  completeDial(entry: number, slot: number): void {
    const w = CTRL_WORDS + entry * DIAL_WORDS;
    Atomics.store(this.words, w + 3, slot);
    Atomics.store(this.words, w, slot >= 0 ? DIAL_CONNECTED : DIAL_REFUSED);
    this.wakeGuest();
  }

  /** Guest: requests the addresses of `name` (UTF-8, at most RESOLVE_NAME_BYTES); the entry, or -1 when all are in use. */
  resolve(name: Uint8Array): number {
    for (let e = 0; e < RESOLVE_ENTRIES; e++) {
      const w = RESOLVE_BASE + e * RESOLVE_WORDS;
      if (Atomics.load(this.words, w) !== DIAL_FREE) continue;
      this.bytes.set(name.subarray(0, RESOLVE_NAME_BYTES), (w + 3 + RESOLVE_ADDRESSES) * 4);
      Atomics.store(this.words, w + 1, Math.min(name.length, RESOLVE_NAME_BYTES));
      Atomics.store(this.words, w, RESOLVE_REQUESTED);
      this.ringDoorbell();
      return e;
    }
    return -1;
  }
  /** Guest: undefined while pending; then the addresses (big-endian u32s; none: unresolvable), and the entry is free again. */
  resolved(entry: number): number[] | undefined {
    const w = RESOLVE_BASE + entry * RESOLVE_WORDS;
    if (Atomics.load(this.words, w) !== RESOLVE_DONE) return undefined;
    const count = Math.max(0, Atomics.load(this.words, w + 2));
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(Atomics.load(this.words, w + 3 + i) >>> 0);
    Atomics.store(this.words, w, DIAL_FREE);
    return out;
  }
  /** Guest: a lookup entry's state. */
  resolveState(entry: number): number {
    return Atomics.load(this.words, RESOLVE_BASE + entry * RESOLVE_WORDS);
  }
  /** Host: the REQUESTED lookups, each marked TAKEN, with their names. */
  takeResolves(): { entry: number; name: string }[] {
    const out: { entry: number; name: string }[] = [];
    for (let e = 0; e < RESOLVE_ENTRIES; e++) {
      const w = RESOLVE_BASE + e * RESOLVE_WORDS;
      if (Atomics.compareExchange(this.words, w, RESOLVE_REQUESTED, RESOLVE_TAKEN) !== RESOLVE_REQUESTED) continue;
      const length = Atomics.load(this.words, w + 1);
      // A copy: TextDecoder refuses views of shared memory.
      const name = new TextDecoder().decode(this.bytes.slice((w + 3 + RESOLVE_ADDRESSES) * 4, (w + 3 + RESOLVE_ADDRESSES) * 4 + length));
      out.push({ entry: e, name });
    }
    return out;
  }
  /** Host: answers a TAKEN lookup with up to RESOLVE_ADDRESSES addresses (none: unresolvable); wakes the guest. */
  completeResolve(entry: number, addresses: readonly number[]): void {
    const w = RESOLVE_BASE + entry * RESOLVE_WORDS;
    const n = Math.min(addresses.length, RESOLVE_ADDRESSES);
    for (let i = 0; i < n; i++) Atomics.store(this.words, w + 3 + i, (addresses[i] as number) | 0);
    Atomics.store(this.words, w + 2, n);
    Atomics.store(this.words, w, RESOLVE_DONE);
    this.wakeGuest();
  }

  /** Tells the guest to look again (wakes a blocked sock_accept, read or poll). */
  wakeGuest(): void {
    Atomics.add(this.words, CTRL_WAKE, 1);
    Atomics.notify(this.words, CTRL_WAKE);
  }
  /** Tells the host to look again. */
  ringDoorbell(): void {
    Atomics.add(this.words, CTRL_DOORBELL, 1);
    Atomics.notify(this.words, CTRL_DOORBELL);
  }
}
