/**
 * `PathFs`: a `MountFs` over a directory of a Node-style synchronous filesystem API —
 * `node:fs` for volumes on disk and host bind mounts, a memfs volume in memory. The fs
 * module is injected (`SyncFs`, the subset of `node:fs` that memfs also implements);
 * this file never imports one (STYLE §7).
 *
 * Words:
 * - The *root* is a host directory; every node is a path below it, built one verified
 *   component at a time (`lookup`), never parsed from a string the guest wrote.
 * - A node is *checked* when every component of its path, from the root down, is found
 *   with `lstat` to be what it was when it was looked up (same kind, same inode). A node
 *   that fails its check is stale: its operations return ENOENT.
 * - A file node *holds* a host file descriptor from its first read or write (or from
 *   `open`, or from `createFile`) until `release`; reads and writes go to the
 *   descriptor, so they cost one host call each and keep working after the file is
 *   renamed or unlinked, as POSIX descriptors do.
 *
 * Never following a host symlink (the guest's symlinks are resolved by the VFS, inside
 * the container's namespace):
 * - lookups use `lstat`; names are single components (`/`, NUL, `.` and `..` are EINVAL);
 * - before any path is handed to the host, the node's path is checked (see above) in the
 *   same synchronous call, so a directory swapped for a symlink after it was looked up is
 *   refused rather than followed. Every guest's requests to a volume are served one at a
 *   time on one thread, so no guest can swap a component between the check and the use;
 *   a host process racing with skiff can (best effort: Node has no `openat`);
 * - files are opened with O_NOFOLLOW (a final symlink is ELOOP) and O_NONBLOCK, then
 *   `fstat`ed: the descriptor is used only if it is a regular file with the inode the
 *   lookup saw;
 * - a hard link is verified after it is made (`link(2)` follows a symlink on some
 *   systems); a link that does not name the expected inode is removed at once;
 * - special files (FIFOs, sockets, devices) are invisible: absent from `readdir`, ENOENT
 *   on lookup. Opening one could block the serving thread or reach a device.
 *
 * `readonly` is enforced here too (EROFS for every mutation, descriptors opened
 * read-only), not only by the VFS.
 *
 * `verify: 'on-change'` (volumes skiff owns) skips re-checking a node whose check has
 * not been invalidated since: any unlink, rmdir or rename through any PathFs over the
 * same `SyncFs` invalidates all checks. `verify: 'always'` (the default; host bind
 * mounts, which host processes also change) checks every time.
 *
 * Contracts: synchronous; outcomes are `Errno` values. A host error with a `code` is
 * translated by `hostErrno` (the one table); an exception without one is a bug and is
 * rethrown.
 */
import {
  EACCES,
  EAGAIN,
  EBADF,
  EBUSY,
  EEXIST,
  EFBIG,
  EINVAL,
  EIO,
  EISDIR,
  ELOOP,
  EMFILE,
  EMLINK,
  ENAMETOOLONG,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENOTEMPTY,
  ENOTSUP,
  EPERM,
  EROFS,
  EXDEV,
  Errno,
} from '../layers/errno.js';
import type { Dirent, MountFs, NodeKind, Stat } from './vfs.js';

/** File status as `node:fs` gives it with `{ bigint: true }`. */
export interface HostStats {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
  readonly nlink: bigint;
  readonly size: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** Times as `node:fs` takes them: seconds since the epoch (fractions allowed). */
type HostTime = number;

/**
 * The synchronous `node:fs` subset PathFs uses. `node:fs` itself and memfs's
 * `createFsFromVolume(vol)` both satisfy it. Every method throws an error with a `code`
 * (`'ENOENT'`…) on failure.
 */
export interface SyncFs {
  readonly constants: {
    readonly O_RDONLY: number;
    readonly O_RDWR: number;
    readonly O_CREAT: number;
    readonly O_EXCL: number;
    readonly O_NOFOLLOW?: number;
    readonly O_NONBLOCK?: number;
    readonly O_DIRECTORY?: number;
  };
  lstatSync(path: string, options: { bigint: true }): HostStats | undefined;
  fstatSync(fd: number, options: { bigint: true }): HostStats;
  readdirSync(path: string): unknown[];
  readlinkSync(path: string): unknown;
  openSync(path: string, flags: number, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  ftruncateSync(fd: number, len: number): void;
  fsyncSync(fd: number): void;
  futimesSync(fd: number, atime: HostTime, mtime: HostTime): void;
  lutimesSync(path: string, atime: HostTime, mtime: HostTime): void;
  mkdirSync(path: string, options: { mode: number }): unknown;
  symlinkSync(target: string, path: string): void;
  linkSync(existingPath: string, newPath: string): void;
  unlinkSync(path: string): void;
  rmdirSync(path: string): void;
  renameSync(oldPath: string, newPath: string): void;
}

/** The one table from host error codes to skiff's (STYLE §6). Anything else is EIO. */
const HOST_ERRNO: Readonly<Record<string, Errno>> = {
  EACCES,
  EAGAIN,
  EWOULDBLOCK: EAGAIN,
  EBADF,
  EBUSY,
  ETXTBSY: EBUSY,
  EEXIST,
  EFBIG,
  EINVAL,
  EIO,
  EISDIR,
  ELOOP,
  EMFILE,
  ENFILE: EMFILE,
  EMLINK,
  ENAMETOOLONG,
  ENOENT,
  ENOSPC,
  EDQUOT: ENOSPC,
  ENOTDIR,
  ENOTEMPTY,
  ENOTSUP,
  EOPNOTSUPP: ENOTSUP,
  EPERM,
  EROFS,
  EXDEV,
};

/** Translates a thrown host error; rethrows anything that is not one (a bug). */
export function hostErrno(e: unknown): Errno {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') throw e;
  return HOST_ERRNO[code] ?? EIO;
}

export interface PathFsOptions {
  /** Every mutation is EROFS; files are opened read-only. */
  readonly?: boolean;
  /** When node paths are re-checked (see the module comment). Default `always`. */
  verify?: 'always' | 'on-change';
}

/** A node of a PathFs. Opaque to everything but its PathFs. */
export class PathNode {
  /** @internal open host descriptor (files), see `PathFs.open`. */
  fd: number | undefined = undefined;
  /** @internal the descriptor was opened for writing. */
  fdWritable = false;
  /** @internal the check generation this node last passed. */
  checked = -1;
  constructor(
    /** @internal */ readonly owner: PathFs,
    /** @internal */ readonly parent: PathNode | undefined,
    /** @internal host path */ readonly path: string,
    readonly kind: NodeKind,
    /** @internal device and inode at lookup */ readonly dev: bigint,
    /** @internal */ readonly ino: bigint,
  ) {}
}

/** The host file `st` describes is the one `node` was looked up as. */
function same(st: HostStats, node: PathNode): boolean {
  return st.ino === node.ino && st.dev === node.dev;
}

/** Check generations, one counter per SyncFs: all PathFs over one host tree share it. */
const generations = new WeakMap<object, { n: number }>();

const MAX_NAME_BYTES = 255;
const encoder = new TextEncoder();

export class PathFs implements MountFs<PathNode> {
  readonly readonly: boolean;
  private readonly rootNode: PathNode;
  private readonly always: boolean;
  private readonly gen: { n: number };
  private readonly holding = new Set<PathNode>();
  private readonly openFlags: number;

  /**
   * `root` is an absolute path in `fs` naming a directory, already resolved (no symlink
   * in it is followed afterwards: it is checked like any node). Throws if it is not a
   * directory: the caller validates user input first (volumes.ts).
   */
  constructor(
    readonly fs: SyncFs,
    readonly rootPath: string,
    options: PathFsOptions = {},
  ) {
    this.readonly = options.readonly ?? false;
    this.always = (options.verify ?? 'always') === 'always';
    let gen = generations.get(fs);
    if (gen === undefined) generations.set(fs, (gen = { n: 0 }));
    this.gen = gen;
    const root = rootPath.length > 1 ? rootPath.replace(/\/+$/, '') : rootPath;
    const st = fs.lstatSync(root, { bigint: true });
    if (st === undefined || !st.isDirectory()) throw new Error(`PathFs root ${rootPath}: not a directory`);
    this.rootNode = new PathNode(this, undefined, root, 'dir', st.dev, st.ino);
    const c = fs.constants;
    this.openFlags = (c.O_NOFOLLOW ?? 0) | (c.O_NONBLOCK ?? 0);
  }

  root(): PathNode {
    return this.rootNode;
  }

  lookup(dir: PathNode, name: string): PathNode | Errno {
    const bad = this.checkDir(dir) ?? checkName(name);
    if (bad !== undefined) return bad;
    const path = join(dir.path, name);
    const st = this.lstat(path);
    if (st instanceof Errno) return st;
    const kind = kindOf(st);
    if (kind === undefined) return ENOENT;
    const node = new PathNode(this, dir, path, kind, st.dev, st.ino);
    node.checked = dir.checked;
    return node;
  }

  parent(dir: PathNode): PathNode | undefined {
    return dir.parent;
  }

  /** Device and inode in one bigint: hard links share it. */
  key(node: PathNode): unknown {
    return (node.dev << 64n) | node.ino;
  }

  kind(node: PathNode): NodeKind {
    return node.kind;
  }

  stat(node: PathNode): Stat | Errno {
    if (node.owner !== this) return EXDEV;
    if (node.fd !== undefined) {
      const st = this.host(() => this.fs.fstatSync(node.fd as number, { bigint: true }));
      return st instanceof Errno ? st : toStat(st, node.kind);
    }
    const bad = node.parent !== undefined ? this.check(node.parent) : undefined;
    if (bad !== undefined) return bad;
    const st = this.lstat(node.path);
    if (st instanceof Errno) return st === ENOTDIR ? ENOENT : st;
    if (!same(st, node) || kindOf(st) !== node.kind) return ENOENT;
    node.checked = this.gen.n;
    return toStat(st, node.kind);
  }

  readlink(node: PathNode): string | Errno {
    if (node.owner !== this) return EXDEV;
    if (node.kind !== 'symlink') return EINVAL;
    const bad = this.check(node);
    if (bad !== undefined) return bad;
    const target = this.host(() => this.fs.readlinkSync(node.path));
    return target instanceof Errno ? target : String(target);
  }

  readdir(dir: PathNode): readonly Dirent[] | Errno {
    const bad = this.checkDir(dir);
    if (bad !== undefined) return bad;
    const names = this.host(() => this.fs.readdirSync(dir.path));
    if (names instanceof Errno) return names;
    const out: Dirent[] = [];
    for (const raw of names) {
      const name = String(raw);
      const st = this.lstat(join(dir.path, name));
      if (st instanceof Errno) continue; // removed meanwhile
      const kind = kindOf(st);
      if (kind !== undefined) out.push({ name, kind, ino: Number(st.ino) });
    }
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  /**
   * Opens the host descriptor of a file node now (a descriptor that the guest opens
   * should hold the file from then on, even if it is unlinked before the first read).
   * Optional for callers: read and write open it on first use.
   */
  open(node: PathNode, write = false): Errno | undefined {
    const fd = this.descriptor(node, write);
    return fd instanceof Errno ? fd : undefined;
  }

  read(file: PathNode, pos: number, dst: Uint8Array): number | Errno {
    if (file.owner !== this) return EXDEV;
    if (file.kind !== 'file') return file.kind === 'dir' ? EISDIR : EINVAL;
    if (pos < 0 || !Number.isSafeInteger(pos)) return EINVAL;
    const fd = this.descriptor(file, false);
    if (fd instanceof Errno) return fd;
    let n = 0;
    while (n < dst.length) {
      const r = this.host(() => this.fs.readSync(fd, dst, n, dst.length - n, pos + n));
      if (r instanceof Errno) return n > 0 ? n : r;
      if (r === 0) break;
      n += r;
    }
    return n;
  }

  write(file: PathNode, pos: number, src: Uint8Array): number | Errno {
    if (file.owner !== this) return EXDEV;
    if (file.kind !== 'file') return file.kind === 'dir' ? EISDIR : EINVAL;
    if (this.readonly) return EROFS;
    if (pos < 0 || !Number.isSafeInteger(pos)) return EINVAL;
    const fd = this.descriptor(file, true);
    if (fd instanceof Errno) return fd;
    let n = 0;
    while (n < src.length) {
      const r = this.host(() => this.fs.writeSync(fd, src, n, src.length - n, pos + n));
      if (r instanceof Errno) return n > 0 ? n : r;
      n += r;
    }
    return n;
  }

  truncate(file: PathNode, size: number): Errno | undefined {
    if (file.owner !== this) return EXDEV;
    if (file.kind !== 'file') return file.kind === 'dir' ? EISDIR : EINVAL;
    if (this.readonly) return EROFS;
    if (size < 0 || !Number.isSafeInteger(size)) return EINVAL;
    const fd = this.descriptor(file, true);
    if (fd instanceof Errno) return fd;
    return this.hostDone(() => this.fs.ftruncateSync(fd, size));
  }

  setTimes(node: PathNode, atime: bigint | undefined, mtime: bigint | undefined): Errno | undefined {
    if (node.owner !== this) return EXDEV;
    if (this.readonly) return EROFS;
    if (atime === undefined || mtime === undefined) {
      const st = this.stat(node);
      if (st instanceof Errno) return st;
      atime ??= st.atime;
      mtime ??= st.mtime;
    }
    const a = seconds(atime);
    const m = seconds(mtime);
    if (node.fd !== undefined) return this.hostDone(() => this.fs.futimesSync(node.fd as number, a, m));
    const bad = this.check(node);
    if (bad !== undefined) return bad;
    return this.hostDone(() => this.fs.lutimesSync(node.path, a, m));
  }

  createFile(dir: PathNode, name: string, mode: number): PathNode | Errno {
    const bad = this.mutable(dir, name);
    if (bad !== undefined) return bad;
    const path = join(dir.path, name);
    const c = this.fs.constants;
    const fd = this.host(() => this.fs.openSync(path, c.O_RDWR | c.O_CREAT | c.O_EXCL | this.openFlags, mode & 0o7777));
    if (fd instanceof Errno) return fd;
    const st = this.host(() => this.fs.fstatSync(fd, { bigint: true }));
    if (st instanceof Errno) {
      this.close(fd);
      return st;
    }
    const node = new PathNode(this, dir, path, 'file', st.dev, st.ino);
    node.checked = dir.checked;
    node.fd = fd;
    node.fdWritable = true;
    this.holding.add(node);
    return node;
  }

  mkdir(dir: PathNode, name: string, mode: number): PathNode | Errno {
    const bad = this.mutable(dir, name);
    if (bad !== undefined) return bad;
    const path = join(dir.path, name);
    const r = this.hostDone(() => this.fs.mkdirSync(path, { mode: mode & 0o7777 }));
    if (r !== undefined) return r;
    return this.made(dir, path, 'dir');
  }

  symlink(target: string, dir: PathNode, name: string): PathNode | Errno {
    if (target === '') return ENOENT;
    if (target.includes('\0')) return EINVAL;
    const bad = this.mutable(dir, name);
    if (bad !== undefined) return bad;
    const path = join(dir.path, name);
    const r = this.hostDone(() => this.fs.symlinkSync(target, path));
    if (r !== undefined) return r;
    return this.made(dir, path, 'symlink');
  }

  link(node: PathNode, dir: PathNode, name: string): Errno | undefined {
    if (node.owner !== this) return EXDEV;
    const bad = this.mutable(dir, name);
    if (bad !== undefined) return bad;
    if (node.kind === 'dir') return EPERM;
    const stale = this.check(node);
    if (stale !== undefined) return stale;
    const path = join(dir.path, name);
    const r = this.hostDone(() => this.fs.linkSync(node.path, path));
    if (r !== undefined) return r;
    // link(2) follows a final symlink on some systems: keep the link only if it names our node.
    const st = this.lstat(path);
    if (!(st instanceof Errno) && same(st, node)) return undefined;
    this.hostDone(() => this.fs.unlinkSync(path));
    this.invalidate();
    return EPERM;
  }

  unlink(dir: PathNode, name: string): Errno | undefined {
    const bad = this.mutable(dir, name);
    if (bad !== undefined) return bad;
    const path = join(dir.path, name);
    const st = this.lstat(path);
    if (st instanceof Errno) return st;
    if (st.isDirectory()) return EISDIR;
    this.invalidate();
    return this.hostDone(() => this.fs.unlinkSync(path));
  }

  rmdir(dir: PathNode, name: string): Errno | undefined {
    const bad = this.mutable(dir, name);
    if (bad !== undefined) return bad;
    const path = join(dir.path, name);
    const st = this.lstat(path);
    if (st instanceof Errno) return st;
    if (!st.isDirectory()) return ENOTDIR;
    this.invalidate();
    return this.hostDone(() => this.fs.rmdirSync(path));
  }

  rename(fromDir: PathNode, fromName: string, toDir: PathNode, toName: string): Errno | undefined {
    const bad = this.mutable(fromDir, fromName) ?? this.mutable(toDir, toName);
    if (bad !== undefined) return bad;
    const from = join(fromDir.path, fromName);
    const to = join(toDir.path, toName);
    const st = this.lstat(from);
    if (st instanceof Errno) return st;
    // rename(2)'s rules, checked here and not left to the host (memfs gets them wrong).
    if (st.isDirectory()) {
      // A directory may not move under itself.
      for (let d: PathNode | undefined = toDir; d !== undefined; d = d.parent) if (same(st, d)) return EINVAL;
    }
    const existing = this.lstat(to);
    if (!(existing instanceof Errno)) {
      if (existing.ino === st.ino && existing.dev === st.dev) return undefined; // two names of one file
      if (existing.isDirectory() !== st.isDirectory()) return st.isDirectory() ? ENOTDIR : EISDIR;
      if (existing.isDirectory()) {
        const entries = this.host(() => this.fs.readdirSync(to));
        if (entries instanceof Errno) return entries;
        if (entries.length > 0) return ENOTEMPTY;
      }
    }
    this.invalidate();
    const r = this.hostDone(() => this.fs.renameSync(from, to));
    // POSIX allows EEXIST for a non-empty target directory; report it as Linux does.
    return r === EEXIST ? ENOTEMPTY : r;
  }

  sync(node: PathNode): Errno | undefined {
    if (node.owner !== this) return EXDEV;
    if (node.kind === 'symlink') return EINVAL;
    if (node.kind === 'file') {
      const fd = this.descriptor(node, false);
      if (fd instanceof Errno) return fd;
      return this.hostDone(() => this.fs.fsyncSync(fd));
    }
    const bad = this.check(node);
    if (bad !== undefined) return bad;
    const c = this.fs.constants;
    const fd = this.host(() => this.fs.openSync(node.path, c.O_RDONLY | (c.O_DIRECTORY ?? 0) | this.openFlags));
    if (fd instanceof Errno) return fd;
    const r = this.hostDone(() => this.fs.fsyncSync(fd));
    this.close(fd);
    return r;
  }

  /** Closes the node's host descriptor, if any. The node stays usable (it reopens on demand). */
  release(node: PathNode): void {
    if (node.fd === undefined) return;
    this.close(node.fd);
    node.fd = undefined;
    node.fdWritable = false;
    this.holding.delete(node);
  }

  /** Closes every host descriptor this PathFs holds (its container went away). Idempotent. */
  dispose(): void {
    for (const node of [...this.holding]) this.release(node);
  }

  /** How many host descriptors are open (for tests and `inspect`). */
  get openDescriptors(): number {
    return this.holding.size;
  }

  // ---------------------------------------------------------------- checks

  private checkDir(dir: PathNode): Errno | undefined {
    if (dir.owner !== this) return EXDEV;
    if (dir.kind !== 'dir') return ENOTDIR;
    return this.check(dir);
  }

  /** `name` may be created or removed in `dir`. */
  private mutable(dir: PathNode, name: string): Errno | undefined {
    if (dir.owner !== this) return EXDEV;
    if (this.readonly) return EROFS;
    return this.checkDir(dir) ?? checkName(name);
  }

  /** Checks `node`'s path from the root down (see the module comment). */
  private check(node: PathNode): Errno | undefined {
    const gen = this.gen.n;
    if (!this.always && node.checked === gen) return undefined;
    if (node.parent !== undefined) {
      const bad = this.check(node.parent);
      if (bad !== undefined) return bad;
    }
    const st = this.lstat(node.path);
    if (st instanceof Errno) return st === ENOTDIR ? ENOENT : st;
    if (!same(st, node) || kindOf(st) !== node.kind) return ENOENT;
    node.checked = gen;
    return undefined;
  }

  private invalidate(): void {
    this.gen.n++;
  }

  /** The file's descriptor, opened (or reopened for writing) if needed. */
  private descriptor(node: PathNode, write: boolean): number | Errno {
    if (node.owner !== this) return EXDEV;
    if (node.fd !== undefined && (node.fdWritable || !write)) return node.fd;
    if (node.kind !== 'file') return node.kind === 'dir' ? EISDIR : EINVAL;
    if (write && this.readonly) return EROFS;
    const bad = this.check(node);
    if (bad !== undefined) return bad;
    const c = this.fs.constants;
    let writable = !this.readonly;
    let fd = this.host(() => this.fs.openSync(node.path, (writable ? c.O_RDWR : c.O_RDONLY) | this.openFlags));
    if (fd instanceof Errno && writable && !write && (fd === EACCES || fd === EPERM || fd === EROFS)) {
      // A file we may read but not write (mode 0444 on the host): read-only until a write asks for more.
      writable = false;
      fd = this.host(() => this.fs.openSync(node.path, c.O_RDONLY | this.openFlags));
    }
    if (fd instanceof Errno) return fd;
    const opened = fd;
    const st = this.host(() => this.fs.fstatSync(opened, { bigint: true }));
    if (st instanceof Errno || !st.isFile() || !same(st, node)) {
      this.close(opened);
      return st instanceof Errno ? st : ENOENT;
    }
    if (node.fd !== undefined) this.close(node.fd);
    node.fd = opened;
    node.fdWritable = writable;
    this.holding.add(node);
    return opened;
  }

  /** The node just made at `path` in `dir`. */
  private made(dir: PathNode, path: string, kind: NodeKind): PathNode | Errno {
    const st = this.lstat(path);
    if (st instanceof Errno) return st;
    if (kindOf(st) !== kind) return EIO;
    const node = new PathNode(this, dir, path, kind, st.dev, st.ino);
    node.checked = dir.checked;
    return node;
  }

  // ---------------------------------------------------------------- host calls

  private lstat(path: string): HostStats | Errno {
    const st = this.host(() => this.fs.lstatSync(path, { bigint: true }));
    return st === undefined ? ENOENT : st;
  }

  private host<T>(f: () => T): T | Errno {
    try {
      return f();
    } catch (e) {
      return hostErrno(e);
    }
  }

  private hostDone(f: () => unknown): Errno | undefined {
    try {
      f();
      return undefined;
    } catch (e) {
      return hostErrno(e);
    }
  }

  private close(fd: number): void {
    try {
      this.fs.closeSync(fd);
    } catch (e) {
      hostErrno(e); // a bug rethrows; a host error on close loses nothing we acknowledged
    }
  }
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** A single path component the host will not interpret. */
function checkName(name: string): Errno | undefined {
  if (name === '') return ENOENT;
  if (name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return EINVAL;
  if (name.length > MAX_NAME_BYTES / 3 && encoder.encode(name).length > MAX_NAME_BYTES) return ENAMETOOLONG;
  return undefined;
}

function kindOf(st: HostStats): NodeKind | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return undefined;
}

function toStat(st: HostStats, kind: NodeKind): Stat {
  return {
    kind,
    ino: Number(st.ino),
    nlink: Number(st.nlink),
    size: Number(st.size),
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    atime: st.atimeNs,
    mtime: st.mtimeNs,
    ctime: st.ctimeNs,
  };
}

/** ns → the seconds the host APIs take, to the microsecond. */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}
