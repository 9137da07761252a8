/**
 * A container thread's mailbox: how the runtime hands an idle thread its next run without
 * a `postMessage` (protocol.ts). One slot in shared memory, one writer (the runtime) and
 * one reader (the thread).
 *
 * Why: a posted message costs a structured clone and a turn of each side's event loop on
 * top of waking the receiver. An idle thread instead sleeps in `Atomics.wait` on the
 * mailbox (`take`), and the runtime writes the message's bytes and notifies: the thread
 * runs as soon as the OS wakes it (20–35 µs on the VM of bench/RESULTS.md, start latency).
 *
 * Contract:
 * - The slot holds at most one letter. The runtime puts one only into a thread it has
 *   just acquired from the pool, which takes it before it can finish the run; so a letter
 *   is never overwritten unread. (Stop requests never come through the mailbox: they are
 *   the control words.)
 * - A letter is a message without handles whose bytes fit (`put` returns false
 *   otherwise). A message with handles is posted, and then `ring()` counts it and leaves
 *   a *port* letter that only wakes the thread. The thread compares the count with the
 *   posted messages it has received, and does not sleep while one is on its way (it goes
 *   back to its event loop, which delivers it): no assumption on when the event loop
 *   delivers a message, and no message waits behind a sleeping thread.
 * - `take` blocks the calling thread until a letter comes (never call it on a thread that
 *   must not block). A thread asleep in it is still ended by `terminate`.
 *
 * Layout: Int32 words [STATE, POSTED], then `capacity` bytes. STATE is 0 (empty), -1
 * (a port letter) or the byte length of the letter in the data area; POSTED counts the
 * messages posted to the thread.
 */
import { decodeMessage, encodeMessage } from './wire.js';
import { sharedBuffer } from '../layers/shared-memory.js';

/** Data bytes of a mailbox: a start message of a container with many mounts and a large environment fits. */
export const MAILBOX_CAPACITY = 64 * 1024;

const STATE = 0;
const POSTED = 1;
const EMPTY = 0;
const PORT = -1;
const HEADER_BYTES = 8;

export type Letter<M> = { readonly kind: 'message'; readonly message: M } | { readonly kind: 'port' };

export class Mailbox {
  private readonly words: Int32Array;
  private readonly data: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, 2);
    this.data = new Uint8Array(buffer, HEADER_BYTES, buffer.byteLength - HEADER_BYTES);
  }

  static create(capacity = MAILBOX_CAPACITY): Mailbox {
    return new Mailbox(sharedBuffer(HEADER_BYTES + capacity));
  }

  // ---------------------------------------------------------------- the runtime

  /** Writes `message` as the letter and wakes the thread; false (nothing written) when its bytes do not fit. */
  put(message: object): boolean {
    const bytes = encodeMessage(message);
    if (bytes.length > this.data.length) return false;
    this.data.set(bytes);
    this.deliver(bytes.length);
    return true;
  }

  /** Counts the message just posted to the thread and leaves a port letter: the thread wakes and reads its port. */
  ring(): void {
    Atomics.add(this.words, POSTED, 1);
    this.deliver(PORT);
  }

  private deliver(state: number): void {
    Atomics.store(this.words, STATE, state);
    Atomics.notify(this.words, STATE);
  }

  // ---------------------------------------------------------------- the thread

  /** Whether a letter (or a port letter) is waiting: `take` would not block. */
  hasLetter(): boolean {
    return Atomics.load(this.words, STATE) !== EMPTY;
  }

  /** How many messages were posted to the thread so far (`ring` calls): one it has not received yet is on its way. */
  posted(): number {
    return Atomics.load(this.words, POSTED);
  }

  /**
   * Waits (blocking) for the letter and empties the slot. Throws what `decode` throws on
   * bytes that are not a message of its protocol.
   */
  take<M>(name: string, version: number): Letter<M> {
    let state: number;
    while ((state = Atomics.load(this.words, STATE)) === EMPTY) Atomics.wait(this.words, STATE, EMPTY);
    if (state === PORT) {
      Atomics.store(this.words, STATE, EMPTY);
      return { kind: 'port' };
    }
    // A copy (`slice`): decoders (TextDecoder) refuse views of shared memory.
    const message = decodeMessage<M>(this.data.slice(0, state), name, version);
    Atomics.store(this.words, STATE, EMPTY);
    return { kind: 'message', message };
  }
}
