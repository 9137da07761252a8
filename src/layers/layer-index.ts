/**
 * The layer index: an OCI layer (an uncompressed tar, a *changeset* in the spec's words)
 * imported once into an immutable tree that an overlay can stack lazily.
 *
 * Lifecycle:
 *   1. `indexLayer(bytes, name)` (layer-import.ts) parses the tar once, validates every
 *      entry (see the bad-input rules there) and returns a `LayerIndex`.
 *   2. File bytes are *not* copied: a `LayerFile` holds `offset`/`size` into
 *      `LayerIndex.bytes`, which is a SharedArrayBuffer view where the platform has one,
 *      so every thread can read the same layer without a copy.
 *   3. Overlays (overlay.ts) stack any number of indexes, bottom first, and never mutate
 *      them. One index may be shared by any number of overlays at once.
 *
 * Whiteouts are not entries: the OCI markers `.wh.<name>` and `.wh..wh..opq` become
 * `LayerDir.whiteouts` and `LayerDir.opaque`, so a directory lists only what it really
 * holds in this layer.
 *
 * Hard links inside one layer share one `LayerFile` object (`nlink` counts its names in
 * this layer). A hard link whose target lives in a lower layer cannot be resolved when
 * the layer is indexed on its own; it is kept as a `LayerHardlink` and resolved against
 * the layers below when an image's stack is checked (stack-check.ts).
 */

export type LayerNode = LayerFile | LayerDir | LayerSymlink | LayerHardlink;

interface LayerMeta {
  /** Permission bits plus setuid/setgid/sticky (07777); the file type is `kind`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtime: bigint;
  /** PAX `SCHILY.xattr.*` extended attributes, if any. */
  readonly xattrs?: Readonly<Record<string, string>>;
}

export interface LayerFile extends LayerMeta {
  readonly kind: 'file';
  /** Byte offset of the content in `LayerIndex.bytes`. */
  readonly offset: number;
  readonly size: number;
  /** Number of names this file has in this layer (hard links within the layer). */
  nlink: number;
  /** Every path (without leading `/`) naming this file in this layer, when nlink > 1. */
  paths?: string[];
}

export interface LayerSymlink extends LayerMeta {
  readonly kind: 'symlink';
  readonly target: string;
}

export interface LayerDir extends LayerMeta {
  readonly kind: 'dir';
  /** Entries present in this layer. */
  readonly children: Map<string, LayerNode>;
  /** Names whited out in this layer (`.wh.<name>`): hide the lower layers' entry. */
  readonly whiteouts: Set<string>;
  /** `.wh..wh..opq` present: nothing of the lower layers' directory shows through. */
  opaque: boolean;
  /**
   * False when the tar had no entry for this directory itself (it exists only as a
   * parent of other entries, as in `umoci repack` layers): its metadata is then the
   * default and a lower layer's directory metadata shows through.
   */
  explicit: boolean;
}

/** A hard link to a path that is not in this layer; resolved against lower layers. */
export interface LayerHardlink {
  readonly kind: 'hardlink';
  /** Target path, relative to the root, normalised, no leading `/`. */
  readonly target: string;
}

export interface LayerIndex {
  /** The layer's name for messages: its diffID or digest when known, else where it came from. */
  readonly name: string;
  /** The uncompressed tar bytes; file contents are ranges of it. */
  readonly bytes: Uint8Array;
  readonly root: LayerDir;
  /** Number of tar entries (files, dirs, links, whiteouts). */
  readonly entryCount: number;
  /** Sum of regular file sizes, counting each hard-linked file once. */
  readonly contentSize: number;
}

/** Limits applied while indexing a layer. A layer exceeding one is refused with LIMIT_EXCEEDED. */
export interface LayerLimits {
  /** Maximum tar entries in one layer. */
  maxEntries: number;
  /** Maximum path depth (components). */
  maxDepth: number;
  /** Maximum bytes of one path. */
  maxPathBytes: number;
  /** Maximum bytes of one path component (NAME_MAX). */
  maxNameBytes: number;
  /** Maximum uncompressed bytes of one layer (the gzip-bomb cap). */
  maxLayerBytes: number;
}

export const defaultLayerLimits: LayerLimits = {
  maxEntries: 1_000_000,
  maxDepth: 256,
  maxPathBytes: 4096,
  maxNameBytes: 255,
  maxLayerBytes: 8 * 1024 ** 3,
};

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** Default metadata of a directory that exists only as a parent of other entries. */
export function implicitDir(): LayerDir {
  return {
    kind: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0n,
    children: new Map(),
    whiteouts: new Set(),
    opaque: false,
    explicit: false,
  };
}
