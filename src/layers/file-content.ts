/**
 * The bytes of a writable file, with copy-on-write at chunk granularity.
 *
 * A file copied up from a lower layer starts as a view of the lower bytes (`base`,
 * never written) and no chunks of its own: copy-up is O(1). A write to a range
 * allocates only the chunks it touches, copying at most the part of the base those
 * chunks cover: changing one byte of a 64 MiB lower file copies one chunk (64 KiB).
 *
 * A chunk's buffer grows by doubling up to CHUNK_SIZE, so a small file costs about its
 * size, and appending is amortised O(1) per byte (no whole-file reallocation per write).
 *
 * Invariants, for chunk i covering [i*C, (i+1)*C) ∩ [0, size):
 * - if `chunks[i]` exists it holds every byte of that range; bytes past its length are 0;
 * - otherwise bytes come from `base` where the range overlaps [0, base.length), else 0.
 * Shrinking trims `base` and zeroes chunk tails, so bytes never reappear after regrowth.
 */
export const CHUNK_SIZE = 64 * 1024;
const CHUNK_SHIFT = 16;
const MIN_CAPACITY = 64;

export class FileContent {
  private base: Uint8Array;
  private readonly chunks: (Uint8Array | undefined)[] = [];
  private sizeBytes: number;

  /** `base` is referenced, never written: the caller's bytes stay as they are. */
  constructor(base?: Uint8Array) {
    this.base = base ?? new Uint8Array(0);
    this.sizeBytes = this.base.length;
  }

  get size(): number {
    return this.sizeBytes;
  }

  /** Bytes this file owns (copied or written), excluding the shared base. */
  get ownedBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== undefined) n += c.length;
    return n;
  }

  /** Copies up to dst.length bytes from `pos` into dst; returns the count (0 at or past EOF). */
  read(pos: number, dst: Uint8Array): number {
    const end = Math.min(this.sizeBytes, pos + dst.length);
    if (pos >= end) return 0;
    if (this.chunks.length === 0) {
      // Fast path: nothing written, everything from base (or zeros past it).
      const fromBase = Math.max(0, Math.min(end, this.base.length) - pos);
      if (fromBase > 0) dst.set(this.base.subarray(pos, pos + fromBase), 0);
      if (pos + fromBase < end) dst.fill(0, fromBase, end - pos);
      return end - pos;
    }
    let p = pos;
    while (p < end) {
      const i = p >>> CHUNK_SHIFT;
      const chunkStart = i * CHUNK_SIZE;
      const stop = Math.min(end, chunkStart + CHUNK_SIZE);
      const out = p - pos;
      const chunk = this.chunks[i];
      if (chunk !== undefined) {
        const from = p - chunkStart;
        const have = Math.max(0, Math.min(stop - chunkStart, chunk.length) - from);
        if (have > 0) dst.set(chunk.subarray(from, from + have), out);
        if (have < stop - p) dst.fill(0, out + have, out + (stop - p));
      } else {
        const fromBase = Math.max(0, Math.min(stop, this.base.length) - p);
        if (fromBase > 0) dst.set(this.base.subarray(p, p + fromBase), out);
        if (fromBase < stop - p) dst.fill(0, out + fromBase, out + (stop - p));
      }
      p = stop;
    }
    return end - pos;
  }

  /** Writes all of src at `pos`, growing the file (with a zero-filled hole) if needed. */
  write(pos: number, src: Uint8Array): number {
    const end = pos + src.length;
    let p = pos;
    while (p < end) {
      const i = p >>> CHUNK_SHIFT;
      const chunkStart = i * CHUNK_SIZE;
      const stop = Math.min(end, chunkStart + CHUNK_SIZE);
      const chunk = this.ownChunk(i, stop - chunkStart);
      chunk.set(src.subarray(p - pos, stop - pos), p - chunkStart);
      p = stop;
    }
    if (end > this.sizeBytes) this.sizeBytes = end;
    return src.length;
  }

  /** Sets the size; new bytes read as zero, bytes past a shrink are gone for good. */
  truncate(size: number): void {
    if (size < this.sizeBytes) {
      if (size < this.base.length) this.base = this.base.subarray(0, size);
      const last = size >>> CHUNK_SHIFT;
      const offsetInLast = size - last * CHUNK_SIZE;
      const chunk = this.chunks[last];
      if (chunk !== undefined && offsetInLast < chunk.length) chunk.fill(0, offsetInLast);
      const keep = offsetInLast === 0 ? last : last + 1;
      if (this.chunks.length > keep) this.chunks.length = keep;
    }
    this.sizeBytes = size;
  }

  /** The whole content as one array (a copy, or the base view when nothing was written). */
  bytes(): Uint8Array {
    if (this.chunks.length === 0 && this.base.length === this.sizeBytes) return this.base;
    const out = new Uint8Array(this.sizeBytes);
    this.read(0, out);
    return out;
  }

  /** The chunk i as an owned buffer of at least `need` bytes, copying base bytes in once. */
  private ownChunk(i: number, need: number): Uint8Array {
    let chunk = this.chunks[i];
    if (chunk !== undefined && chunk.length >= need) return chunk;
    const chunkStart = i * CHUNK_SIZE;
    // Bytes of this chunk that are part of the file right now and must be kept.
    const live = Math.max(0, Math.min(this.sizeBytes - chunkStart, CHUNK_SIZE));
    let capacity = Math.max(MIN_CAPACITY, chunk?.length ?? 0);
    const want = Math.max(need, live);
    while (capacity < want) capacity *= 2;
    if (capacity > CHUNK_SIZE) capacity = CHUNK_SIZE;
    const grown = new Uint8Array(capacity);
    if (chunk !== undefined) {
      grown.set(chunk);
    } else {
      const fromBase = Math.max(0, Math.min(this.base.length - chunkStart, live));
      if (fromBase > 0) grown.set(this.base.subarray(chunkStart, chunkStart + fromBase));
    }
    this.chunks[i] = chunk = grown;
    return chunk;
  }
}
