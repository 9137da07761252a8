/**
 * Volumes: filesystems a container mounts besides its image root, Docker's kinds.
 *
 * Words:
 * - A *named volume* has a name (given, or 64 random hex digits for an *anonymous* one)
 *   and outlives the containers that use it. It is a directory `<home>/volumes/<name>/_data`
 *   of a `SyncFs`: `node:fs` under `$SKIFF_HOME` for the CLI and the daemon, or a memfs
 *   volume for a library runtime in memory (the same layout, so one code path). Its
 *   metadata (creation time, labels, whether it was populated) is `<name>/volume.json`.
 *   The `SyncFs` is injected: this file imports neither `node:fs` nor memfs (memfs needs
 *   Node built-ins polyfilled in a browser bundle); platform/node/volumes.ts wires both.
 * - A *host bind mount* (`-v /abs/host:/path[:ro]`) is a host directory, reached through
 *   a `PathFs` that never follows a host symlink. Denied unless the manager was given a
 *   host filesystem (`hostFs`): Node only, opt-in.
 * - A *tmpfs* is an in-memory directory that dies with its container: an empty overlay
 *   (`createTmpfs`), made in the container's own thread, so its calls cost no round trip.
 * - A volume is *in use* while a container holds it (`mount` … `release`); an in-use
 *   volume cannot be removed. Every container of this process using a volume gets the
 *   same `PathFs`, so their writes are one file system's writes.
 *
 * Flow (the runtime): `manager.mount(parseVolumeSpec('data:/var/lib/app'), containerId)`
 * → `ResolvedMount`; if `populate`, `populateFromImage(imageRoot, '/var/lib/app', volume)`
 * (Docker's rule: an empty volume mounted over image content gets a copy of it, once);
 * serve `fs` to the container thread (remote-fs.ts `VolumeServer`); when the container is
 * removed, `manager.release(containerId)`. mounts.ts does exactly this for the runtime
 * (`resolveMounts` at create, populate and one server per run at start, `releaseMounts`
 * at remove).
 *
 * Outcomes users cause (a bad name, a volume in use) are `VolumeError` values with a
 * message that says what to do; filesystem failures are `Errno` values.
 */
import { EEXIST, ENOENT, ENOTDIR, Errno } from '../layers/errno.js';
import { Overlay } from '../layers/overlay.js';
import { OverlayFs } from './overlay-fs.js';
import { PathFs, hostErrno, type HostStats, type SyncFs } from './path-fs.js';
import { Vfs, type MountFs } from './vfs.js';

/** Why a volume request was refused. */
export class VolumeError {
  constructor(
    readonly code: 'not-found' | 'in-use' | 'invalid-name' | 'invalid-spec' | 'bind-denied' | 'bind-source' | 'io',
    readonly message: string,
  ) {}
  toString(): string {
    return this.message;
  }
}

/** `docker volume inspect`'s shape. */
export interface VolumeInfo {
  readonly Name: string;
  readonly Driver: 'local';
  readonly Mountpoint: string;
  readonly CreatedAt: string;
  readonly Labels: Readonly<Record<string, string>>;
  readonly Scope: 'local';
  readonly Options: Readonly<Record<string, string>>;
}

interface VolumeMeta {
  readonly createdAt: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly anonymous: boolean;
  populated: boolean;
}

export class Volume {
  /** @internal */
  constructor(
    readonly name: string,
    /** The volume's data directory as a filesystem. One object per volume per process. */
    readonly fs: PathFs,
    /** @internal */ readonly meta: VolumeMeta,
    /** @internal */ readonly save: () => void,
  ) {}
  get anonymous(): boolean {
    return this.meta.anonymous;
  }
  get createdAt(): string {
    return this.meta.createdAt;
  }
  get labels(): Readonly<Record<string, string>> {
    return this.meta.labels;
  }
  /** Docker's populate-once rule has been applied (or the volume already had content). */
  get populated(): boolean {
    return this.meta.populated;
  }
  /** @internal */
  markPopulated(): void {
    this.meta.populated = true;
    this.save();
  }
}

/** What a container asks to mount (a parsed `-v`/`--mount`/`--tmpfs`, or the library API). */
export type MountRequest =
  | { readonly type: 'volume'; readonly name?: string; readonly target: string; readonly readonly?: boolean; readonly nocopy?: boolean }
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readonly?: boolean }
  | { readonly type: 'tmpfs'; readonly target: string };

/** A mount ready to attach. */
export interface ResolvedMount {
  readonly type: MountRequest['type'];
  /** Mount point in the container. */
  readonly target: string;
  /**
   * Served from this thread (volumes and binds: give it to a `VolumeServer`). Undefined
   * for tmpfs: the container thread makes its own with `createTmpfs()`.
   */
  readonly fs: PathFs | undefined;
  readonly readonly: boolean;
  readonly volume?: Volume;
  /** Apply Docker's populate rule (`populateFromImage`) before the container starts. */
  readonly populate: boolean;
}

/** Host filesystem for bind mounts: a `SyncFs` that can also resolve a path. */
export type HostFs = SyncFs & { realpathSync(path: string): unknown };

export interface VolumeManagerOptions {
  /** Where named volumes live. */
  readonly fs: SyncFs;
  /** The directory holding `volumes/` (`$SKIFF_HOME`, or `/` in memory). */
  readonly home: string;
  /** Grants host bind mounts (Node only). Without it every bind is refused. */
  readonly hostFs?: HostFs;
  /** For `CreatedAt` (tests). */
  readonly now?: () => Date;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const META = 'volume.json';
const DATA = '_data';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class VolumeManager {
  private readonly fs: SyncFs;
  private readonly dir: string;
  private readonly hostFs: HostFs | undefined;
  private readonly now: () => Date;
  private readonly open = new Map<string, Volume>();
  /** volume name → users (container ids) */
  private readonly users = new Map<string, Set<string>>();
  /** user → bind-mount filesystems to dispose on release */
  private readonly binds = new Map<string, PathFs[]>();

  constructor(options: VolumeManagerOptions) {
    this.fs = options.fs;
    this.dir = joinPath(options.home, 'volumes');
    this.hostFs = options.hostFs;
    this.now = options.now ?? (() => new Date());
    const made = mkdirs(this.fs, this.dir);
    if (made instanceof Errno) throw new Error(`volumes directory ${this.dir}: ${made.code}`);
  }

  /**
   * Creates a volume (`docker volume create [NAME]`); without a name, an anonymous one.
   * Creating one that exists returns it unchanged, as Docker does.
   */
  create(name?: string, options: { labels?: Readonly<Record<string, string>> } = {}): Volume | VolumeError {
    const anonymous = name === undefined;
    const n = name ?? randomName();
    if (!NAME.test(n)) {
      return new VolumeError('invalid-name', `"${n}" is not a valid volume name: use at least two characters of [a-zA-Z0-9_.-], starting with a letter or digit`);
    }
    const existing = this.get(n);
    if (existing !== undefined) return existing;
    const root = joinPath(this.dir, n);
    const meta: VolumeMeta = { createdAt: rfc3339(this.now()), labels: { ...options.labels }, anonymous, populated: false };
    const made = mkdirs(this.fs, joinPath(root, DATA));
    if (made instanceof Errno) return new VolumeError('io', `create volume ${n}: ${made.code}`);
    const saved = writeJson(this.fs, joinPath(root, META), meta);
    if (saved instanceof Errno) return new VolumeError('io', `create volume ${n}: ${saved.code}`);
    return this.load(n) as Volume;
  }

  /** The volume, or undefined if there is none of that name. */
  get(name: string): Volume | undefined {
    if (!NAME.test(name)) return undefined;
    const open = this.open.get(name);
    if (open !== undefined && exists(this.fs, joinPath(this.dir, name, META))) return open;
    this.open.delete(name);
    return this.load(name);
  }

  /** All volumes, by name. */
  list(): Volume[] {
    let names: unknown[];
    try {
      names = this.fs.readdirSync(this.dir);
    } catch (e) {
      hostErrno(e);
      return [];
    }
    return names
      .map(String)
      .sort()
      .map((n) => this.get(n))
      .filter((v): v is Volume => v !== undefined);
  }

  inspect(name: string): VolumeInfo | VolumeError {
    const v = this.get(name);
    if (v === undefined) return notFound(name);
    return {
      Name: v.name,
      Driver: 'local',
      Mountpoint: joinPath(this.dir, v.name, DATA),
      CreatedAt: v.createdAt,
      Labels: v.labels,
      Scope: 'local',
      Options: {},
    };
  }

  /** Containers using the volume. */
  usersOf(name: string): string[] {
    return [...(this.users.get(name) ?? [])];
  }

  /** Removes a volume and its data (`docker volume rm`); refused while a container uses it. */
  remove(name: string): undefined | VolumeError {
    const v = this.get(name);
    if (v === undefined) return notFound(name);
    const users = this.usersOf(name);
    if (users.length > 0) {
      return new VolumeError('in-use', `remove ${name}: volume is in use - [${users.join(', ')}]: remove those containers first`);
    }
    v.fs.dispose();
    this.open.delete(name);
    const r = removeTree(this.fs, joinPath(this.dir, name));
    return r instanceof Errno ? new VolumeError('io', `remove ${name}: ${r.code}`) : undefined;
  }

  /** Removes every volume no container uses; anonymous ones only unless `all`. Returns the names removed. */
  prune(options: { all?: boolean } = {}): string[] {
    const removed: string[] = [];
    for (const v of this.list()) {
      if ((options.all || v.anonymous) && this.usersOf(v.name).length === 0 && this.remove(v.name) === undefined) removed.push(v.name);
    }
    return removed;
  }

  /**
   * Resolves one mount of container `user`: creates a named volume on first use (as
   * `docker run -v name:/path` does), marks it in use, opens a bind.
   */
  mount(request: MountRequest, user: string): ResolvedMount | VolumeError {
    if (!request.target.startsWith('/')) return new VolumeError('invalid-spec', `mount point "${request.target}" must be an absolute path`);
    switch (request.type) {
      case 'tmpfs':
        return { type: 'tmpfs', target: request.target, fs: undefined, readonly: false, populate: false };
      case 'volume': {
        const v = this.create(request.name);
        if (v instanceof VolumeError) return v;
        let set = this.users.get(v.name);
        if (set === undefined) this.users.set(v.name, (set = new Set()));
        set.add(user);
        const readonly = request.readonly === true;
        return { type: 'volume', target: request.target, fs: v.fs, readonly, volume: v, populate: request.nocopy !== true && !v.populated };
      }
      case 'bind': {
        const fs = this.bind(request.source, request.readonly === true);
        if (fs instanceof VolumeError) return fs;
        let list = this.binds.get(user);
        if (list === undefined) this.binds.set(user, (list = []));
        list.push(fs);
        return { type: 'bind', target: request.target, fs, readonly: request.readonly === true, populate: false };
      }
    }
  }

  /** Container `user` is gone: its volumes are no longer in use by it, its binds are closed. */
  release(user: string): void {
    for (const [name, set] of this.users) {
      set.delete(user);
      if (set.size === 0) this.users.delete(name);
    }
    for (const fs of this.binds.get(user) ?? []) fs.dispose();
    this.binds.delete(user);
  }

  /**
   * A host directory as a filesystem: absolute `source`, resolved once (host symlinks in
   * the path the user typed are the user's choice), then never followed again.
   */
  bind(source: string, readonly: boolean): PathFs | VolumeError {
    const host = this.hostFs;
    if (host === undefined) {
      return new VolumeError('bind-denied', `bind mount of ${source} refused: host bind mounts are not granted here (Node only, opt-in: give the runtime a host filesystem)`);
    }
    if (!source.startsWith('/')) return new VolumeError('invalid-spec', `bind source "${source}" must be an absolute host path`);
    let real: string;
    try {
      real = String(host.realpathSync(source));
    } catch (e) {
      return new VolumeError('bind-source', `bind source path ${source} does not exist (${hostErrno(e).code}): create it first`);
    }
    try {
      return new PathFs(host, real, { readonly, verify: 'always' });
    } catch {
      return new VolumeError('bind-source', `bind source path ${source} is not a directory: skiff binds directories only`);
    }
  }

  private load(name: string): Volume | undefined {
    const root = joinPath(this.dir, name);
    const meta = readJson(this.fs, joinPath(root, META)) as VolumeMeta | undefined;
    if (meta === undefined) return undefined;
    let fs: PathFs;
    try {
      fs = new PathFs(this.fs, joinPath(root, DATA), { verify: 'on-change' });
    } catch {
      return undefined;
    }
    const v = new Volume(name, fs, { ...meta }, () => writeJson(this.fs, joinPath(root, META), v.meta));
    this.open.set(name, v);
    return v;
  }
}

// ----------------------------------------------------------------------------- specs

/**
 * Parses Docker's `-v` syntax: `name:/path[:opts]` (named volume), `/host:/path[:opts]`
 * (bind), `/path` (anonymous volume). Options, comma-separated: `ro`, `rw`, `nocopy`
 * (no populate), and `z`/`Z` (SELinux labels: accepted, nothing to do).
 */
export function parseVolumeSpec(spec: string): MountRequest | VolumeError {
  const parts = spec.split(':');
  if (parts.length === 1) {
    const target = parts[0] as string;
    if (!target.startsWith('/')) return new VolumeError('invalid-spec', `invalid volume "${spec}": a single path must be an absolute mount point`);
    return { type: 'volume', target: cleanTarget(target) };
  }
  if (parts.length > 3) return new VolumeError('invalid-spec', `invalid volume "${spec}": expected SOURCE:TARGET[:OPTIONS]`);
  const [source, target, opts] = parts as [string, string, string | undefined];
  if (!target.startsWith('/')) return new VolumeError('invalid-spec', `invalid volume "${spec}": the mount point "${target}" must be absolute`);
  let readonly = false;
  let nocopy = false;
  for (const o of opts === undefined || opts === '' ? [] : opts.split(',')) {
    if (o === 'ro') readonly = true;
    else if (o === 'rw') readonly = false;
    else if (o === 'nocopy') nocopy = true;
    else if (o !== 'z' && o !== 'Z') return new VolumeError('invalid-spec', `invalid volume "${spec}": unknown option "${o}" (ro, rw, nocopy)`);
  }
  if (source.startsWith('/')) {
    if (nocopy) return new VolumeError('invalid-spec', `invalid volume "${spec}": nocopy applies to named volumes only`);
    return { type: 'bind', source, target: cleanTarget(target), readonly };
  }
  if (!NAME.test(source)) {
    return new VolumeError('invalid-spec', `invalid volume "${spec}": "${source}" is neither an absolute host path nor a valid volume name`);
  }
  return { type: 'volume', name: source, target: cleanTarget(target), readonly, nocopy };
}

function cleanTarget(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

// ----------------------------------------------------------------------------- tmpfs

/** An empty in-memory filesystem for a tmpfs mount: create it in the container's thread. */
export function createTmpfs(): MountFs {
  return new OverlayFs(new Overlay([]));
}

// ----------------------------------------------------------------------------- populate

/**
 * Docker's rule: a volume mounted at `path` over image content that is empty and was
 * never populated gets a copy of the image's directory at `path` (files with content,
 * directories, symlinks, hard links, modes, times). Applied at most once per volume: an
 * emptied volume stays empty. `image` is the container's root as a filesystem (an
 * `OverlayFs` over the image's layers); `path` is resolved inside it.
 *
 * Returns true if it copied, false if the rule did not apply (already populated, volume
 * not empty, or nothing at `path` in the image), or the errno of a failed copy.
 */
export function populateFromImage(image: MountFs, path: string, volume: Volume): boolean | Errno {
  if (volume.populated) return false;
  const dst = volume.fs;
  const listing = dst.readdir(dst.root());
  if (listing instanceof Errno) return listing;
  if (listing.length > 0) {
    volume.markPopulated();
    return false;
  }
  const vfs = new Vfs(image);
  const at = vfs.resolve(vfs.root, path, true);
  if (at instanceof Errno || vfs.kind(at) !== 'dir' || at.mount.fs !== image) return false;
  const r = copyTree(image, at.node, dst, dst.root(), new Map());
  if (r instanceof Errno) return r;
  volume.markPopulated();
  return true;
}

const COPY_CHUNK = 1024 * 1024;

/** Copies the entries of `from` (in `src`) into `to` (in `dst`). `links`: source key → copied file, for hard links. */
export function copyTree(src: MountFs, from: unknown, dst: MountFs, to: unknown, links: Map<unknown, unknown>): Errno | undefined {
  const entries = src.readdir(from);
  if (entries instanceof Errno) return entries;
  for (const { name } of entries) {
    const node = src.lookup(from, name);
    if (node instanceof Errno) return node;
    const st = src.stat(node);
    if (st instanceof Errno) return st;
    let made: unknown;
    switch (st.kind) {
      case 'dir': {
        const d = dst.mkdir(to, name, st.mode);
        if (d instanceof Errno) return d;
        const r = copyTree(src, node, dst, d, links);
        if (r !== undefined) return r;
        made = d;
        break;
      }
      case 'symlink': {
        const target = src.readlink(node);
        if (target instanceof Errno) return target;
        const s = dst.symlink(target, to, name);
        if (s instanceof Errno) return s;
        made = s;
        break;
      }
      case 'file': {
        const key = src.key(node);
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          const r = dst.link(first, to, name);
          if (r !== undefined) return r;
          continue;
        }
        const f = dst.createFile(to, name, st.mode);
        if (f instanceof Errno) return f;
        const buf = new Uint8Array(Math.min(COPY_CHUNK, st.size));
        for (let pos = 0; pos < st.size; ) {
          const n = src.read(node, pos, buf);
          if (n instanceof Errno) return n;
          if (n === 0) break;
          const w = dst.write(f, pos, buf.subarray(0, n));
          if (w instanceof Errno) return w;
          pos += n;
        }
        if (st.nlink > 1) links.set(key, f);
        made = f;
        break;
      }
    }
    const t = dst.setTimes(made, st.atime, st.mtime);
    dst.release?.(made);
    if (t !== undefined && st.kind !== 'symlink') return t;
  }
  return undefined;
}

// ----------------------------------------------------------------------------- helpers over SyncFs

function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/{2,}/g, '/');
}

function randomName(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function notFound(name: string): VolumeError {
  return new VolumeError('not-found', `no such volume: ${name}`);
}

function exists(fs: SyncFs, path: string): boolean {
  try {
    return fs.lstatSync(path, { bigint: true }) !== undefined;
  } catch (e) {
    hostErrno(e);
    return false;
  }
}

/** mkdir -p. A symlink on the way (in the configured home path) is trusted as the user's choice. */
function mkdirs(fs: SyncFs, path: string): Errno | undefined {
  let at = '';
  for (const part of path.split('/')) {
    if (part === '') continue;
    at += `/${part}`;
    let st: HostStats | undefined;
    try {
      st = fs.lstatSync(at, { bigint: true });
    } catch (e) {
      const r = hostErrno(e);
      if (r !== ENOENT) return r;
    }
    if (st !== undefined) {
      if (!st.isDirectory() && !st.isSymbolicLink()) return ENOTDIR;
      continue;
    }
    try {
      fs.mkdirSync(at, { mode: 0o755 });
    } catch (e) {
      const r = hostErrno(e);
      if (r !== EEXIST) return r;
    }
  }
  return undefined;
}

/** rm -r, never following a symlink. */
function removeTree(fs: SyncFs, path: string): Errno | undefined {
  try {
    const st = fs.lstatSync(path, { bigint: true });
    if (st === undefined) return ENOENT;
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(path)) {
        const r = removeTree(fs, `${path}/${String(name)}`);
        if (r !== undefined && r !== ENOENT) return r;
      }
      fs.rmdirSync(path);
    } else fs.unlinkSync(path);
    return undefined;
  } catch (e) {
    return hostErrno(e);
  }
}

let tempCounter = 0;

/** Writes JSON atomically (temp file, then rename). */
function writeJson(fs: SyncFs, path: string, value: unknown): Errno | undefined {
  const tmp = `${path}.tmp-${(tempCounter++).toString(36)}-${Math.random().toString(36).slice(2)}`;
  const bytes = encoder.encode(JSON.stringify(value, null, 2));
  try {
    const c = fs.constants;
    const fd = fs.openSync(tmp, c.O_RDWR | c.O_CREAT | c.O_EXCL, 0o644);
    try {
      for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
    return undefined;
  } catch (e) {
    const r = hostErrno(e);
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    return r;
  }
}

function readJson(fs: SyncFs, path: string): unknown {
  try {
    const fd = fs.openSync(path, fs.constants.O_RDONLY);
    try {
      const size = Number(fs.fstatSync(fd, { bigint: true }).size);
      const buf = new Uint8Array(size);
      for (let off = 0; off < size; ) {
        const n = fs.readSync(fd, buf, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
      return JSON.parse(decoder.decode(buf)) as unknown;
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    hostErrno(e);
    return undefined;
  }
}
