/**
 * Layer fixtures for the layer benchmarks, built once per process outside the timed
 * parts: deterministic pseudo-random content (text-like and binary-like, so that gzip
 * ratios are realistic), a realistic ~94 MB layer packed with modern-tar, a fast ustar
 * writer for the big synthetic images (1 GB / 100k files), and the tar-stream → memfs
 * extraction used as the baseline importer.
 */
import { Readable } from 'node:stream';
import { Volume } from 'memfs';
import { packTar, type TarEntry } from 'modern-tar';
import { extract } from 'tar-stream';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** xorshift32: deterministic and fast. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS: Uint8Array[] = (() => {
  const r = prng(7);
  const words: Uint8Array[] = [];
  for (let i = 0; i < 512; i++) {
    const len = 2 + (r() % 9);
    const w = new Uint8Array(len);
    for (let j = 0; j < len; j++) w[j] = 0x61 + (r() % 26);
    words.push(w);
  }
  return words;
})();

/** Text-like content: words from a 512-word vocabulary, spaces and newlines (gzip ≈ 2.5–3×). */
export function fillText(buf: Uint8Array, seed: number): void {
  const r = prng(seed);
  let p = 0;
  while (p < buf.length) {
    const v = r();
    const w = WORDS[v & 511] as Uint8Array;
    const n = Math.min(w.length, buf.length - p);
    buf.set(n === w.length ? w : w.subarray(0, n), p);
    p += n;
    if (p < buf.length) buf[p++] = (v >>> 9) % 12 === 0 ? 0x0a : 0x20;
  }
}

/**
 * Binary-like content (roughly what executables and shared libraries look like to
 * deflate): runs of small-alphabet noise, runs of zeros, and short repeats of earlier
 * bytes (gzip ≈ 2×).
 */
export function fillBinary(buf: Uint8Array, seed: number): void {
  const r = prng(seed);
  let p = 0;
  const n = buf.length;
  while (p < n) {
    const v = r();
    const kind = v % 10;
    let len = 8 + ((v >>> 8) % 57);
    if (p + len > n) len = n - p;
    if (kind < 5) {
      const base = (v >>> 16) & 0xc0;
      for (let i = 0; i < len; i++) buf[p + i] = base | (r() & 0x3f);
    } else if (kind < 7) {
      buf.fill(0, p, p + len);
    } else {
      const back = 1 + ((v >>> 14) % 4096);
      if (back > p) buf.fill(0x90, p, p + len);
      else buf.copyWithin(p, p - back, p - back + len);
    }
    p += len;
  }
}

export interface LayerSpec {
  /** The uncompressed tar. */
  tar: Uint8Array;
  files: number;
  dirs: number;
  symlinks: number;
  contentBytes: number;
}

/**
 * A realistic layer of about 94 MB: 6,000 small files (128 B – 32 KiB, log-uniform; text
 * and binary), 30 medium ones (256 KiB – 2 MiB), 2 large ones (8 MiB), 200 symlinks, in
 * about 250 directories three to five levels deep. Packed with modern-tar's packTar.
 */
export async function realisticLayer(): Promise<LayerSpec> {
  const r = prng(42);
  const mtime = new Date(1_700_000_000_000);
  const entries: TarEntry[] = [];
  const dirs: string[] = [];
  let contentBytes = 0;
  let files = 0;
  const dir = (name: string): void => {
    dirs.push(name);
    entries.push({ header: { name: `${name}/`, type: 'directory', size: 0, mode: 0o755, mtime, uname: 'root', gname: 'root' } });
  };
  const file = (name: string, body: Uint8Array, mode = 0o644): void => {
    files++;
    contentBytes += body.length;
    entries.push({ header: { name, type: 'file', size: body.length, mode, mtime, uname: 'root', gname: 'root' }, body });
  };
  // Depth-first, a directory's files right after it, as `tar` writes a tree.
  for (const top of ['usr', 'usr/lib', 'usr/share', 'usr/bin', 'etc', 'opt', 'opt/app']) dir(top);
  const PKGS = 40;
  const SUBS = 5;
  const PER_DIR = 30; // 40 × 5 × 30 = 6,000 small files
  let n = 0;
  for (let p = 0; p < PKGS; p++) {
    const d = `${p % 2 === 0 ? 'usr/lib' : 'usr/share'}/pkg-${p}`;
    dir(d);
    for (let j = 0; j < SUBS; j++) {
      dir(`${d}/sub-${j}`);
      for (let k = 0; k < PER_DIR; k++, n++) {
        const size = Math.round(2 ** (7 + (r() % 8000) / 1000)); // 128 B .. 32 KiB, log-uniform
        const body = new Uint8Array(size);
        const text = n % 3 !== 0;
        if (text) fillText(body, n + 1);
        else fillBinary(body, n + 1);
        file(`${d}/sub-${j}/file-${n}.${text ? 'txt' : 'so'}`, body);
      }
    }
  }
  for (let i = 0; i < 30; i++) {
    const size = 256 * KiB + (r() % (1792 * KiB));
    const body = new Uint8Array(size);
    fillBinary(body, 10_000 + i);
    file(`usr/bin/tool-${i}`, body, 0o755);
  }
  for (let i = 0; i < 2; i++) {
    const body = new Uint8Array(8 * MiB);
    fillBinary(body, 20_000 + i);
    file(`opt/app/big-${i}.bin`, body, 0o755);
  }
  for (let i = 0; i < 200; i++) {
    entries.push({
      header: { name: `usr/lib/link-${i}.so`, type: 'symlink', size: 0, linkname: `pkg-${(i * 2) % 40}/sub-0/file-${i}.so`, mode: 0o777, mtime, uname: 'root', gname: 'root' },
    });
  }
  const tar = await packTar(entries);
  return { tar, files, dirs: dirs.length, symlinks: 200, contentBytes };
}

// ------------------------------------------------------------------ a fast ustar writer

const enc = new TextEncoder();

/** Writes ustar members into one preallocated buffer (names ≤ 100 bytes, sizes < 8 GiB). */
export class TarWriter {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Bytes a member of `size` bytes of content takes (header + padded data). */
  static memberBytes(size: number): number {
    return 512 + Math.ceil(size / 512) * 512;
  }

  dir(name: string): void {
    this.header(name.endsWith('/') ? name : `${name}/`, '5', 0o755, 0);
  }

  symlink(name: string, target: string): void {
    this.header(name, '2', 0o777, 0, target);
  }

  /** A file member; returns its content range for the caller to fill. */
  file(name: string, size: number, mode = 0o644): Uint8Array {
    this.header(name, '0', mode, size);
    const data = this.buf.subarray(this.pos, this.pos + size);
    this.pos += Math.ceil(size / 512) * 512;
    return data;
  }

  /** The archive with its two end-of-archive zero blocks. */
  finish(): Uint8Array {
    this.pos += 1024;
    if (this.pos > this.buf.length) throw new Error(`TarWriter: capacity ${this.buf.length} < ${this.pos}`);
    return this.buf.subarray(0, this.pos);
  }

  private header(name: string, type: string, mode: number, size: number, linkname = ''): void {
    const b = this.buf;
    const h = this.pos;
    if (h + 512 > b.length) throw new Error('TarWriter: out of capacity');
    b.fill(0, h, h + 512);
    this.text(h, 100, name);
    this.octal(h + 100, 8, mode);
    this.octal(h + 108, 8, 0);
    this.octal(h + 116, 8, 0);
    this.octal(h + 124, 12, size);
    this.octal(h + 136, 12, 1_700_000_000);
    b.fill(0x20, h + 148, h + 156); // checksum field counts as spaces
    b[h + 156] = type.charCodeAt(0);
    if (linkname !== '') this.text(h + 157, 100, linkname);
    this.text(h + 257, 6, 'ustar');
    b[h + 263] = 0x30;
    b[h + 264] = 0x30;
    let sum = 0;
    for (let i = h; i < h + 512; i++) sum += b[i] as number;
    this.octal(h + 148, 7, sum);
    this.pos += 512;
  }

  private text(off: number, len: number, s: string): void {
    const bytes = enc.encode(s);
    if (bytes.length > len) throw new Error(`TarWriter: ${JSON.stringify(s)} is longer than ${len} bytes`);
    this.buf.set(bytes, off);
  }

  /** `len - 1` octal digits and a NUL. */
  private octal(off: number, len: number, n: number): void {
    const s = n.toString(8).padStart(len - 1, '0');
    if (s.length > len - 1) throw new Error(`TarWriter: ${n} does not fit ${len - 1} octal digits`);
    for (let i = 0; i < s.length; i++) this.buf[off + i] = s.charCodeAt(i);
    this.buf[off + len - 1] = 0;
  }
}

// ------------------------------------------------------------------ the baseline importer

type MemfsVolume = InstanceType<typeof Volume>;

/**
 * Extracts a tar into a fresh memfs Volume with tar-stream: every directory made with
 * `mkdirSync(…, { recursive: true })`, every file's chunks concatenated and written with
 * `writeFileSync` after creating its parent, symlinks with `symlinkSync`. `source` is the
 * whole tar, or a stream of chunks (e.g. the output of a DecompressionStream).
 */
export async function extractToMemfs(source: Uint8Array | ReadableStream<Uint8Array>): Promise<MemfsVolume> {
  const vol = new Volume();
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    const path = `/${header.name.replace(/\/+$/, '')}`;
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    switch (header.type) {
      case 'directory':
        vol.mkdirSync(path, { recursive: true, mode: header.mode ?? 0o755 });
        stream.resume();
        stream.on('end', next);
        return;
      case 'symlink':
        vol.mkdirSync(parent, { recursive: true });
        vol.symlinkSync(header.linkname ?? '', path);
        stream.resume();
        stream.on('end', next);
        return;
      case 'file':
      case 'contiguous-file': {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => {
          chunks.push(c as Buffer);
        });
        stream.on('end', () => {
          vol.mkdirSync(parent, { recursive: true });
          vol.writeFileSync(path, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), { mode: header.mode ?? 0o644 });
          next();
        });
        return;
      }
      default:
        stream.resume();
        stream.on('end', next);
    }
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  if (source instanceof Uint8Array) ex.end(Buffer.from(source.buffer, source.byteOffset, source.byteLength));
  else Readable.fromWeb(source as import('node:stream/web').ReadableStream<Uint8Array>).pipe(ex);
  await done;
  return vol;
}

/** tar-stream alone, every entry drained and dropped (the parser's share of the baseline). */
export async function drainTar(source: Uint8Array): Promise<number> {
  const ex = extract();
  let n = 0;
  ex.on('entry', (_header, stream, next) => {
    n++;
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(Buffer.from(source.buffer, source.byteOffset, source.byteLength));
  await done;
  return n;
}

/** The bytes of `data` as a stream of 64 KiB chunks piped through a gzip DecompressionStream. */
export function gunzipStream(gz: Uint8Array): ReadableStream<Uint8Array> {
  let off = 0;
  const src = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (off >= gz.length) {
        controller.close();
        return;
      }
      const end = Math.min(gz.length, off + 64 * KiB);
      controller.enqueue(gz.subarray(off, end));
      off = end;
    },
  });
  return src.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
