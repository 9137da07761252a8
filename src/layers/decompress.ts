/**
 * Layer blobs to uncompressed tar bytes, and back to gzip for saving and pushing.
 *
 * `decompressLayer(bytes, mediaType, layerName, maxBytes)` returns the layer's tar as
 * one contiguous `Uint8Array`, backed by a SharedArrayBuffer where the platform has one
 * (the index and every thread read it in place). It never holds more than `maxBytes` of
 * output: decompression streams into a buffer that grows by doubling up to the cap, and
 * stops with an `InvalidLayerError` of code LIMIT_EXCEEDED as soon as the output would
 * exceed it (the gzip-bomb cap). The buffer's first size comes from the stream's own
 * size hint (gzip ISIZE, zstd frame content size), trusted only up to the cap and, for
 * gzip, up to deflate's maximum ratio, so an honest layer is decompressed without a
 * regrowth or a final copy.
 *
 * Media types: the OCI layer types (`.tar`, `+gzip`, `+zstd`, and their
 * `nondistributable` forms) and Docker's (`rootfs.diff.tar.gzip`, `rootfs.diff.tar`,
 * `rootfs.foreign.diff.tar.gzip`); anything else is a `SkiffError` UNSUPPORTED. The
 * media type says what the blob *should* be; the bytes decide when they are
 * unambiguous:
 * - A "tar" type whose bytes start with the gzip (1f 8b) or zstd (28 b5 2f fd) magic is
 *   decompressed accordingly (`docker save` archives and some registries mislabel
 *   layers). A tar cannot start with those bytes: they would be the first bytes of a
 *   member name, control characters in no real path.
 * - A compressed type whose bytes are compressed the other way is decompressed as they
 *   are (containerd detects the compression by magic too).
 * - A compressed type whose bytes carry no compression magic is refused
 *   (INVALID_LAYER): the descriptor and the blob disagree, and guessing "plain tar" would
 *   accept what is more likely a corrupt blob.
 * Plain tar bytes are returned as they are when already shared (or when the platform
 * has no SharedArrayBuffer), else copied once into a shared buffer.
 *
 * zstd: frames are checked before decoding; a frame whose window is larger than
 * `MAX_ZSTD_WINDOW` (zstd's own default decoder limit; `zstd --long=28` and above) or
 * than the cap (but at least 8 MiB) is refused with LIMIT_EXCEEDED, because the decoder
 * allocates the whole window up front. Dictionaries are not supported (fzstd has none).
 */
import { Decompress as ZstdDecompress } from 'fzstd';
import { gzipSync } from 'fflate';
import { InvalidLayerError, SkiffError } from './errors.js';
import { sharedBuffer } from './shared-memory.js';

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** Every layer media type skiff reads, with the compression it declares. */
export const LAYER_MEDIA_TYPES: Readonly<Record<string, LayerCompression>> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

/** Largest zstd window decoded (128 MiB, zstd's default `--memory` limit). */
export const MAX_ZSTD_WINDOW = 128 * 1024 * 1024;

const MIN_WINDOW_ALLOWANCE = 8 * 1024 * 1024;
const FEED_CHUNK = 64 * 1024;
const MIN_INITIAL = 1024 * 1024;
const DEFLATE_MAX_RATIO = 1032;

/** The compression the bytes' magic shows: gzip, zstd, or none. */
export function sniffCompression(bytes: Uint8Array): LayerCompression {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * The uncompressed tar of a layer blob. Rejects with UNSUPPORTED for an unknown media
 * type, INVALID_LAYER for corrupt or mislabelled data, LIMIT_EXCEEDED past `maxBytes`.
 */
export async function decompressLayer(bytes: Uint8Array, mediaType: string, layerName: string, maxBytes: number): Promise<Uint8Array> {
  const declared = Object.hasOwn(LAYER_MEDIA_TYPES, mediaType) ? LAYER_MEDIA_TYPES[mediaType] : undefined;
  if (declared === undefined) {
    throw new SkiffError(
      'UNSUPPORTED',
      `layer ${layerName}: media type ${JSON.stringify(mediaType)} is not supported (supported: ${Object.keys(LAYER_MEDIA_TYPES).join(', ')})`,
    );
  }
  const actual = sniffCompression(bytes);
  if (declared !== 'none' && actual === 'none') {
    throw new InvalidLayerError(layerName, undefined, `media type ${mediaType} declares ${declared} compression, but the bytes are not ${declared}`);
  }
  switch (actual) {
    case 'none':
      if (bytes.length > maxBytes) throw tooBig(layerName, maxBytes);
      if (!canShare() || isShared(bytes)) return bytes;
      return new Output(bytes.length, maxBytes, layerName).appendAll(bytes);
    case 'gzip':
      return gunzip(bytes, layerName, maxBytes);
    case 'zstd':
      return unzstd(bytes, layerName, maxBytes);
  }
}

/** Deterministic gzip of a layer tar (level 6, mtime 0, no file name): same tar, same digest. */
export function gzipLayer(bytes: Uint8Array): Uint8Array {
  return gzipSync(bytes, { level: 6, mtime: 0 });
}

function tooBig(layerName: string, maxBytes: number): InvalidLayerError {
  return new InvalidLayerError(layerName, undefined, `the uncompressed layer is larger than the limit of ${maxBytes} bytes`, 'LIMIT_EXCEEDED');
}

function canShare(): boolean {
  return typeof SharedArrayBuffer === 'function';
}

function isShared(bytes: Uint8Array): boolean {
  return canShare() && bytes.buffer instanceof SharedArrayBuffer;
}

/** Output of at most `max` bytes in one buffer that grows by doubling. */
class Output {
  private buf: Uint8Array;
  private length = 0;
  constructor(
    initial: number,
    private readonly max: number,
    private readonly layerName: string,
  ) {
    this.buf = allocate(Math.min(initial, max));
  }

  /** Appends a chunk; throws LIMIT_EXCEEDED (copying nothing) if it would pass the cap. */
  append(chunk: Uint8Array): void {
    const need = this.length + chunk.length;
    if (need > this.max) throw tooBig(this.layerName, this.max);
    if (need > this.buf.length) {
      const grown = allocate(Math.min(this.max, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(chunk, this.length);
    this.length = need;
  }

  appendAll(chunk: Uint8Array): Uint8Array {
    this.append(chunk);
    return this.result();
  }

  /**
   * The bytes written. A view when the slack is small (at most 1/16 of the buffer),
   * else a copy of exactly the right size, so the spare half of a doubling is freed.
   */
  result(): Uint8Array {
    const slack = this.buf.length - this.length;
    if (slack <= this.buf.length / 16) return this.buf.subarray(0, this.length);
    const exact = allocate(this.length);
    exact.set(this.buf.subarray(0, this.length));
    return exact;
  }
}

function allocate(n: number): Uint8Array {
  return canShare() ? new Uint8Array(sharedBuffer(n), 0, n) : new Uint8Array(n);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function gunzip(input: Uint8Array, layerName: string, maxBytes: number): Promise<Uint8Array> {
  // ISIZE, the last member's size mod 2^32: exact for the usual single-member layer < 4 GiB.
  const n = input.length;
  const isize = n >= 18 ? ((input[n - 4] as number) | ((input[n - 3] as number) << 8) | ((input[n - 2] as number) << 16) | ((input[n - 1] as number) << 24)) >>> 0 : 0;
  const initial = isize > 0 && isize <= n * DEFLATE_MAX_RATIO ? isize : Math.max(MIN_INITIAL, n * 4);
  const out = new Output(initial, maxBytes, layerName);

  const ds = new DecompressionStream('gzip');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  const shared = isShared(input);
  let stopped = false;
  // Feed in chunks, waiting for backpressure, while the loop below drains the output.
  const feed = (async () => {
    for (let off = 0; off < n && !stopped; off += FEED_CHUNK) {
      await writer.ready;
      const chunk = input.subarray(off, Math.min(n, off + FEED_CHUNK));
      // Web streams refuse views of a SharedArrayBuffer in browsers.
      writer.write((shared ? chunk.slice() : chunk) as Uint8Array<ArrayBuffer>).catch(() => {});
    }
    if (!stopped) await writer.close();
  })();
  feed.catch(() => {}); // a failure also errors the readable side, reported below

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out.append(value);
    }
    await feed;
  } catch (err) {
    stopped = true;
    await reader.cancel().catch(() => {});
    await writer.abort().catch(() => {});
    if (err instanceof InvalidLayerError) throw err;
    throw new InvalidLayerError(layerName, undefined, `not a valid gzip stream: ${message(err)}`);
  }
  return out.result();
}

async function unzstd(input: Uint8Array, layerName: string, maxBytes: number): Promise<Uint8Array> {
  const { window, contentSize } = scanZstd(input, layerName);
  const windowLimit = Math.min(MAX_ZSTD_WINDOW, Math.max(maxBytes, MIN_WINDOW_ALLOWANCE));
  if (window > windowLimit) {
    throw new InvalidLayerError(
      layerName,
      undefined,
      `a zstd frame needs a ${window}-byte window, more than the limit of ${windowLimit} bytes`,
      'LIMIT_EXCEEDED',
    );
  }
  if (contentSize !== undefined && contentSize > maxBytes) throw tooBig(layerName, maxBytes);
  const out = new Output(contentSize ?? Math.max(MIN_INITIAL, input.length * 4), maxBytes, layerName);
  const z = new ZstdDecompress((chunk) => out.append(chunk));
  try {
    z.push(input, true);
  } catch (err) {
    if (err instanceof InvalidLayerError) throw err;
    throw new InvalidLayerError(layerName, undefined, `not a valid zstd stream: ${message(err)}`);
  }
  return out.result();
}

/**
 * Walks the frames of a zstd stream (RFC 8878 §3.1) without decoding them: the largest
 * window, and the total content size if every frame declares its own.
 */
function scanZstd(b: Uint8Array, layerName: string): { window: number; contentSize: number | undefined } {
  const bad = (why: string): never => {
    throw new InvalidLayerError(layerName, undefined, `not a valid zstd stream: ${why}`);
  };
  const u32 = (p: number): number => ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24)) >>> 0;
  let window = 0;
  let contentSize: number | undefined = 0;
  let p = 0;
  while (p < b.length) {
    if (p + 4 > b.length) bad('truncated frame magic');
    const magic = u32(p);
    if (magic >>> 4 === 0x184d2a5) {
      // A skippable frame (zstd:chunked puts its table of contents in one).
      if (p + 8 > b.length) bad('truncated skippable frame');
      p += 8 + u32(p + 4);
      if (p > b.length) bad('truncated skippable frame');
      continue;
    }
    if (magic !== 0xfd2fb528) bad(`unknown frame magic at byte offset ${p}`);
    const fhd = b[p + 4];
    if (fhd === undefined) return bad('truncated frame header');
    if (fhd & 0x08) bad('reserved bit set in a frame header');
    const singleSegment = (fhd & 0x20) !== 0;
    const didSize = [0, 1, 2, 4][fhd & 3] as number;
    const fcsFlag = fhd >> 6;
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
    let q = p + 5;
    let frameWindow = 0;
    if (!singleSegment) {
      const wd = b[q++];
      if (wd === undefined) return bad('truncated frame header');
      const base = 2 ** (10 + (wd >> 3));
      frameWindow = base + (base / 8) * (wd & 7);
    }
    q += didSize;
    if (didSize > 0) bad('zstd dictionaries are not supported');
    if (q + fcsSize > b.length) bad('truncated frame header');
    let fcs: number | undefined;
    if (fcsSize > 0) {
      fcs = 0;
      for (let i = fcsSize - 1; i >= 0; i--) fcs = fcs * 256 + (b[q + i] as number);
      if (fcsSize === 2) fcs += 256;
    }
    q += fcsSize;
    if (singleSegment) frameWindow = fcs as number;
    window = Math.max(window, frameWindow);
    contentSize = contentSize !== undefined && fcs !== undefined ? contentSize + fcs : undefined;
    // Blocks: a 3-byte header (last flag, type, size); RLE blocks hold one byte.
    for (;;) {
      if (q + 3 > b.length) bad('truncated block header');
      const h = (b[q] as number) | ((b[q + 1] as number) << 8) | ((b[q + 2] as number) << 16);
      const type = (h >> 1) & 3;
      if (type === 3) bad('reserved block type');
      q += 3 + (type === 1 ? 1 : h >>> 3);
      if (q > b.length) bad('truncated block');
      if (h & 1) break;
    }
    if (fhd & 0x04) q += 4; // content checksum
    if (q > b.length) bad('truncated frame checksum');
    p = q;
  }
  return { window, contentSize };
}
