/**
 * A `LayerIndex` across a thread boundary, in two parts:
 * - `meta`: the tree (names, kinds, metadata, byte ranges, whiteouts) without file
 *   bytes, msgpackr-encoded: small, copied to each thread that needs it once;
 * - `bytes`: the layer's own `bytes`, untouched. When they are a view of a
 *   SharedArrayBuffer (the image store makes them so where the platform allows), every
 *   thread reads the same memory; otherwise posting them copies them.
 *
 * `decodeLayerIndex(encodeLayerIndex(x))` is a layer an overlay mounts exactly as it
 * mounts `x`: same tree, same hard-link sharing (one `LayerFile` object for all its names),
 * same whiteouts, opaque flags and implicit directories. Encode once per layer and keep
 * the result: `encodeLayerIndex` walks the whole tree.
 */
import { Packr } from 'msgpackr';
import type { LayerDir, LayerFile, LayerIndex, LayerNode } from './layer-index.js';

export interface EncodedLayer {
  /** The tree without bytes (msgpackr). A fresh, exactly sized array. */
  readonly meta: Uint8Array;
  /** `LayerIndex.bytes`, the same view (not a copy). */
  readonly bytes: Uint8Array;
}

const FORMAT = 1;
const DIR = 0;
const FILE = 1;
const SYMLINK = 2;
const HARDLINK = 3;
/** A second name of a file already written (a hard link within the layer): `[FILE_REF, id]`. */
const FILE_REF = 4;

type Xattrs = Readonly<Record<string, string>> | null;
// The tree as nested arrays (compact, and no per-node field names in the encoding).
type WireNode =
  | [typeof DIR, number, number, number, bigint, number, string[], unknown[], Xattrs]
  | [typeof FILE, number, number, number, bigint, number, number, number, string[] | null, Xattrs, number]
  | [typeof SYMLINK, number, number, number, bigint, string, Xattrs]
  | [typeof HARDLINK, string]
  | [typeof FILE_REF, number];

interface WireLayer {
  readonly f: number;
  readonly name: string;
  readonly entryCount: number;
  readonly contentSize: number;
  readonly root: WireNode;
}

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'bigint' });

export function encodeLayerIndex(index: LayerIndex): EncodedLayer {
  const files = new Map<LayerFile, number>();
  const node = (n: LayerNode): WireNode => {
    switch (n.kind) {
      case 'dir':
        return dir(n);
      case 'file': {
        const seen = files.get(n);
        if (seen !== undefined) return [FILE_REF, seen];
        const id = files.size;
        files.set(n, id);
        return [FILE, n.mode, n.uid, n.gid, n.mtime, n.offset, n.size, n.nlink, n.paths ?? null, n.xattrs ?? null, id];
      }
      case 'symlink':
        return [SYMLINK, n.mode, n.uid, n.gid, n.mtime, n.target, n.xattrs ?? null];
      case 'hardlink':
        return [HARDLINK, n.target];
    }
  };
  const dir = (d: LayerDir): WireNode => {
    const entries: unknown[] = [];
    for (const [name, child] of d.children) entries.push(name, node(child));
    const flags = (d.explicit ? 1 : 0) | (d.opaque ? 2 : 0);
    return [DIR, d.mode, d.uid, d.gid, d.mtime, flags, [...d.whiteouts], entries, d.xattrs ?? null];
  };
  const wire: WireLayer = { f: FORMAT, name: index.name, entryCount: index.entryCount, contentSize: index.contentSize, root: dir(index.root) };
  const packed = packr.pack(wire);
  const meta = new Uint8Array(packed.length);
  meta.set(packed);
  return { meta, bytes: index.bytes };
}

/** The layer `encodeLayerIndex` was given. Throws on a `meta` it did not write. */
export function decodeLayerIndex(encoded: EncodedLayer): LayerIndex {
  const wire = packr.unpack(encoded.meta) as WireLayer;
  if (wire?.f !== FORMAT) throw new Error(`layer transfer: format ${String(wire?.f)}, expected ${FORMAT}`);
  const files: LayerFile[] = [];
  const meta = (w: readonly unknown[]): { mode: number; uid: number; gid: number; mtime: bigint } => ({
    mode: w[1] as number,
    uid: w[2] as number,
    gid: w[3] as number,
    mtime: BigInt(w[4] as bigint | number),
  });
  const withXattrs = <T extends object>(o: T, x: unknown): T => (x === null || x === undefined ? o : { ...o, xattrs: x as Record<string, string> });
  const node = (w: WireNode): LayerNode => {
    switch (w[0]) {
      case DIR:
        return dir(w);
      case FILE: {
        const f: LayerFile = withXattrs({ kind: 'file' as const, ...meta(w), offset: w[5], size: w[6], nlink: w[7], ...(w[8] !== null ? { paths: w[8] } : {}) }, w[9]);
        files[w[10]] = f;
        return f;
      }
      case FILE_REF: {
        const f = files[w[1]];
        if (f === undefined) throw new Error(`layer transfer: file ${w[1]} referenced before it is defined`);
        return f;
      }
      case SYMLINK:
        return withXattrs({ kind: 'symlink' as const, ...meta(w), target: w[5] }, w[6]);
      case HARDLINK:
        return { kind: 'hardlink', target: w[1] };
    }
  };
  const dir = (w: WireNode): LayerDir => {
    if (w[0] !== DIR) throw new Error('layer transfer: expected a directory');
    const children = new Map<string, LayerNode>();
    const entries = w[7];
    for (let i = 0; i < entries.length; i += 2) children.set(entries[i] as string, node(entries[i + 1] as WireNode));
    return withXattrs(
      { kind: 'dir' as const, ...meta(w), children, whiteouts: new Set(w[6]), opaque: (w[5] & 2) !== 0, explicit: (w[5] & 1) !== 0 },
      w[8],
    );
  };
  return { name: wire.name, bytes: encoded.bytes, root: dir(wire.root), entryCount: wire.entryCount, contentSize: wire.contentSize };
}
