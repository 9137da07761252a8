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

export const CTRL_WAKE = 0;
export const CTRL_DOORBELL = 1;
const CTRL_WORDS = 8;

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
    this.listenerBase = CTRL_WORDS;
    this.slotBase = this.listenerBase + ports.length * (2 + backlog);
    const totalWords = this.slotBase + slots * (1 + 2 * RING_WORDS);
    this.dataBase = totalWords * 4;
    this.words = new Int32Array(buffer, 0, totalWords);
    this.bytes = new Uint8Array(buffer);
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
    const words = CTRL_WORDS + layout.ports.length * (2 + layout.backlog) + layout.slots * (1 + 2 * RING_WORDS);
    const buffer = new SharedArrayBuffer(words * 4 + layout.slots * 2 * layout.ringBytes);
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
