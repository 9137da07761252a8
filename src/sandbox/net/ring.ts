/**
 * A single-producer single-consumer byte ring in shared memory: one direction of a
 * virtual TCP connection. The producer and the consumer may be different threads; each
 * side only ever advances its own index, and publishes it with an atomic store after
 * copying the bytes, so the other side sees the bytes before the index (the JS memory
 * model orders plain writes before a later Atomics.store that the reader Atomics.loads).
 *
 * Back-pressure: `write` copies at most the free space and returns how much it took;
 * 0 means full (the caller returns EAGAIN or waits). Closing: the producer sets
 * END (no more bytes; the consumer sees EOF after draining), the consumer sets
 * CLOSED (nobody reads; the producer's next write is EPIPE).
 *
 * Layout in `words` (Int32Array view at `wordOffset`): [head, tail, flags, unused]; the
 * data is `capacity` bytes (a power of two) in `data`. head and tail count bytes written
 * and read, modulo 2^32.
 */
export const RING_WORDS = 4;
const HEAD = 0;
const TAIL = 1;
const FLAGS = 2;
export const RING_END = 1;
export const RING_CLOSED = 2;

export class Ring {
  private readonly mask: number;

  constructor(
    private readonly words: Int32Array,
    private readonly w: number,
    private readonly data: Uint8Array,
  ) {
    if (data.length === 0 || (data.length & (data.length - 1)) !== 0) throw new Error('ring capacity must be a power of two');
    this.mask = data.length - 1;
  }

  get capacity(): number {
    return this.data.length;
  }

  /** Bytes waiting to be read. */
  available(): number {
    return (Atomics.load(this.words, this.w + HEAD) - Atomics.load(this.words, this.w + TAIL)) >>> 0;
  }

  /** Bytes that can be written now. */
  space(): number {
    return this.data.length - this.available();
  }

  flags(): number {
    return Atomics.load(this.words, this.w + FLAGS);
  }

  setFlag(flag: number): void {
    Atomics.or(this.words, this.w + FLAGS, flag);
  }

  /** Producer: copies as much of `src` as fits; returns the count (0 when full). */
  write(src: Uint8Array): number {
    const head = Atomics.load(this.words, this.w + HEAD) >>> 0;
    const tail = Atomics.load(this.words, this.w + TAIL) >>> 0;
    const free = this.data.length - ((head - tail) >>> 0);
    const n = Math.min(free, src.length);
    if (n === 0) return 0;
    const at = head & this.mask;
    const first = Math.min(n, this.data.length - at);
    this.data.set(src.subarray(0, first), at);
    if (n > first) this.data.set(src.subarray(first, n), 0);
    Atomics.store(this.words, this.w + HEAD, (head + n) | 0);
    return n;
  }

  /**
   * Producer: copies every part, back to back, and publishes them with one index store,
   * so the consumer sees all of them or none; false (nothing written) when they do not
   * all fit.
   */
  writeAll(parts: readonly Uint8Array[]): boolean {
    const head = Atomics.load(this.words, this.w + HEAD) >>> 0;
    const tail = Atomics.load(this.words, this.w + TAIL) >>> 0;
    let n = 0;
    for (const p of parts) n += p.length;
    if (n > this.data.length - ((head - tail) >>> 0)) return false;
    let at = head & this.mask;
    for (const src of parts) {
      const first = Math.min(src.length, this.data.length - at);
      this.data.set(first === src.length ? src : src.subarray(0, first), at);
      if (src.length > first) this.data.set(src.subarray(first), 0);
      at = (at + src.length) & this.mask;
    }
    Atomics.store(this.words, this.w + HEAD, (head + n) | 0);
    return true;
  }

  /** Consumer: copies up to dst.length bytes; returns the count (0 when empty). */
  read(dst: Uint8Array): number {
    const head = Atomics.load(this.words, this.w + HEAD) >>> 0;
    const tail = Atomics.load(this.words, this.w + TAIL) >>> 0;
    const n = Math.min((head - tail) >>> 0, dst.length);
    if (n === 0) return 0;
    const at = tail & this.mask;
    const first = Math.min(n, this.data.length - at);
    dst.set(this.data.subarray(at, at + first), 0);
    if (n > first) dst.set(this.data.subarray(0, n - first), first);
    Atomics.store(this.words, this.w + TAIL, (tail + n) | 0);
    return n;
  }

  /** Resets an unused ring for reuse (only while neither side holds it). */
  reset(): void {
    Atomics.store(this.words, this.w + HEAD, 0);
    Atomics.store(this.words, this.w + TAIL, 0);
    Atomics.store(this.words, this.w + FLAGS, 0);
  }
}
