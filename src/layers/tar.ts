/**
 * A zero-copy reader of tar archives held in memory, for indexing OCI layers.
 *
 * `readTar(bytes, layerName, limits)` walks the headers once and yields one `TarEntry`
 * per archive member; file content is never copied: an entry names the range
 * `bytes.subarray(dataOffset, dataOffset + size)`. The generator is lazy and holds no
 * state besides the current position, so a caller may stop early.
 *
 * Formats: POSIX ustar (with the `prefix` field, and star's shorter one), pax extended
 * (`x`) and global (`g`) headers, old GNU (base-256 numbers, `L`/`K` long names), v7.
 * Name precedence is pax `path` > GNU `L` > ustar prefix/name, likewise for link names.
 *
 * Tolerated, because real tools write it: an archive that ends without the two
 * end-of-archive zero blocks, or without padding after the last member's data
 * (`umoci insert`); a single zero block, or a partial block of zeros, at the end; any
 * bytes after the two zero blocks (tar pads to a record size). A header-only member
 * (directory, link, device, fifo) with a non-zero size field has no data, as in Go's
 * archive/tar, which containerd and moby use: the size is ignored and reported as 0.
 *
 * Refused with an `InvalidLayerError` naming the layer and the member (or the byte
 * offset while there is no name yet): a bad header checksum (the unsigned and the
 * historic signed sum are both accepted), a header or data running past the end of the
 * bytes, malformed numeric fields or pax records, a zero block followed by a non-zero
 * one, an extended header not followed by a member, `path`/`linkpath`/`size` in a
 * global header (tools disagree on what they mean). With code UNSUPPORTED: sparse
 * files (`S`, `GNU.sparse.*`), multi-volume and other unknown member types, names that
 * are not UTF-8 (WASI paths are UTF-8). With LIMIT_EXCEEDED, before decoding them: a
 * pax `path`/`linkpath` or GNU long name longer than `limits.maxPathBytes`, a pax
 * header larger than `MAX_PAX_HEADER_BYTES`. (The ustar fields hold at most 256 bytes;
 * the importer applies the path limits to normalised paths.)
 */
import { InvalidLayerError } from './errors.js';
import type { LayerLimits } from './layer-index.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** The member's path exactly as the archive spells it; not normalised (layer-import.ts does that). */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission bits plus setuid/setgid/sticky (`mode & 07777`); the type is `type`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time in nanoseconds since the epoch (pax `mtime` keeps its fraction). */
  readonly mtime: bigint;
  /** Bytes of content; always 0 for types other than 'file'. */
  readonly size: number;
  /** Offset of the content in the archive bytes. */
  readonly dataOffset: number;
  /** Target of a symlink or hard link, as the archive spells it; '' for other types. */
  readonly linkname: string;
  /**
   * `SCHILY.xattr.<name>` pax records. Values are byte strings: one char per byte
   * (code 0–255), because xattr values are binary (`security.capability`).
   */
  readonly xattrs: Readonly<Record<string, string>> | undefined;
  /** Offset of the member's first header block (its first pax or GNU long-name header, if any). */
  readonly headerOffset: number;
}

/** Largest pax extended header read; bigger ones are refused with LIMIT_EXCEEDED. */
export const MAX_PAX_HEADER_BYTES = 1024 * 1024;

const BLOCK = 512;
const NS_PER_S = 1_000_000_000n;
const MAX_ID = 0xffff_ffff;

/** Pax records that apply to one member (`x`) or to all later members (`g`). */
interface Pax {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: bigint;
  xattrs?: Record<string, string>;
}

/** Reads the members of a tar archive. See the module comment for what is accepted. */
export function* readTar(
  bytes: Uint8Array,
  layerName: string,
  limits: Pick<LayerLimits, 'maxPathBytes'>,
): Generator<TarEntry, void, undefined> {
  const end = bytes.length;
  const fail = (reason: string, at: number, entry?: string, code?: 'UNSUPPORTED' | 'LIMIT_EXCEEDED'): never => {
    throw new InvalidLayerError(layerName, entry, entry === undefined ? `${reason} (at byte offset ${at})` : reason, code);
  };
  const maxPath = limits.maxPathBytes;
  // Header sums read 32-bit words where the bytes are 4-byte aligned (they usually are).
  const words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : undefined;
  let lastSeconds = -1; // consecutive members usually share an mtime: reuse its bigint
  let lastMtime = 0n;

  let pos = 0;
  let global: Pax | undefined; // records of `g` headers so far
  let ext: Pax | undefined; // records of `x` headers since the last member
  let longName: string | undefined; // GNU `L`
  let longLink: string | undefined; // GNU `K`
  let first = -1; // offset of the first extended header of the pending member

  for (;;) {
    const pending = first >= 0;
    if (pos >= end) {
      if (pending) fail('the archive ends after an extended header, before its member', first);
      return;
    }
    if (end - pos < BLOCK) {
      if (!pending && isZero(bytes, pos, end)) return;
      fail('truncated header', pos);
    }

    // One pass for the plain sum, which also tells a zero block.
    const sum = words !== undefined ? wordSum(words, pos >>> 2) : byteSum(bytes, pos);
    if (sum === 0) {
      if (pending) fail('an extended header is followed by the end of the archive', first);
      const next = pos + BLOCK;
      if (next >= end || isZero(bytes, next, Math.min(end, next + BLOCK))) return;
      fail('a zero block is followed by a non-zero block (expected a second zero block, ending the archive)', pos);
    }
    verifyChecksum(bytes, pos, sum, fail);

    const typeflag = bytes[pos + 156] as number;
    const dataOffset = pos + BLOCK;

    // Extended headers: their data describes the next member.
    if (typeflag === 0x78 /* x */ || typeflag === 0x67 /* g */ || typeflag === 0x4c /* L */ || typeflag === 0x4b /* K */) {
      const size = parseNumber(bytes, pos + 124, 12, 'size', fail, pos, undefined);
      if (dataOffset + size > end) fail('truncated extended header data', pos);
      if (typeflag === 0x4c || typeflag === 0x4b) {
        if (size > maxPath + 1) fail(`a GNU long name of ${size} bytes exceeds the limit of ${maxPath}`, pos, undefined, 'LIMIT_EXCEEDED');
        let e = dataOffset + size;
        while (e > dataOffset && bytes[e - 1] === 0) e--; // NUL-terminated
        const s = decodeUtf8(bytes, dataOffset, e) ?? fail('a GNU long name is not valid UTF-8', pos, undefined, 'UNSUPPORTED');
        if (typeflag === 0x4c) longName = s;
        else longLink = s;
      } else {
        if (size > MAX_PAX_HEADER_BYTES) {
          fail(`a pax header of ${size} bytes exceeds the limit of ${MAX_PAX_HEADER_BYTES}`, pos, undefined, 'LIMIT_EXCEEDED');
        }
        if (typeflag === 0x67) {
          // Global records apply to every later member; a `g` header is not part of the next one.
          const g: Pax = { ...global, xattrs: { ...global?.xattrs } };
          parsePax(bytes, dataOffset, dataOffset + size, g, maxPath, pos, fail);
          if (g.path !== undefined || g.linkpath !== undefined || g.size !== undefined) {
            fail('a global pax header sets path, linkpath or size (tools disagree on what that means)', pos);
          }
          global = g;
        } else {
          ext = parsePax(bytes, dataOffset, dataOffset + size, ext ?? {}, maxPath, pos, fail);
        }
      }
      if (typeflag !== 0x67 && first < 0) first = pos;
      pos = dataOffset + pad(size);
      continue;
    }

    // A member.
    const headerOffset = pending ? first : pos;
    const magic = ustarFormat(bytes, pos);
    let name: string;
    if (longName !== undefined) name = longName;
    else {
      name = cString(bytes, pos, 100, fail, pos);
      if (magic !== 'gnu' && magic !== 'v7') {
        const prefix = cString(bytes, pos + 345, magic === 'star' ? 131 : 155, fail, pos);
        if (prefix !== '') name = `${prefix}/${name}`;
      }
    }
    if (ext?.path !== undefined) name = ext.path;

    let type: TarEntryType;
    switch (typeflag) {
      case 0x30 /* 0 */:
      case 0x37 /* 7, contiguous */:
        type = 'file';
        break;
      case 0: // v7 and old tools: a trailing slash marks a directory
        type = name.endsWith('/') ? 'dir' : 'file';
        break;
      case 0x31:
        type = 'hardlink';
        break;
      case 0x32:
        type = 'symlink';
        break;
      case 0x33:
        type = 'char';
        break;
      case 0x34:
        type = 'block';
        break;
      case 0x35:
        type = 'dir';
        break;
      case 0x36:
        type = 'fifo';
        break;
      default:
        return fail(unsupportedType(typeflag), pos, name, 'UNSUPPORTED');
    }

    let linkname = '';
    if (type === 'symlink' || type === 'hardlink') {
      linkname = ext?.linkpath ?? longLink ?? cString(bytes, pos + 157, 100, fail, pos);
    }
    let size = type === 'file' ? parseNumber(bytes, pos + 124, 12, 'size', fail, pos, name) : 0;
    if (type === 'file' && ext?.size !== undefined) size = ext.size;
    if (type === 'file' && dataOffset + size > end) {
      fail(`truncated: ${size} bytes of data declared, ${end - dataOffset} present`, pos, name);
    }

    const mode = parseNumber(bytes, pos + 100, 8, 'mode', fail, pos, name) & 0o7777;
    let uid = ext?.uid ?? global?.uid;
    uid ??= parseId(bytes, pos + 108, 'uid', fail, pos, name);
    let gid = ext?.gid ?? global?.gid;
    gid ??= parseId(bytes, pos + 116, 'gid', fail, pos, name);
    let mtime = ext?.mtime ?? global?.mtime;
    if (mtime === undefined) {
      const seconds = parseOctal(bytes, pos + 136, 12);
      if (seconds >= 0 && seconds === lastSeconds) mtime = lastMtime;
      else {
        mtime = seconds >= 0 ? BigInt(seconds) * NS_PER_S : parseBig(bytes, pos + 136, 12, 'mtime', fail, pos, name) * NS_PER_S;
        if (seconds >= 0) {
          lastSeconds = seconds;
          lastMtime = mtime;
        }
      }
    }
    let xattrs: Record<string, string> | undefined;
    if (global?.xattrs !== undefined && hasKeys(global.xattrs)) xattrs = { ...global.xattrs, ...ext?.xattrs };
    else if (ext?.xattrs !== undefined && hasKeys(ext.xattrs)) xattrs = ext.xattrs;

    yield { name, type, mode, uid, gid, mtime, size, dataOffset, linkname, xattrs, headerOffset };

    ext = undefined;
    longName = undefined;
    longLink = undefined;
    first = -1;
    pos = dataOffset + pad(size);
  }
}

type Fail = (reason: string, at: number, entry?: string, code?: 'UNSUPPORTED' | 'LIMIT_EXCEEDED') => never;

/** `n` rounded up to whole blocks (no bit tricks: sizes exceed 2^31). */
function pad(n: number): number {
  const r = n % BLOCK;
  return r === 0 ? n : n + BLOCK - r;
}

function byteSum(bytes: Uint8Array, pos: number): number {
  let sum = 0;
  for (let i = pos; i < pos + BLOCK; i++) sum += bytes[i] as number;
  return sum;
}

/** Sum of the 512 bytes at word `w`: two 16-bit lanes per accumulator (128 × 2 × 255 fits). */
function wordSum(words: Uint32Array, w: number): number {
  let even = 0;
  let odd = 0;
  for (let i = w; i < w + BLOCK / 4; i++) {
    const x = words[i] as number;
    even += x & 0x00ff00ff;
    odd += (x >>> 8) & 0x00ff00ff;
  }
  return (even & 0xffff) + (even >>> 16) + (odd & 0xffff) + (odd >>> 16);
}

function isZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** The checksum covers the header with its own field read as eight spaces. */
function verifyChecksum(bytes: Uint8Array, pos: number, rawSum: number, fail: Fail): void {
  let field = 0;
  for (let i = pos + 148; i < pos + 156; i++) field += bytes[i] as number;
  const unsigned = rawSum - field + 8 * 0x20;
  const stored = parseOctal(bytes, pos + 148, 8);
  if (stored === unsigned) return;
  let signed = 8 * 0x20;
  for (let i = pos; i < pos + BLOCK; i++) {
    if (i === pos + 148) i += 8;
    const b = bytes[i] as number;
    signed += b < 0x80 ? b : b - 0x100;
  }
  if (stored === signed) return;
  fail(stored < 0 ? 'the header checksum field is not an octal number' : 'header checksum mismatch (corrupt or not a tar archive)', pos);
}

/**
 * An octal field: leading and trailing spaces and NULs are ignored, empty is 0.
 * Returns -1 when the field holds anything else (or does not fit a safe integer).
 */
function parseOctal(bytes: Uint8Array, off: number, len: number): number {
  let s = off;
  let e = off + len;
  while (s < e && (bytes[s] === 0x20 || bytes[s] === 0)) s++;
  while (e > s && (bytes[e - 1] === 0x20 || bytes[e - 1] === 0)) e--;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = (bytes[i] as number) - 0x30;
    if (d < 0 || d > 7) return -1;
    n = n * 8 + d;
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

/** A numeric field as bigint: octal, or GNU base-256 (high bit of the first byte set; 0xff = negative). */
function parseBig(bytes: Uint8Array, off: number, len: number, what: string, fail: Fail, pos: number, name: string | undefined): bigint {
  const b0 = bytes[off] as number;
  if (b0 & 0x80) {
    let n = BigInt(b0 & 0x7f);
    for (let i = off + 1; i < off + len; i++) n = (n << 8n) | BigInt(bytes[i] as number);
    return b0 === 0xff ? n - (1n << BigInt(len * 8 - 1)) : n;
  }
  const n = parseOctal(bytes, off, len);
  if (n < 0) return fail(`the ${what} field is not an octal number`, pos, name);
  return BigInt(n);
}

/** A non-negative numeric field that fits a safe integer. */
function parseNumber(bytes: Uint8Array, off: number, len: number, what: string, fail: Fail, pos: number, name: string | undefined): number {
  if (((bytes[off] as number) & 0x80) === 0) {
    const n = parseOctal(bytes, off, len);
    if (n >= 0) return n;
  }
  const big = parseBig(bytes, off, len, what, fail, pos, name);
  if (big < 0n || big > BigInt(Number.MAX_SAFE_INTEGER)) fail(`the ${what} field is out of range (${big})`, pos, name);
  return Number(big);
}

function parseId(bytes: Uint8Array, off: number, what: string, fail: Fail, pos: number, name: string): number {
  const n = parseNumber(bytes, off, 8, what, fail, pos, name);
  if (n > MAX_ID) fail(`the ${what} field is out of range (${n})`, pos, name);
  return n;
}

/** 'ustar' (POSIX, 155-byte prefix), 'star' (131-byte prefix), 'gnu' (no prefix), 'v7'. */
function ustarFormat(bytes: Uint8Array, pos: number): 'ustar' | 'star' | 'gnu' | 'v7' {
  const m = pos + 257;
  if (bytes[m] !== 0x75 || bytes[m + 1] !== 0x73 || bytes[m + 2] !== 0x74 || bytes[m + 3] !== 0x61 || bytes[m + 4] !== 0x72) {
    return 'v7';
  }
  if (bytes[m + 5] === 0) {
    const t = pos + 508; // star writes "tar\0" here and keeps atime/ctime after a shorter prefix
    return bytes[t] === 0x74 && bytes[t + 1] === 0x61 && bytes[t + 2] === 0x72 && bytes[t + 3] === 0 ? 'star' : 'ustar';
  }
  if (bytes[m + 5] === 0x20 && bytes[m + 6] === 0x20 && bytes[m + 7] === 0) return 'gnu';
  return 'v7';
}

/** A NUL-terminated (or full-width) text field. */
function cString(bytes: Uint8Array, off: number, len: number, fail: Fail, pos: number): string {
  let e = off;
  const limit = off + len;
  while (e < limit && bytes[e] !== 0) e++;
  return decodeUtf8(bytes, off, e) ?? fail('a name is not valid UTF-8', pos, undefined, 'UNSUPPORTED');
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 text, or undefined if the bytes are not UTF-8. ASCII (the usual case) needs no decoder. */
function decodeUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  for (let i = start; i < end; i++) {
    if ((bytes[i] as number) >= 0x80) {
      try {
        // A copy: TextDecoder refuses views of a SharedArrayBuffer in browsers.
        return utf8.decode(bytes.slice(start, end));
      } catch {
        return undefined;
      }
    }
  }
  return byteString(bytes, start, end);
}

const scratch: number[] = [];

/** One char per byte (ASCII or binary data). A plain array is the fastest `apply` argument. */
function byteString(bytes: Uint8Array, start: number, end: number): string {
  const CHUNK = 4096;
  let s = '';
  for (let c = start; c < end; c += CHUNK) {
    const n = Math.min(end - c, CHUNK);
    scratch.length = n;
    for (let i = 0; i < n; i++) scratch[i] = bytes[c + i] as number;
    s += String.fromCharCode.apply(null, scratch);
  }
  return s;
}

/**
 * Parses pax records (`"%d %s=%s\n"`, the length counting the whole record) into
 * `into`. An empty value deletes the keyword. Unknown keywords are ignored.
 */
function parsePax(
  bytes: Uint8Array,
  start: number,
  end: number,
  into: Pax,
  maxPath: number,
  pos: number,
  fail: Fail,
): Pax {
  let p = start;
  while (p < end) {
    if (bytes[p] === 0 && isZero(bytes, p, end)) break; // NUL padding after the records
    let len = 0;
    let q = p;
    while (q < end && bytes[q] !== 0x20) {
      const d = (bytes[q] as number) - 0x30;
      if (d < 0 || d > 9 || len > end) fail('malformed pax record (bad length)', pos);
      len = len * 10 + d;
      q++;
    }
    const recEnd = p + len;
    if (q === p || q >= end || recEnd > end || recEnd <= q + 1 || bytes[recEnd - 1] !== 0x0a) {
      fail('malformed pax record', pos);
    }
    let eq = q + 1;
    while (eq < recEnd - 1 && bytes[eq] !== 0x3d) eq++;
    if (eq === q + 1 || eq >= recEnd - 1) fail('malformed pax record (no keyword=value)', pos);
    const key = decodeUtf8(bytes, q + 1, eq) ?? fail('a pax keyword is not valid UTF-8', pos);
    const vs = eq + 1;
    const ve = recEnd - 1;
    const empty = vs === ve;
    const text = (): string => decodeUtf8(bytes, vs, ve) ?? fail(`the pax ${key} record is not valid UTF-8`, pos, undefined, 'UNSUPPORTED');
    switch (key) {
      case 'path':
      case 'linkpath':
        if (ve - vs > maxPath) fail(`a pax ${key} of ${ve - vs} bytes exceeds the limit of ${maxPath}`, pos, undefined, 'LIMIT_EXCEEDED');
        if (empty) delete into[key];
        else into[key] = text();
        break;
      case 'size':
        if (empty) delete into.size;
        else into.size = paxDecimal(text(), key, MAX_SAFE, pos, fail);
        break;
      case 'uid':
      case 'gid':
        if (empty) delete into[key];
        else into[key] = paxDecimal(text(), key, MAX_ID, pos, fail);
        break;
      case 'mtime':
        if (empty) delete into.mtime;
        else into.mtime = paxTime(text(), pos, fail);
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          const xattrs = (into.xattrs ??= {});
          const xname = key.slice('SCHILY.xattr.'.length);
          if (empty) delete xattrs[xname];
          else xattrs[xname] = byteString(bytes, vs, ve);
        } else if (key.startsWith('GNU.sparse.')) {
          fail('GNU sparse files are not supported', pos, undefined, 'UNSUPPORTED');
        }
    }
    p = recEnd;
  }
  return into;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function paxDecimal(v: string, key: string, max: number, pos: number, fail: Fail): number {
  if (!/^[0-9]{1,16}$/.test(v)) fail(`the pax ${key} record is not a decimal number: ${JSON.stringify(v)}`, pos);
  const n = Number(v);
  if (n > max) fail(`the pax ${key} record is out of range: ${v}`, pos);
  return n;
}

/** Seconds with an optional fraction, to nanoseconds (digits past the ninth are dropped). */
function paxTime(v: string, pos: number, fail: Fail): bigint {
  const m = /^(-?)([0-9]{1,19})(?:\.([0-9]*))?$/.exec(v);
  if (m === null) return fail(`the pax mtime record is not a time: ${JSON.stringify(v)}`, pos);
  const ns = BigInt(m[2] as string) * NS_PER_S + BigInt(((m[3] ?? '') + '000000000').slice(0, 9));
  return m[1] === '-' ? -ns : ns;
}

function unsupportedType(typeflag: number): string {
  const c = String.fromCharCode(typeflag);
  const known: Record<string, string> = {
    S: 'GNU sparse files are not supported',
    M: 'multi-volume archives are not supported',
    V: 'tape volume labels are not supported',
    N: 'old GNU long-name members are not supported',
    D: 'GNU dump directories are not supported',
    A: 'Solaris ACL members are not supported',
    E: 'Solaris extended attribute members are not supported',
    X: 'Solaris extended headers are not supported',
    I: 'inode-only members are not supported',
  };
  return known[c] ?? `unknown member type ${JSON.stringify(c)}`;
}
