/**
 * A run's stdout and stderr on their way from its thread to the runtime: one
 * single-producer single-consumer byte ring in shared memory (net/ring.ts), written
 * synchronously by the thread at each `fd_write` and drained by the runtime, so output is
 * visible within a wake-up of being written, whatever the guest does next (compute
 * forever, or be killed), and nothing written before the run ended is lost.
 *
 * Words:
 * - A *record* is one write (or a piece of one): a 16-byte header — stream (1 stdout,
 *   2 stderr, u32), byte length (u32), time (f64, ms since the epoch, when the thread
 *   took the write) — then the bytes. Stream 3 is a *message record*: a protocol
 *   message from the thread (protocol.ts), never split, so that it reaches the runtime in
 *   order with the output before it and by the same wake-up. A record is published
 *   whole (`Ring.writeAll`: one index store), so the reader never sees a header without
 *   its bytes. A write larger than the free space goes as several records with the same
 *   time.
 * - The *doorbell*: the reader, before it sleeps (`Atomics.waitAsync`), sets
 *   READER_WAITING; a writer that publishes a record and finds it set clears it, bumps
 *   DOORBELL and notifies. So a stream of writes costs one wake-up per drain, not one
 *   per write, and no wake-up is lost (both sides use sequentially consistent atomics:
 *   either the writer sees the flag, or the reader, checking after setting it, sees the
 *   record).
 * - *Back-pressure*: a full ring blocks the writer, as a pipe to a log driver does. The
 *   writer sets WRITER_WAITING and sleeps on a word of its own choosing (the container
 *   thread's WAKE word, protocol.ts); the reader, after each drain, calls `drained()`,
 *   which says whether that writer must be woken. Whatever the writer sleeps on must also
 *   be woken by a stop request, so that a stop ends a blocked writer.
 *
 * Lifecycle: one ring per container thread, made by the pool (`OutputRing.create`) and
 * given to the thread once (`init`); each run of the thread uses it in turn. The runtime
 * `reset()`s it before posting a run (the thread is idle then), pumps it while the run
 * goes on, and drains it a last time when the run ends however it ends — after the
 * thread's `exited` message (sent after its last write), or after terminating the thread
 * (records published before the terminate are all there; a write cut off mid-way never
 * was published).
 *
 * Layout of the buffer: Int32 words [ring head, tail, flags, -, DOORBELL,
 * READER_WAITING, WRITER_WAITING, -], then `capacity` bytes of data (a power of two).
 */
import type { LogEntry } from './logs.js';
import { RING_WORDS, Ring } from './net/ring.js';
import { sharedBuffer } from '../layers/shared-memory.js';

/** Data bytes of a thread's output ring. */
export const OUTPUT_CAPACITY = 256 * 1024;
export const RECORD_HEADER = 16;

/** Stream code of a record that is a protocol message (protocol.ts), not output. */
const MESSAGE_STREAM = 3;

/** A protocol message the thread wrote into its ring (protocol.ts says which ones). */
export interface RingMessage {
  readonly stream: 'message';
  readonly bytes: Uint8Array;
}

export type RingEntry = LogEntry | RingMessage;

const WORDS = 8;
const DOORBELL = RING_WORDS;
const READER_WAITING = RING_WORDS + 1;
const WRITER_WAITING = RING_WORDS + 2;

type WaitAsync = (array: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class OutputRing {
  private readonly words: Int32Array;
  private readonly ring: Ring;
  private readonly header = new Uint8Array(RECORD_HEADER);
  private readonly headerView = new DataView(this.header.buffer);
  private scratch: Uint8Array | undefined;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, WORDS);
    this.ring = new Ring(this.words, 0, new Uint8Array(buffer, WORDS * 4, buffer.byteLength - WORDS * 4));
  }

  /** A new, empty ring of `capacity` data bytes (a power of two, more than a header). */
  static create(capacity = OUTPUT_CAPACITY): OutputRing {
    return new OutputRing(sharedBuffer(WORDS * 4 + capacity));
  }

  get capacity(): number {
    return this.ring.capacity;
  }

  // ---------------------------------------------------------------- writer (the run's thread)

  /**
   * Publishes as much of `bytes` as fits now as one record stamped `time`; returns how
   * many bytes that was (0: the ring is full). Never blocks.
   */
  tryWrite(stream: 1 | 2, time: number, bytes: Uint8Array): number {
    const room = this.ring.space() - RECORD_HEADER;
    if (room <= 0 || bytes.length === 0) return 0;
    const n = Math.min(room, bytes.length);
    this.headerView.setUint32(0, stream, true);
    this.headerView.setUint32(4, n, true);
    this.headerView.setFloat64(8, time, true);
    if (!this.ring.writeAll([this.header, n === bytes.length ? bytes : bytes.subarray(0, n)])) return 0;
    if (Atomics.load(this.words, READER_WAITING) !== 0 && Atomics.exchange(this.words, READER_WAITING, 0) !== 0) this.wakeReader();
    return n;
  }

  /**
   * Publishes `bytes` (an encoded protocol message) as one message record, whole or not
   * at all: false when the ring lacks room for it now. Never blocks. `quiet`: do not wake
   * the reader (it reads the record with whatever wakes it next).
   */
  tryWriteMessage(bytes: Uint8Array, quiet = false): boolean {
    if (!this.hasRoom(bytes.length)) return false;
    this.headerView.setUint32(0, MESSAGE_STREAM, true);
    this.headerView.setUint32(4, bytes.length, true);
    this.headerView.setFloat64(8, 0, true);
    if (!this.ring.writeAll([this.header, bytes])) return false;
    if (!quiet && Atomics.load(this.words, READER_WAITING) !== 0 && Atomics.exchange(this.words, READER_WAITING, 0) !== 0) this.wakeReader();
    return true;
  }

  /** Whether a message of `length` bytes can ever fit (else it must be posted). */
  fitsMessage(length: number): boolean {
    return RECORD_HEADER + length <= this.ring.capacity;
  }

  /**
   * The writer is about to sleep for space: the reader's next `drained()` says so. Check
   * `hasRoom()` after calling this and before sleeping (or a drain in between is missed).
   */
  waitingForRoom(): void {
    Atomics.store(this.words, WRITER_WAITING, 1);
  }

  /** Room for a record of `length` bytes (default: at least one byte of output). */
  hasRoom(length = 1): boolean {
    return this.ring.space() >= RECORD_HEADER + length;
  }

  // ---------------------------------------------------------------- reader (the runtime)

  /**
   * Everything published so far, in write order: output as log entries — consecutive
   * records of one stream become one entry (stamped with the first's time), so a flood of
   * tiny writes costs an entry per drain, not per write — and each message record as it
   * was written. Empty when nothing is waiting.
   */
  drain(): RingEntry[] {
    if (this.ring.available() === 0) return [];
    this.scratch ??= new Uint8Array(this.ring.capacity);
    const all = this.scratch.subarray(0, this.ring.read(this.scratch));
    const view = new DataView(all.buffer, all.byteOffset, all.byteLength);
    const out: RingEntry[] = [];
    let at = 0;
    while (at + RECORD_HEADER <= all.length) {
      const code = view.getUint32(at, true);
      if (code === MESSAGE_STREAM) {
        const n = view.getUint32(at + 4, true);
        out.push({ stream: 'message', bytes: all.slice(at + RECORD_HEADER, at + RECORD_HEADER + n) });
        at += RECORD_HEADER + n;
        continue;
      }
      const time = view.getFloat64(at + 8, true);
      // A run of records of this stream: [start, end) of each piece.
      const pieces: [number, number][] = [];
      let total = 0;
      while (at + RECORD_HEADER <= all.length && view.getUint32(at, true) === code) {
        const n = view.getUint32(at + 4, true);
        pieces.push([at + RECORD_HEADER, at + RECORD_HEADER + n]);
        total += n;
        at += RECORD_HEADER + n;
      }
      const bytes = new Uint8Array(total);
      let off = 0;
      for (const [from, to] of pieces) {
        bytes.set(all.subarray(from, to), off);
        off += to - from;
      }
      out.push({ stream: code === 2 ? 'stderr' : 'stdout', time, bytes });
    }
    return out;
  }

  /** After a drain: true once if the writer waits for room (the caller then wakes it). */
  drained(): boolean {
    return Atomics.load(this.words, WRITER_WAITING) !== 0 && Atomics.exchange(this.words, WRITER_WAITING, 0) !== 0;
  }

  /**
   * Resolves when the writer may have published something, or `wakeReader()` was called
   * (at once if something is waiting). Where `Atomics.waitAsync` is missing it polls
   * every 2 ms.
   */
  whenWritten(): Promise<unknown> {
    const seq = Atomics.load(this.words, DOORBELL);
    Atomics.store(this.words, READER_WAITING, 1);
    if (this.ring.available() > 0) {
      Atomics.store(this.words, READER_WAITING, 0);
      return Promise.resolve();
    }
    if (waitAsync === undefined) return new Promise((resolve) => setTimeout(resolve, 2));
    const r = waitAsync(this.words, DOORBELL, seq);
    return r.async ? r.value : Promise.resolve();
  }

  /** Wakes a reader waiting in `whenWritten` (the writer's doorbell; also how the runtime ends its own wait). */
  wakeReader(): void {
    Atomics.add(this.words, DOORBELL, 1);
    Atomics.notify(this.words, DOORBELL);
  }

  /** Empties the ring for the next run (only while no thread writes to it). */
  reset(): void {
    this.ring.reset();
    Atomics.store(this.words, READER_WAITING, 0);
    Atomics.store(this.words, WRITER_WAITING, 0);
  }
}
