/**
 * The overlay filesystem: a container's root, `[lower layers…] + upper`.
 *
 * Words, as in Linux overlayfs and the OCI image spec:
 * - *lower*: the image's layers, `LayerIndex`es, immutable and shared; merged lazily by
 *   lower-stack.ts, never flattened. Mounting costs O(number of layers).
 * - *upper*: this overlay's own writable tree. A name in the upper tree hides the lower
 *   name; a *whiteout* in the upper tree hides the lower name without replacing it;
 *   an *opaque* directory hides every lower directory at its path.
 * - *copy-up*: the first change to a lower node (a write, a truncate, chmod, utimes,
 *   chown, a new hard link) moves it into the upper tree. Content is copied up lazily
 *   at chunk granularity (file-content.ts): copy-up itself is O(1).
 * - *node*: what a path resolves to, and what a WASI file descriptor holds. A node keeps
 *   its identity across copy-up, rename and unlink, so an open descriptor sees writes
 *   made through any other name (hard links share one node, in the lower layers too).
 *
 * Flow: `new Overlay(layers)` → `resolve(root, 'etc/passwd')` → `read(node, …)`;
 * `open(root, 'tmp/x', { create: true })` → `write(node, …)`; later `diff()` (diff.ts)
 * walks the upper tree and turns it back into an OCI layer.
 *
 * Contracts:
 * - Every call is synchronous and non-blocking (the overlay lives in one thread).
 * - Expected failures are returned as `Errno` values, never thrown. A call that returns
 *   an Errno changed nothing.
 * - Paths are resolved inside the root: `..` at the root stays at the root, and symlinks
 *   (absolute or relative) resolve from the root of this overlay, never outside it. More
 *   than 40 symlinks in one resolution is ELOOP.
 * - Permission bits are stored and reported but not enforced (a container has one user).
 */
import {
  EEXIST,
  EINVAL,
  EISDIR,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  ENOTEMPTY,
  EPERM,
  EBUSY,
  Errno,
} from './errno.js';
import { FileContent } from './file-content.js';
import type { LayerFile, LayerIndex, LayerSymlink } from './layer-index.js';
import { lookupChild, rootStack, stackMeta, type DirStack } from './lower-stack.js';

export type NodeKind = 'file' | 'dir' | 'symlink';

export interface Stat {
  readonly kind: NodeKind;
  /** Unique in this overlay for the node's lifetime. */
  readonly ino: number;
  readonly nlink: number;
  readonly size: number;
  /** Permission bits plus setuid/setgid/sticky (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Nanoseconds since the epoch. */
  readonly atime: bigint;
  readonly mtime: bigint;
  readonly ctime: bigint;
}

export interface Dirent {
  readonly name: string;
  readonly kind: NodeKind;
  readonly ino: number;
}

export interface OpenOptions {
  /** Create the file if it does not exist (O_CREAT). */
  create?: boolean;
  /** With create: fail with EEXIST if it exists (O_EXCL). */
  exclusive?: boolean;
  /** Truncate a regular file to 0 (O_TRUNC). */
  truncate?: boolean;
  /** The result must be a directory (O_DIRECTORY). */
  directory?: boolean;
  /** Follow a symlink in the last component (default true; false is O_NOFOLLOW: ELOOP). */
  follow?: boolean;
  /** Permission bits of a created file (default 0o644). */
  mode?: number;
}

export interface OverlayOptions {
  /** Current time in ns since the epoch; injectable for deterministic tests. */
  clock?: () => bigint;
  /** Owner of nodes this overlay creates. */
  uid?: number;
  gid?: number;
}

const MAX_SYMLINKS = 40;
const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4096;
const WHITEOUT = Symbol('whiteout');
type UpperEntry = Node | typeof WHITEOUT;

const encoder = new TextEncoder();
const defaultClock = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
}

/** A file, directory or symlink of an overlay. Opaque to callers except for `kind` and `ino`. */
export type Node = FileNode | DirNode | SymlinkNode;

abstract class NodeBase {
  abstract readonly kind: NodeKind;
  /** @internal */ meta: Meta;
  /** @internal the directory and name this node was first found under (dirs: their only name). */
  parent: DirNode | undefined;
  /** @internal */ name: string;
  constructor(
    readonly ino: number,
    meta: Meta,
    parent: DirNode | undefined,
    name: string,
  ) {
    this.meta = meta;
    this.parent = parent;
    this.name = name;
  }
}

export class FileNode extends NodeBase {
  readonly kind = 'file' as const;
  /** @internal the lower file this node came from, if any. */
  readonly lower: LayerFile | undefined;
  /** @internal the lower file's bytes (a view into its layer), until copied up. */
  lowerBytes: Uint8Array | undefined;
  /** @internal own content once copied up or created here. */
  content: FileContent | undefined;
  /** @internal */ nlink: number;
  constructor(ino: number, meta: Meta, parent: DirNode | undefined, name: string, lower?: LayerFile, lowerBytes?: Uint8Array) {
    super(ino, meta, parent, name);
    this.lower = lower;
    this.lowerBytes = lowerBytes;
    this.nlink = lower?.nlink ?? 1;
    if (lower === undefined) this.content = new FileContent();
  }
  get size(): number {
    return this.content !== undefined ? this.content.size : (this.lowerBytes as Uint8Array).length;
  }
}

export class SymlinkNode extends NodeBase {
  readonly kind = 'symlink' as const;
  /** @internal */ nlink = 1;
  constructor(
    ino: number,
    meta: Meta,
    parent: DirNode | undefined,
    name: string,
    readonly target: string,
  ) {
    super(ino, meta, parent, name);
  }
}

export class DirNode extends NodeBase {
  readonly kind = 'dir' as const;
  /** @internal lower directories merged into this one, top first ([] for an upper-only dir). */
  lowers: DirStack;
  /** @internal the upper directory, once this directory has been copied up. */
  upper: Map<string, UpperEntry> | undefined;
  /** @internal hides every lower directory at this path in the diff (`.wh..wh..opq`). */
  opaque = false;
  /** @internal moved from where its lowers are: the diff must write it out whole. */
  redirected = false;
  /** @internal removed by rmdir or replaced by rename: nothing may be created in it. */
  removed = false;
  /** @internal resolved lower children (lowers never change, so this never goes stale). */
  readonly lowerCache = new Map<string, Node | null>();
  /** @internal sorted merged listing, dropped on every change to this directory. */
  listing: Dirent[] | undefined;
  /** @internal link count (dirLinkCount), dropped with `listing`. */
  nlink: number | undefined;
  constructor(ino: number, meta: Meta, parent: DirNode | undefined, name: string, lowers: DirStack) {
    super(ino, meta, parent, name);
    this.lowers = lowers;
  }
}

/** What `resolveParent` gives: the directory that holds (or will hold) `name`. */
interface ParentRef {
  dir: DirNode;
  name: string;
  /** The path ended in `/`: the named node must be (or become) a directory. */
  trailingSlash: boolean;
}

export class Overlay {
  readonly root: DirNode;
  readonly layers: readonly LayerIndex[];
  private nextIno = 1;
  private readonly clock: () => bigint;
  private readonly uid: number;
  private readonly gid: number;
  private readonly lowerFiles = new WeakMap<LayerFile, FileNode>();
  private readonly lowerSymlinks = new WeakMap<LayerSymlink, SymlinkNode>();

  /** Mounts `layers` (bottom first) with an empty upper. O(number of layers). */
  constructor(layers: readonly LayerIndex[], options: OverlayOptions = {}) {
    this.layers = layers;
    this.clock = options.clock ?? defaultClock;
    this.uid = options.uid ?? 0;
    this.gid = options.gid ?? 0;
    const stack = rootStack(layers);
    const meta = stack.length > 0 ? this.metaOf(stackMeta(stack)) : this.newMeta(0o755);
    this.root = new DirNode(this.nextIno++, meta, undefined, '', stack);
    this.root.upper = new Map();
  }

  // ---------------------------------------------------------------- resolution

  /**
   * Resolves `path` from `start` (absolute paths from the root). Symlinks in the middle
   * are always followed, the last one only with `follow` (default true). A trailing `/`
   * requires a directory and follows a final symlink.
   */
  resolve(start: DirNode, path: string, follow = true): Node | Errno {
    return this.walk(start, path, follow, { count: 0 });
  }

  private walk(start: DirNode, path: string, follow: boolean, links: { count: number }): Node | Errno {
    if (path === '') return ENOENT;
    if (byteLength(path) > MAX_PATH_BYTES) return ENAMETOOLONG;
    // `x/`, `x/.` and `x/..` all require x to be a directory.
    const trailingSlash = path.endsWith('/') || /(^|\/)\.\.?$/.test(path);
    let dir: DirNode = path.startsWith('/') ? this.root : start;
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.length === 0) return dir;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const last = i === parts.length - 1;
      if (part === '..') {
        dir = dir.parent ?? this.root;
        if (last) return dir;
        continue;
      }
      if (byteLength(part) > MAX_NAME_BYTES) return ENAMETOOLONG;
      let node = this.lookup(dir, part);
      if (node === undefined) return ENOENT;
      if (node.kind === 'symlink' && (!last || follow || trailingSlash)) {
        if (++links.count > MAX_SYMLINKS) return ELOOP;
        const target = this.walk(dir, node.target, true, links);
        if (target instanceof Errno) return target;
        node = target;
      }
      if (last) {
        if (trailingSlash && node.kind !== 'dir') return ENOTDIR;
        return node;
      }
      if (node.kind !== 'dir') return ENOTDIR;
      dir = node;
    }
    return dir;
  }

  /**
   * Resolves all of `path` but the last component, which is returned by name.
   * The last component may be `.` or `..` (the caller decides what that means).
   */
  private resolveParent(start: DirNode, path: string): ParentRef | Errno {
    if (path === '') return ENOENT;
    if (byteLength(path) > MAX_PATH_BYTES) return ENAMETOOLONG;
    const trailingSlash = /[^/]\/+$/.test(path);
    const trimmed = path.replace(/\/+$/, '');
    if (trimmed === '') return { dir: this.root, name: '.', trailingSlash: false };
    const slash = trimmed.lastIndexOf('/');
    const name = trimmed.slice(slash + 1);
    if (byteLength(name) > MAX_NAME_BYTES) return ENAMETOOLONG;
    let dir: Node | Errno = start;
    if (slash === 0) dir = this.root;
    else if (slash > 0) dir = this.walk(start, trimmed.slice(0, slash) + '/', true, { count: 0 });
    if (dir instanceof Errno) return dir;
    if (dir.kind !== 'dir') return ENOTDIR;
    return { dir, name, trailingSlash };
  }

  /** The node named `name` in `dir` in the merged view, or undefined. */
  lookup(dir: DirNode, name: string): Node | undefined {
    if (dir.upper !== undefined) {
      const e = dir.upper.get(name);
      if (e === WHITEOUT) return undefined;
      if (e !== undefined) return e;
    }
    if (dir.lowers.length === 0) return undefined;
    let cached = dir.lowerCache.get(name);
    if (cached === undefined) {
      cached = this.fromLower(dir, name);
      dir.lowerCache.set(name, cached);
    }
    return cached ?? undefined;
  }

  private fromLower(dir: DirNode, name: string): Node | null {
    const child = lookupChild(this.layers, dir.lowers, name);
    switch (child.kind) {
      case 'none':
      case 'broken':
        return null;
      case 'dir':
        return new DirNode(this.nextIno++, this.metaOf(stackMeta(child.stack)), dir, name, child.stack);
      case 'file': {
        let node = this.lowerFiles.get(child.node);
        if (node === undefined) {
          const bytes = (this.layers[child.layer] as LayerIndex).bytes;
          const view = bytes.subarray(child.node.offset, child.node.offset + child.node.size);
          node = new FileNode(this.nextIno++, this.metaOf(child.node), dir, name, child.node, view);
          this.lowerFiles.set(child.node, node);
        }
        return node;
      }
      case 'symlink': {
        let node = this.lowerSymlinks.get(child.node);
        if (node === undefined) {
          node = new SymlinkNode(this.nextIno++, this.metaOf(child.node), dir, name, child.node.target);
          this.lowerSymlinks.set(child.node, node);
        }
        return node;
      }
    }
  }

  // ---------------------------------------------------------------- reading

  stat(node: Node): Stat {
    const m = node.meta;
    let size = 0;
    let nlink = 1;
    if (node instanceof FileNode) {
      size = node.size;
      nlink = node.nlink;
    } else if (node instanceof SymlinkNode) {
      size = byteLength(node.target);
      nlink = node.nlink;
    } else if (node instanceof DirNode) {
      nlink = dirLinkCount(node);
    }
    return { kind: node.kind, ino: node.ino, nlink, size, mode: m.mode, uid: m.uid, gid: m.gid, atime: m.atime, mtime: m.mtime, ctime: m.ctime };
  }

  /** Reads into dst from `pos`; returns the byte count (0 at EOF). */
  read(node: Node, pos: number, dst: Uint8Array): number | Errno {
    if (node instanceof DirNode) return EISDIR;
    if (!(node instanceof FileNode)) return EINVAL;
    if (node.content !== undefined) return node.content.read(pos, dst);
    const bytes = node.lowerBytes as Uint8Array;
    if (pos >= bytes.length) return 0;
    const n = Math.min(dst.length, bytes.length - pos);
    dst.set(bytes.subarray(pos, pos + n));
    return n;
  }

  /** The whole content of a file (a view of the layer bytes when not copied up: do not mutate). */
  contentOf(node: FileNode): Uint8Array {
    return node.content !== undefined ? node.content.bytes() : (node.lowerBytes as Uint8Array);
  }

  readlink(node: Node): string | Errno {
    return node instanceof SymlinkNode ? node.target : EINVAL;
  }

  /** The merged directory listing, sorted by name, without `.` and `..`. */
  readdir(node: Node): readonly Dirent[] | Errno {
    if (!(node instanceof DirNode)) return ENOTDIR;
    if (node.listing !== undefined) return node.listing;
    const names = new Set<string>();
    if (node.upper !== undefined) for (const name of node.upper.keys()) names.add(name);
    if (node.lowers.length > 0) {
      const hidden = new Set<string>();
      for (const { dir } of node.lowers) {
        for (const name of dir.children.keys()) if (!hidden.has(name)) names.add(name);
        for (const name of dir.whiteouts) hidden.add(name);
      }
    }
    const out: Dirent[] = [];
    for (const name of names) {
      const child = this.lookup(node, name);
      if (child !== undefined) out.push({ name, kind: child.kind, ino: child.ino });
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    node.listing = out;
    return out;
  }

  // ---------------------------------------------------------------- writing file content

  /** Writes all of src at `pos` (copying the file up first if it is a lower file). */
  write(node: Node, pos: number, src: Uint8Array): number | Errno {
    if (node instanceof DirNode) return EISDIR;
    if (!(node instanceof FileNode)) return EINVAL;
    const content = this.copyUpContent(node);
    content.write(pos, src);
    this.touch(node);
    return src.length;
  }

  truncate(node: Node, size: number): Errno | undefined {
    if (node instanceof DirNode) return EISDIR;
    if (!(node instanceof FileNode)) return EINVAL;
    if (size < 0 || !Number.isSafeInteger(size)) return EINVAL;
    if (size === node.size && node.content !== undefined) {
      this.touch(node);
      return undefined;
    }
    if (size === 0 && node.content === undefined) {
      node.content = new FileContent();
      node.lowerBytes = undefined;
      this.placeAllNames(node);
    } else {
      this.copyUpContent(node).truncate(size);
    }
    this.touch(node);
    return undefined;
  }

  // ---------------------------------------------------------------- metadata

  /** Sets times (ns); `undefined` leaves one unchanged. ctime becomes now. */
  setTimes(node: Node, atime: bigint | undefined, mtime: bigint | undefined): void {
    this.copyUpMeta(node);
    if (atime !== undefined) node.meta.atime = atime;
    if (mtime !== undefined) node.meta.mtime = mtime;
    node.meta.ctime = this.clock();
  }

  chmod(node: Node, mode: number): void {
    this.copyUpMeta(node);
    node.meta.mode = mode & 0o7777;
    node.meta.ctime = this.clock();
  }

  chown(node: Node, uid: number, gid: number): void {
    this.copyUpMeta(node);
    node.meta.uid = uid;
    node.meta.gid = gid;
    node.meta.ctime = this.clock();
  }

  // ---------------------------------------------------------------- namespace operations

  // Name-level primitives: `dir` is resolved, `name` is one component (not `.` or `..`).
  // Path resolution, symlink following and trailing slashes are the caller's (the
  // path-level methods below, or a VFS that spans several filesystems).

  /** Creates an empty regular file; EEXIST if `name` exists. */
  createFile(dir: DirNode, name: string, mode = 0o644): FileNode | Errno {
    const bad = this.checkNew(dir, name);
    if (bad !== undefined) return bad;
    const node = new FileNode(this.nextIno++, this.newMeta(mode), dir, name);
    this.place(dir, name, node);
    return node;
  }

  mkdirAt(dir: DirNode, name: string, mode = 0o755): DirNode | Errno {
    const bad = this.checkNew(dir, name);
    if (bad !== undefined) return bad;
    const node = new DirNode(this.nextIno++, this.newMeta(mode), dir, name, []);
    node.upper = new Map();
    // A directory made where a lower one was removed must not let the old one show through.
    if (dir.upper?.get(name) === WHITEOUT) node.opaque = true;
    this.place(dir, name, node);
    return node;
  }

  symlinkAt(target: string, dir: DirNode, name: string): SymlinkNode | Errno {
    if (target === '') return ENOENT;
    const bad = this.checkNew(dir, name);
    if (bad !== undefined) return bad;
    const node = new SymlinkNode(this.nextIno++, this.newMeta(0o777), dir, name, target);
    this.place(dir, name, node);
    return node;
  }

  /** Makes `name` in `dir` another name of `node` (no directories: EPERM). */
  linkAt(node: Node, dir: DirNode, name: string): Errno | undefined {
    if (node.kind === 'dir') return EPERM;
    const bad = this.checkNew(dir, name);
    if (bad !== undefined) return bad;
    // Both names must be in the upper tree for the diff to keep them one file.
    this.placeAllNames(node);
    this.place(dir, name, node);
    node.nlink++;
    node.meta.ctime = this.clock();
    return undefined;
  }

  /** Removes a non-directory name. */
  unlinkAt(dir: DirNode, name: string): Errno | undefined {
    const node = this.lookup(dir, name);
    if (node === undefined) return ENOENT;
    if (node.kind === 'dir') return EISDIR;
    this.removeName(dir, name);
    node.nlink = Math.max(0, node.nlink - 1);
    node.meta.ctime = this.clock();
    return undefined;
  }

  /** Removes an empty directory. */
  rmdirAt(dir: DirNode, name: string): Errno | undefined {
    const node = this.lookup(dir, name);
    if (node === undefined) return ENOENT;
    if (!(node instanceof DirNode)) return ENOTDIR;
    if ((this.readdir(node) as readonly Dirent[]).length > 0) return ENOTEMPTY;
    this.removeName(dir, name);
    node.removed = true;
    return undefined;
  }

  /** rename(2): atomically replaces `toName` in `toDir` (if any) by the node at `fromName`. */
  renameAt(fromDir: DirNode, fromName: string, toDir: DirNode, toName: string): Errno | undefined {
    const node = this.lookup(fromDir, fromName);
    if (node === undefined) return ENOENT;
    const existing = this.lookup(toDir, toName);
    if (existing === node) return undefined;
    if (node instanceof DirNode) {
      // A directory may not move under itself.
      for (let d: DirNode | undefined = toDir; d !== undefined; d = d.parent) if (d === node) return EINVAL;
    }
    if (existing !== undefined) {
      if (node.kind === 'dir' && existing.kind !== 'dir') return ENOTDIR;
      if (node.kind !== 'dir' && existing.kind === 'dir') return EISDIR;
      if (existing instanceof DirNode && (this.readdir(existing) as readonly Dirent[]).length > 0) return ENOTEMPTY;
    }
    if (toDir.removed) return ENOENT;
    if (toName === '' || toName === '.' || toName === '..' || toName.includes('/') || toName.includes('\0')) return EINVAL;
    if (byteLength(toName) > MAX_NAME_BYTES) return ENAMETOOLONG;
    if (existing !== undefined) {
      if (existing instanceof DirNode) existing.removed = true;
      else existing.nlink = Math.max(0, existing.nlink - 1);
    }
    if (node instanceof FileNode) this.placeAllNames(node, fromDir, fromName);
    this.removeName(fromDir, fromName);
    node.parent = toDir;
    node.name = toName;
    if (node instanceof DirNode) {
      this.copyUpDir(node);
      if (node.lowers.length > 0) node.redirected = true;
      if (lookupChild(this.layers, toDir.lowers, toName).kind !== 'none') node.opaque = true;
    }
    this.place(toDir, toName, node);
    node.meta.ctime = this.clock();
    return undefined;
  }

  private checkNew(dir: DirNode, name: string): Errno | undefined {
    // One component only: a name with `/` or NUL, or `.`/`..`, would be written into a layer as a path.
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return EINVAL;
    if (byteLength(name) > MAX_NAME_BYTES) return ENAMETOOLONG;
    if (this.lookup(dir, name) !== undefined) return EEXIST;
    if (dir.removed) return ENOENT;
    return undefined;
  }

  // Path-level operations, as the POSIX calls of the same names behave.

  /** Opens (and with `create`, creates) the node at `path`, as open(2) does. */
  open(start: DirNode, path: string, options: OpenOptions = {}): Node | Errno {
    const follow = options.follow ?? true;
    if (!options.create) {
      const node = this.resolve(start, path, follow);
      if (node instanceof Errno) return node;
      return this.finishOpen(node, options);
    }
    let ref = this.resolveParent(start, path);
    for (let hops = 0; ; hops++) {
      if (ref instanceof Errno) return ref;
      if (ref.name === '.' || ref.name === '..') {
        if (options.exclusive) return EEXIST;
        return EISDIR;
      }
      const existing = this.lookup(ref.dir, ref.name);
      if (existing === undefined) {
        if (ref.trailingSlash || options.directory) return EISDIR;
        return this.createFile(ref.dir, ref.name, options.mode ?? 0o644);
      }
      if (options.exclusive) return EEXIST;
      if (existing.kind === 'symlink') {
        if (!follow) return ELOOP;
        // O_CREAT through a symlink creates its target (if dangling), as on Linux.
        if (hops >= MAX_SYMLINKS) return ELOOP;
        ref = this.resolveParent(ref.dir, existing.target + (ref.trailingSlash ? '/' : ''));
        continue;
      }
      if (ref.trailingSlash && existing.kind !== 'dir') return ENOTDIR;
      if (existing.kind === 'dir') return EISDIR;
      return this.finishOpen(existing, options);
    }
  }

  private finishOpen(node: Node, options: OpenOptions): Node | Errno {
    if (options.directory && node.kind !== 'dir') return ENOTDIR;
    if (node.kind === 'symlink' && options.follow === false) return ELOOP;
    if (options.truncate && node instanceof FileNode && node.size !== 0) this.truncate(node, 0);
    return node;
  }

  mkdir(start: DirNode, path: string, mode = 0o755): DirNode | Errno {
    const ref = this.resolveParent(start, path);
    if (ref instanceof Errno) return ref;
    if (ref.name === '.' || ref.name === '..') return EEXIST;
    return this.mkdirAt(ref.dir, ref.name, mode);
  }

  symlink(target: string, start: DirNode, path: string): SymlinkNode | Errno {
    const ref = this.resolveParent(start, path);
    if (ref instanceof Errno) return ref;
    if (ref.name === '.' || ref.name === '..') return EEXIST;
    if (ref.trailingSlash && this.lookup(ref.dir, ref.name) === undefined) return ENOENT;
    return this.symlinkAt(target, ref.dir, ref.name);
  }

  /** Makes `newPath` another name of the node at `oldPath` (no directories: EPERM). */
  link(oldStart: DirNode, oldPath: string, newStart: DirNode, newPath: string, follow = false): Node | Errno {
    const node = this.resolve(oldStart, oldPath, follow);
    if (node instanceof Errno) return node;
    if (node.kind === 'dir') return EPERM;
    const ref = this.resolveParent(newStart, newPath);
    if (ref instanceof Errno) return ref;
    if (ref.name === '.' || ref.name === '..') return EEXIST;
    if (ref.trailingSlash && this.lookup(ref.dir, ref.name) === undefined) return ENOENT;
    const r = this.linkAt(node, ref.dir, ref.name);
    return r ?? node;
  }

  unlink(start: DirNode, path: string): Errno | undefined {
    const ref = this.resolveParent(start, path);
    if (ref instanceof Errno) return ref;
    if (ref.name === '.' || ref.name === '..') return EISDIR;
    const node = this.lookup(ref.dir, ref.name);
    if (node !== undefined && node.kind !== 'dir' && ref.trailingSlash) return ENOTDIR;
    return this.unlinkAt(ref.dir, ref.name);
  }

  rmdir(start: DirNode, path: string): Errno | undefined {
    const ref = this.resolveParent(start, path);
    if (ref instanceof Errno) return ref;
    if (ref.name === '.') return EINVAL;
    if (ref.name === '..') return ENOTEMPTY;
    return this.rmdirAt(ref.dir, ref.name);
  }

  rename(oldStart: DirNode, oldPath: string, newStart: DirNode, newPath: string): Errno | undefined {
    const from = this.resolveParent(oldStart, oldPath);
    if (from instanceof Errno) return from;
    const to = this.resolveParent(newStart, newPath);
    if (to instanceof Errno) return to;
    if (from.name === '.' || from.name === '..' || to.name === '.' || to.name === '..') return EBUSY;
    const node = this.lookup(from.dir, from.name);
    if (node === undefined) return ENOENT;
    if ((from.trailingSlash || to.trailingSlash) && node.kind !== 'dir') return ENOTDIR;
    return this.renameAt(from.dir, from.name, to.dir, to.name);
  }

  // ---------------------------------------------------------------- upper tree

  /** The upper entries of `dir` (whiteouts as `null`), for diff.ts. */
  upperEntries(dir: DirNode): Iterable<[string, Node | null]> {
    const upper = dir.upper;
    if (upper === undefined) return [];
    return [...upper].map(([name, e]): [string, Node | null] => [name, e === WHITEOUT ? null : e]);
  }

  /** True when the directory has been copied up (it appears in the diff). */
  isCopiedUp(dir: DirNode): boolean {
    return dir.upper !== undefined;
  }

  /** Puts `node` under `name` in `dir`'s upper directory, copying `dir` up if needed. */
  private place(dir: DirNode, name: string, node: Node): void {
    this.copyUpDir(dir);
    (dir.upper as Map<string, UpperEntry>).set(name, node);
    this.changed(dir);
  }

  /** Removes `name` from `dir`: a whiteout if a lower layer has that name, else nothing. */
  private removeName(dir: DirNode, name: string): void {
    this.copyUpDir(dir);
    const upper = dir.upper as Map<string, UpperEntry>;
    if (dir.lowers.length > 0 && lookupChild(this.layers, dir.lowers, name).kind !== 'none') upper.set(name, WHITEOUT);
    else upper.delete(name);
    this.changed(dir);
  }

  private changed(dir: DirNode): void {
    dir.listing = undefined;
    dir.nlink = undefined;
    const now = this.clock();
    dir.meta.mtime = now;
    dir.meta.ctime = now;
  }

  /** Gives `dir` an upper directory and links it into its parent's, up to the root. */
  private copyUpDir(dir: DirNode): void {
    if (dir.upper !== undefined) return;
    dir.upper = new Map();
    const parent = dir.parent;
    if (parent !== undefined && !dir.removed) {
      this.copyUpDir(parent);
      const upper = parent.upper as Map<string, UpperEntry>;
      if (!upper.has(dir.name)) upper.set(dir.name, dir);
    }
  }

  private copyUpContent(node: FileNode): FileContent {
    if (node.content === undefined) {
      node.content = new FileContent(node.lowerBytes);
      node.lowerBytes = undefined;
      this.placeAllNames(node);
    }
    return node.content;
  }

  private copyUpMeta(node: Node): void {
    if (node instanceof DirNode) this.copyUpDir(node);
    else this.placeAllNames(node);
  }

  /**
   * Makes sure every name a lower-derived node still has in the merged view is in the
   * upper tree, so that the diff writes it (and keeps hard links one file). `skipDir`/
   * `skipName` is a name about to be removed.
   */
  private placeAllNames(node: Node, skipDir?: DirNode, skipName?: string): void {
    if (node instanceof DirNode) return;
    const candidates: [DirNode, string][] = [];
    if (node.parent !== undefined) candidates.push([node.parent, node.name]);
    const paths = node instanceof FileNode ? node.lower?.paths : undefined;
    if (paths !== undefined) {
      for (const p of paths) {
        const slash = p.lastIndexOf('/');
        const dir = slash < 0 ? this.root : this.resolve(this.root, p.slice(0, slash), true);
        if (dir instanceof DirNode) candidates.push([dir, p.slice(slash + 1)]);
      }
    }
    for (const [dir, name] of candidates) {
      if (dir === skipDir && name === skipName) continue;
      if (dir.removed) continue;
      if (dir.upper?.get(name) === node) continue;
      if (this.lookup(dir, name) !== node) continue;
      this.copyUpDir(dir);
      (dir.upper as Map<string, UpperEntry>).set(name, node);
      dir.listing = undefined;
      dir.nlink = undefined;
    }
  }

  private touch(node: FileNode): void {
    const now = this.clock();
    node.meta.mtime = now;
    node.meta.ctime = now;
  }

  private metaOf(m: { mode: number; uid: number; gid: number; mtime: bigint }): Meta {
    return { mode: m.mode, uid: m.uid, gid: m.gid, atime: m.mtime, mtime: m.mtime, ctime: m.mtime };
  }

  private newMeta(mode: number): Meta {
    const now = this.clock();
    return { mode: mode & 0o7777, uid: this.uid, gid: this.gid, atime: now, mtime: now, ctime: now };
  }
}

function byteLength(s: string): number {
  // ASCII fast path; encode only when needed.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}

/** Directory link count: 2 + subdirectories for an upper-only directory, 1 for a merged one (as overlayfs). */
function dirLinkCount(dir: DirNode): number {
  if (dir.lowers.length > 0) return 1;
  if (dir.nlink !== undefined) return dir.nlink;
  let n = 2;
  if (dir.upper !== undefined) for (const e of dir.upper.values()) if (e !== WHITEOUT && e.kind === 'dir') n++;
  dir.nlink = n;
  return n;
}
