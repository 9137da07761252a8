/**
 * The container's filesystem namespace: a root filesystem (the image's overlay) and
 * filesystems mounted on directories of it (volumes, tmpfs, host binds), seen as one tree.
 *
 * Words:
 * - A *mount* is a `MountFs` (overlay.ts adapter, a volume served over the sync channel, a
 *   host directory) attached at a *mount point*, a directory of its parent mount. The root
 *   mount has no parent.
 * - A `VNode` is a node of one mount: `{ mount, node }`. The VFS never looks inside
 *   `node`; only the owning `MountFs` does.
 *
 * Path resolution (`resolve`, `resolveParent`) is done here, once, for every filesystem:
 * component by component, crossing into a mount at its mount point, and out of it on
 * `..` at its root; following symlinks by reading them and resolving their target in
 * *this* namespace, so that a symlink inside a volume or a host bind mount can never
 * lead outside the container's tree. `..` at the namespace root stays there (chroot
 * semantics); a mount may instead refuse `..` at its root (`dotdot: 'deny'`, wasmtime's
 * rule for a preopened directory of a bare module).
 *
 * Contracts: every call is synchronous; outcomes are values (`Errno`), never exceptions.
 * A `MountFs` must not follow symlinks itself and must not interpret `/` or `..` in
 * names: it receives single components only.
 */
import { EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EPERM, EROFS, EXDEV, Errno } from '../layers/errno.js';
import type { Dirent, NodeKind, Stat } from '../layers/overlay.js';

export type { Dirent, NodeKind, Stat };

/** A filesystem that can be mounted. `N` is its node handle type, opaque to the VFS. */
export interface MountFs<N = unknown> {
  /** Writes return EROFS (the VFS checks this before calling any mutation). */
  readonly readonly: boolean;
  root(): N;
  /** The node named `name` in directory `dir`, without following a symlink. ENOENT if absent. */
  lookup(dir: N, name: string): N | Errno;
  /** The directory that holds `dir`, or undefined for this filesystem's root. */
  parent(dir: N): N | undefined;
  /** Identity of a node within this filesystem, stable while it exists (for mount points and hard links). */
  key(node: N): unknown;
  kind(node: N): NodeKind;
  stat(node: N): Stat | Errno;
  readlink(node: N): string | Errno;
  /** Entries without `.` and `..`, in a stable order (cookies index into it). */
  readdir(dir: N): readonly Dirent[] | Errno;
  read(file: N, pos: number, dst: Uint8Array): number | Errno;
  write(file: N, pos: number, src: Uint8Array): number | Errno;
  truncate(file: N, size: number): Errno | undefined;
  /** Times in ns; undefined leaves one unchanged. */
  setTimes(node: N, atime: bigint | undefined, mtime: bigint | undefined): Errno | undefined;
  createFile(dir: N, name: string, mode: number): N | Errno;
  mkdir(dir: N, name: string, mode: number): N | Errno;
  symlink(target: string, dir: N, name: string): N | Errno;
  link(node: N, dir: N, name: string): Errno | undefined;
  unlink(dir: N, name: string): Errno | undefined;
  rmdir(dir: N, name: string): Errno | undefined;
  rename(fromDir: N, fromName: string, toDir: N, toName: string): Errno | undefined;
  /** Makes written data durable (volumes on disk); a no-op in memory. */
  sync(file: N): Errno | undefined;
  /**
   * A descriptor now holds this file (path_open): acquire what reads and writes need, so
   * the file stays readable after an unlink and open-time errors surface at open. Optional.
   */
  open?(file: N): Errno | undefined;
  /** The node is no longer held by any descriptor (release host handles). Optional. */
  release?(node: N): void;
}

export interface Mount {
  readonly fs: MountFs;
  /** Absolute path in the namespace, for messages and `fd_prestat_dir_name`. */
  readonly path: string;
  /** The mount this one is attached to, and the directory it covers there. */
  readonly parent: Mount | undefined;
  readonly mountPoint: VNode | undefined;
  /** What `..` does at this mount's root when it has no parent: stay (chroot) or EPERM. */
  readonly dotdot: 'stay' | 'deny';
}

export interface VNode {
  readonly mount: Mount;
  readonly node: unknown;
}

export interface ParentRef {
  readonly dir: VNode;
  /** One component; may be `.` or `..` (the caller decides what that means). */
  readonly name: string;
  /** The path ended in `/`: the named node must be (or become) a directory. */
  readonly trailingSlash: boolean;
}

export interface MountSpec {
  /** Absolute path of the mount point, e.g. `/data`. */
  readonly path: string;
  readonly fs: MountFs;
}

const MAX_SYMLINKS = 40;
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const encoder = new TextEncoder();

export class Vfs {
  readonly root: VNode;
  /** Mounted filesystems by mount point: mount → (key of the covered dir → the mount on it). */
  private readonly covered = new Map<Mount, Map<unknown, Mount>>();
  private readonly mounts: Mount[] = [];

  /**
   * `root` is the namespace root; `mounts` are attached in order (a mount point may lie
   * inside an earlier mount). Mount point directories must exist (create them in the
   * root filesystem first, as Docker does). Throws if one does not: that is a bug of
   * the caller, not a guest outcome.
   */
  constructor(root: MountFs, mounts: readonly MountSpec[] = [], options: { dotdot?: 'stay' | 'deny' } = {}) {
    const rootMount: Mount = { fs: root, path: '/', parent: undefined, mountPoint: undefined, dotdot: options.dotdot ?? 'stay' };
    this.mounts.push(rootMount);
    this.root = { mount: rootMount, node: root.root() };
    for (const m of mounts) this.attach(m);
  }

  /** A namespace of separate top-level directories (wasmtime's `--dir`): each is its own root, `..` at it is EPERM. */
  static preopens(dirs: readonly MountSpec[]): VNode[] {
    return dirs.map((d) => {
      const mount: Mount = { fs: d.fs, path: d.path, parent: undefined, mountPoint: undefined, dotdot: 'deny' };
      return { mount, node: d.fs.root() };
    });
  }

  private attach(spec: MountSpec): void {
    const at = this.resolve(this.root, spec.path, true);
    if (at instanceof Errno) throw new Error(`mount point ${spec.path}: ${at.code}`);
    if (at.mount.fs.kind(at.node) !== 'dir') throw new Error(`mount point ${spec.path}: not a directory`);
    const mount: Mount = { fs: spec.fs, path: spec.path, parent: at.mount, mountPoint: at, dotdot: 'stay' };
    let table = this.covered.get(at.mount);
    if (table === undefined) this.covered.set(at.mount, (table = new Map()));
    table.set(at.mount.fs.key(at.node), mount);
    this.mounts.push(mount);
  }

  /** The mount covering `v`, or `v` itself: what a lookup that lands on `v` really reaches. */
  private enter(v: VNode): VNode {
    for (;;) {
      const table = this.covered.get(v.mount);
      const mount = table?.get(v.mount.fs.key(v.node));
      if (mount === undefined) return v;
      v = { mount, node: mount.fs.root() };
    }
  }

  kind(v: VNode): NodeKind {
    return v.mount.fs.kind(v.node);
  }

  /** `..` of a directory: its parent, crossing out of a mount at its root. */
  parentOf(v: VNode): VNode | Errno {
    for (;;) {
      const p = v.mount.fs.parent(v.node);
      if (p !== undefined) return { mount: v.mount, node: p };
      const { mountPoint, dotdot } = v.mount;
      if (mountPoint === undefined) return dotdot === 'deny' ? EPERM : v;
      v = mountPoint;
    }
  }

  /** The child `name` of directory `dir`, entering a mount on it. No symlink is followed. */
  lookup(dir: VNode, name: string): VNode | Errno {
    if (name === '.' ) return dir;
    if (name === '..') return this.parentOf(dir);
    const node = dir.mount.fs.lookup(dir.node, name);
    if (node instanceof Errno) return node;
    return this.enter({ mount: dir.mount, node });
  }

  /**
   * Resolves `path` from `start` (absolute paths from the namespace root). Symlinks in
   * the middle are always followed, the last one only with `follow` or a trailing `/`.
   */
  resolve(start: VNode, path: string, follow: boolean): VNode | Errno {
    return this.walk(start, path, follow, { count: 0 });
  }

  /**
   * Iterative resolution: a queue of components, and the stack of directories walked
   * from `start`. A symlink's target is spliced into the queue. In a namespace whose
   * root denies `..` (wasmtime-style preopens), every directory descriptor is its own
   * capability: `..` above `start` and absolute symlink targets are EPERM, as cap-std
   * does; otherwise `..` above `start` continues to its real parent.
   */
  private walk(start: VNode, path: string, follow: boolean, links: { count: number }): VNode | Errno {
    if (path === '') return ENOENT;
    if (byteLength(path) > MAX_PATH_BYTES) return ENAMETOOLONG;
    const confined = this.rootFor(start).mount.dotdot === 'deny';
    let mustBeDir = endsInDir(path);
    let stack: VNode[] = [path.charCodeAt(0) === SLASH ? this.rootFor(start) : start];
    let queue = components(path);
    let at = 0;
    while (at < queue.length) {
      const part = queue[at++] as string;
      const dir = stack[stack.length - 1] as VNode;
      if (this.kind(dir) !== 'dir') return ENOTDIR;
      if (part === '..') {
        if (stack.length > 1) stack.pop();
        else {
          if (confined) return EPERM;
          const up = this.parentOf(dir);
          if (up instanceof Errno) return up;
          stack[0] = up;
        }
        continue;
      }
      if (byteLength(part) > MAX_NAME_BYTES) return ENAMETOOLONG;
      const next = this.lookup(dir, part);
      if (next instanceof Errno) return next;
      const isLast = at === queue.length;
      if (this.kind(next) === 'symlink' && (!isLast || follow || mustBeDir)) {
        if (++links.count > MAX_SYMLINKS) return ELOOP;
        const target = next.mount.fs.readlink(next.node);
        if (target instanceof Errno) return target;
        if (target.startsWith('/')) {
          if (confined) return EPERM;
          stack = [this.rootFor(start)];
        }
        if (isLast && endsInDir(target)) mustBeDir = true;
        queue = [...components(target), ...queue.slice(at)];
        at = 0;
        continue;
      }
      stack.push(next);
    }
    const result = stack[stack.length - 1] as VNode;
    if (mustBeDir && this.kind(result) !== 'dir') return ENOTDIR;
    return result;
  }

  /** The root an absolute path starts from: the namespace root, or a preopen's own root. */
  private rootFor(start: VNode): VNode {
    let m = start.mount;
    while (m.parent !== undefined) m = m.parent;
    return m === this.root.mount ? this.root : { mount: m, node: m.fs.root() };
  }

  /** Resolves all but the last component of `path`; the last is returned by name. */
  resolveParent(start: VNode, path: string): ParentRef | Errno {
    if (path === '') return ENOENT;
    if (byteLength(path) > MAX_PATH_BYTES) return ENAMETOOLONG;
    let end = path.length;
    while (end > 0 && path.charCodeAt(end - 1) === SLASH) end--;
    const trailingSlash = end > 0 && end < path.length;
    const trimmed = end === path.length ? path : path.slice(0, end);
    if (trimmed === '') return { dir: this.rootFor(start), name: '.', trailingSlash: false };
    const slash = trimmed.lastIndexOf('/');
    const name = trimmed.slice(slash + 1);
    if (name !== '..' && byteLength(name) > MAX_NAME_BYTES) return ENAMETOOLONG;
    let dir: VNode | Errno = start;
    if (slash === 0) dir = this.rootFor(start);
    else if (slash > 0) dir = this.walk(start, `${trimmed.slice(0, slash)}/`, true, { count: 0 });
    if (dir instanceof Errno) return dir;
    if (this.kind(dir) !== 'dir') return ENOTDIR;
    return { dir, name, trailingSlash };
  }

  /** True when `v` lives in a wasmtime-style namespace (`dotdot: 'deny'`): each directory descriptor is a capability. */
  confined(v: VNode): boolean {
    return this.rootFor(v).mount.dotdot === 'deny';
  }

  /** True when `v` is the root of a mount other than the namespace root (it cannot be removed or renamed). */
  isMountRoot(v: VNode): boolean {
    return v.mount.mountPoint !== undefined && v.mount.fs.key(v.node) === v.mount.fs.key(v.mount.fs.root());
  }

  /** Checks a mutation of `dir`'s entries is allowed: EROFS on a read-only mount. */
  writable(dir: VNode): Errno | undefined {
    return dir.mount.fs.readonly ? EROFS : undefined;
  }

  /** Renames within one mount; EXDEV across mounts (as rename(2) across filesystems). */
  rename(from: ParentRef, to: ParentRef): Errno | undefined {
    if (from.dir.mount !== to.dir.mount) return EXDEV;
    const ro = this.writable(from.dir);
    if (ro !== undefined) return ro;
    const fs = from.dir.mount.fs;
    // A mount point cannot be renamed away, nor replaced.
    for (const ref of [from, to]) {
      const n = fs.lookup(ref.dir.node, ref.name);
      if (!(n instanceof Errno) && this.covered.get(ref.dir.mount)?.has(fs.key(n))) return ref === from ? EXDEV : EISDIR;
    }
    return fs.rename(from.dir.node, from.name, to.dir.node, to.name);
  }

  /** Whether `v` (in its mount) is covered by another mount: it is a mount point. */
  isMountPoint(dir: VNode, name: string): boolean {
    const n = dir.mount.fs.lookup(dir.node, name);
    return !(n instanceof Errno) && (this.covered.get(dir.mount)?.has(dir.mount.fs.key(n)) ?? false);
  }

  /** All mounts, root first. */
  allMounts(): readonly Mount[] {
    return this.mounts;
  }
}

function byteLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/** The components of a path, without empty ones and `.` (what `split('/').filter(...)` gave, without the two arrays). */
function components(path: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const slash = path.indexOf('/', from);
    const end = slash < 0 ? path.length : slash;
    if (end > from && !(end - from === 1 && path.charCodeAt(from) === DOT)) out.push(path.slice(from, end));
    if (slash < 0) return out;
    from = slash + 1;
  }
}

/** `x/`, `.`, `..`, `x/.`, `x/..`: the path must name a directory. */
function endsInDir(p: string): boolean {
  const n = p.length;
  const last = p.charCodeAt(n - 1);
  if (last === SLASH) return true;
  if (last !== DOT) return false;
  if (n === 1 || p.charCodeAt(n - 2) === SLASH) return true;
  return p.charCodeAt(n - 2) === DOT && (n === 2 || p.charCodeAt(n - 3) === SLASH);
}
