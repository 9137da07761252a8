/**
 * Test helpers that write tar archives block by block, including the malformed and
 * hostile ones no well-behaved packer produces: any name, type, link name or declared
 * size; bad checksums; base-256 or garbage numeric fields; pax and GNU long-name
 * headers; archives without end-of-archive blocks or final padding. Used by tests only.
 *
 *   rawTar([{ name: 'a', data: 'hi' }, { name: 'evil', type: '2', linkname: '/' }], { eof: 0 })
 */

export type NumericField = 'mode' | 'uid' | 'gid' | 'size' | 'mtime';

export interface RawHeader {
  /** Written into the 100-byte name field (longer names are cut; use `pax` or `gnuLongName`). */
  name: string;
  /** Typeflag character: '0' file (default), '1' hard link, '2' symlink, '5' dir, 'x', 'L', … */
  type?: string;
  mode?: number;
  uid?: number | bigint;
  gid?: number | bigint;
  /** Seconds. */
  mtime?: number | bigint;
  /** Declared size; defaults to the data's length. May lie. */
  size?: number | bigint;
  linkname?: string;
  /** ustar prefix field (ustar format only). */
  prefix?: string;
  /** Header magic: POSIX ustar (default), old GNU (`ustar  \0`), or v7 (none). */
  format?: 'ustar' | 'gnu' | 'v7';
  /** Numeric fields to encode in GNU base-256 instead of octal. */
  base256?: NumericField[];
  /** Numeric fields written verbatim (ASCII), for garbage. */
  rawFields?: Partial<Record<NumericField, string>>;
  /** 'unsigned' (default), 'signed' (historic signed sum), 'bad', or a number to store. */
  checksum?: 'unsigned' | 'signed' | 'bad' | number;
}

export interface RawEntry extends RawHeader {
  data?: string | Uint8Array;
  /** Records of a pax `x` header written before this entry. */
  pax?: Record<string, string | Uint8Array>;
  /** A GNU `L` header carrying this name, before this entry. */
  gnuLongName?: string;
  /** A GNU `K` header carrying this link name, before this entry. */
  gnuLongLink?: string;
}

export interface RawTarOptions {
  /** End-of-archive zero blocks (default 2). */
  eof?: number;
  /** Pad the last entry's data to a whole block (default true). `umoci insert` does not. */
  padLast?: boolean;
}

const enc = new TextEncoder();
const BLOCK = 512;

function bytesOf(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? enc.encode(v) : v;
}

function writeString(block: Uint8Array, off: number, len: number, value: string): void {
  let ascii = true;
  for (let i = 0; i < value.length && ascii; i++) ascii = value.charCodeAt(i) < 0x80;
  if (ascii) {
    for (let i = 0; i < Math.min(len, value.length); i++) block[off + i] = value.charCodeAt(i);
    return;
  }
  block.set(enc.encode(value).subarray(0, len), off);
}

const FIELDS: Record<NumericField, [number, number]> = {
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
};

function writeNumber(block: Uint8Array, field: NumericField, value: number | bigint, base256: boolean): void {
  const [off, len] = FIELDS[field];
  if (base256) {
    let v = BigInt(value);
    if (v < 0n) v += 1n << BigInt(len * 8); // two's complement, first byte 0xff
    for (let i = len - 1; i >= 1; i--) {
      block[off + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    block[off] = value < 0 ? 0xff : 0x80 | Number(v & 0x7fn);
    return;
  }
  writeString(block, off, len - 1, value.toString(8).padStart(len - 1, '0'));
}

/** One 512-byte header block. */
export function tarHeader(h: RawHeader, dataLength = 0): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, h.name);
  const numbers: Record<NumericField, number | bigint> = {
    mode: h.mode ?? (h.type === '5' ? 0o755 : 0o644),
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size: h.size ?? dataLength,
    mtime: h.mtime ?? 1_700_000_000,
  };
  for (const f of Object.keys(FIELDS) as NumericField[]) {
    const raw = h.rawFields?.[f];
    if (raw !== undefined) writeString(block, FIELDS[f][0], FIELDS[f][1], raw);
    else writeNumber(block, f, numbers[f], h.base256?.includes(f) ?? false);
  }
  block[156] = (h.type ?? '0').charCodeAt(0);
  writeString(block, 157, 100, h.linkname ?? '');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') {
    writeString(block, 257, 6, 'ustar\0');
    writeString(block, 263, 2, '00');
    writeString(block, 345, 155, h.prefix ?? '');
  } else if (format === 'gnu') {
    writeString(block, 257, 8, 'ustar  \0');
  }
  // Checksum: the sum with the field itself read as spaces.
  block.fill(0x20, 148, 156);
  let unsigned = 0;
  let signed = 0;
  for (const b of block) {
    unsigned += b;
    signed += b < 0x80 ? b : b - 0x100;
  }
  const c = h.checksum ?? 'unsigned';
  const sum = c === 'unsigned' ? unsigned : c === 'signed' ? signed : c === 'bad' ? unsigned + 1 : c;
  writeString(block, 148, 8, `${(sum >>> 0).toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** Pax records `"%d key=value\n"`, the length counting the whole record. */
export function paxData(records: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = concat([enc.encode(` ${key}=`), bytesOf(value), enc.encode('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(concat([enc.encode(String(len)), body]));
  }
  return concat(parts);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function padded(data: Uint8Array, pad: boolean): Uint8Array[] {
  const rest = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad && rest > 0 ? [data, new Uint8Array(rest)] : [data];
}

/** The blocks of one entry: its extended headers, its header, its data (padded unless `pad` is false). */
export function rawEntry(e: RawEntry, pad = true): Uint8Array {
  const parts: Uint8Array[] = [];
  if (e.pax !== undefined) {
    const d = paxData(e.pax);
    parts.push(tarHeader({ name: `PaxHeader/${e.name}`.slice(0, 99), type: 'x' }, d.length), ...padded(d, true));
  }
  for (const [type, long] of [
    ['L', e.gnuLongName],
    ['K', e.gnuLongLink],
  ] as const) {
    if (long === undefined) continue;
    const d = enc.encode(`${long}\0`);
    parts.push(tarHeader({ name: '././@LongLink', type, format: 'gnu' }, d.length), ...padded(d, true));
  }
  const data = e.data === undefined ? new Uint8Array(0) : bytesOf(e.data);
  parts.push(tarHeader(e, data.length), ...padded(data, pad));
  return concat(parts);
}

/**
 * An archive of `entries` in order (a `Uint8Array` item is written verbatim, e.g. a
 * hand-made block), then `eof` zero blocks.
 */
export function rawTar(entries: readonly (RawEntry | Uint8Array)[], options: RawTarOptions = {}): Uint8Array {
  const parts = entries.map((e, i) =>
    e instanceof Uint8Array ? e : rawEntry(e, i < entries.length - 1 || (options.padLast ?? true)),
  );
  parts.push(new Uint8Array(BLOCK * (options.eof ?? 2)));
  return concat(parts);
}

/** A pax global (`g`) header with its records, as an item for `rawTar`. */
export function paxGlobal(records: Record<string, string | Uint8Array>): Uint8Array {
  const d = paxData(records);
  return concat([tarHeader({ name: 'pax_global_header', type: 'g' }, d.length), ...padded(d, true)]);
}
