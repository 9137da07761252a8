/**
 * A container's mounts: what the runtime attaches to each run, and how the container
 * thread builds its namespace (vfs.ts) from them.
 *
 * Words:
 * - A `ContainerMount` is one mount of a container, for its whole life: a mount point,
 *   read-only or not, and where the files live (`fs`): a filesystem in the runtime's
 *   thread (a named volume, a host bind, any `MountFs`), *served* to each run; or
 *   `'tmpfs'`, an empty in-memory filesystem the container's thread makes for each run
 *   (so its calls cost no round trip) and drops when the run ends, as Docker's tmpfs.
 * - A `MountEntry` is what a spec may list: a `ContainerMount`, a `MountRequest`
 *   (volumes.ts, `--mount`'s shape) or a string in `docker run -v` syntax. Requests and
 *   strings are resolved by the runtime's `VolumeManager` at create (`resolveMounts`),
 *   which creates a named volume on first use and marks it in use by the container
 *   until the container is removed (`releaseMounts`): a volume in use cannot be removed.
 * - A *run's mounts* (`RunMounts`, runtime side): for one run, Docker's populate rule is
 *   applied (`prepare`), and ONE `VolumeServer` (remote-fs.ts) serves every served mount
 *   of the run over one synchronous channel. It is closed when the run ends, however it
 *   ends (exit, trap, kill, thread terminated): the server then releases every host
 *   descriptor the run held. A write the guest saw acknowledged was applied in this
 *   thread before the reply, so it survives the container's thread being terminated.
 *
 * One run:
 *   runtime  `RunMounts.open(mounts, layers)`   populate; start the VolumeServer
 *            `runMounts.wires(handles)`          → `StartMessage.mounts` (MountWire[])
 *   thread   `mountNamespace(root, wires, handles)`  mount points made (`mkdir -p`, in
 *                                                 order of depth), RemoteFs / tmpfs built,
 *                                                 → the `Vfs`
 *            …guest runs…  `namespace.close()`    the RemoteFs channel is closed
 *   runtime  `runMounts.close()`                  server closed, host descriptors released
 *
 * Wire (`MountWire`, protocol.ts): `{ path, readonly, kind: 'tmpfs' }`, or
 * `{ path, readonly, kind: 'served', connection, index }` where `connection` is the
 * handle of the run's `VolumeConnection` (the same for every served mount) and `index`
 * the mount's place in it.
 *
 * Preopens (wasmtime's `--dir HOST::GUEST`, for bare modules): instead of a root with
 * mounts in it, the guest gets each filesystem as its own preopened directory under a
 * name (`resolvePreopens`, then `preopenNamespace` in the thread), built with
 * `Vfs.preopens`: each is a capability (`..` above it and absolute symlinks are EPERM)
 * and there is no `/`. The same wires and the same volume server carry them.
 *
 * Mount points: made with `mkdir -p` in the namespace built so far (a mount inside
 * another mount gets its mount point in that mount, as Docker does), following symlinks
 * inside the container's namespace only. Those made in the root land in the container's
 * upper layer, so `diff` lists them (`A /data`) and `commit` keeps the empty directories,
 * as `docker diff` and `docker commit` do for mount points Docker created. What the
 * guest writes in a mount is never in the upper.
 */
import { Errno } from '../layers/errno.js';
import { SkiffError } from '../layers/errors.js';
import type { LayerIndex } from '../layers/layer-index.js';
import { Overlay } from '../layers/overlay.js';
import { OverlayFs } from './overlay-fs.js';
import { handle, type Handle, type Handles, type MountWire } from './protocol.js';
import { closeChannel } from './channel.js';
import { RemoteFs, VolumeServer, type ServedMount, type VolumeConnection } from './remote-fs.js';
import { Vfs, type MountFs, type MountSpec, type VNode } from './vfs.js';
import type { Preopen } from './wasi/options.js';
import { VolumeError, createTmpfs, parseVolumeSpec, populateFromImage, type MountRequest, type VolumeManager } from './volumes.js';

// ============================================================================ runtime side

/** One mount of a container (see the module comment). */
export interface ContainerMount {
  /** Absolute mount point in the container. */
  readonly path: string;
  readonly readonly: boolean;
  /** Served from the runtime's thread to each run, or made empty in the container's thread for each run. */
  readonly fs: MountFs | 'tmpfs';
  /** For `inspect` (Docker's `-v` form: `data:/data:ro`, `/host:/mnt`, `tmpfs:/tmp`). */
  readonly source?: string;
  /**
   * Before each run, in the runtime's thread. `image` gives the container's image root
   * (its layers, without the container's own changes). An error message refuses the run
   * (exit 126). Named volumes apply Docker's populate rule here.
   */
  prepare?(image: () => MountFs): string | undefined;
}

/** What a spec's `mounts` may list: a mount, a request, or a `docker run -v` string. */
export type MountEntry = ContainerMount | MountRequest | string;

/** A tmpfs at `path`: empty at each start, in the container's thread, gone when the run ends. */
export function tmpfsMount(path: string): ContainerMount {
  return { path: checkTarget(path), readonly: false, fs: 'tmpfs', source: `tmpfs:${path}` };
}

/**
 * Any filesystem of this thread, served to the container at `path` (an `OverlayFs` over
 * an `Overlay` the host keeps, a `PathFs`…). It is shared: every container it is given
 * to sees the others' writes at once. `readonly` makes it read-only for this container.
 */
export function fsMount(path: string, fs: MountFs, options: { readonly?: boolean } = {}): ContainerMount {
  return { path: checkTarget(path), readonly: options.readonly === true || fs.readonly, fs, source: `fs:${path}` };
}

/**
 * Resolves a spec's mount entries for container `user`: strings and requests through
 * `manager` (a named volume is created on first use and marked in use by `user`; a bind
 * is refused unless the manager grants binds). Throws `SkiffError` (CONFLICT) on a bad
 * entry or a duplicate mount point, having released what it took.
 */
export function resolveMounts(manager: VolumeManager | undefined, entries: readonly MountEntry[], user: string): ContainerMount[] {
  const out: ContainerMount[] = [];
  try {
    for (const entry of entries) {
      const m = resolveOne(manager, entry, user);
      if (out.some((o) => o.path === m.path)) throw new SkiffError('CONFLICT', `duplicate mount point ${m.path}: mount one filesystem per path`);
      out.push(m);
    }
  } catch (e) {
    manager?.release(user);
    throw e;
  }
  return out;
}

/**
 * Container `user` is removed: its volumes are no longer in use by it and its binds are
 * closed. With `anonymous`, its anonymous volumes are removed too (`docker rm -v`,
 * `docker run --rm`) unless another container still uses them.
 */
export function releaseMounts(manager: VolumeManager | undefined, user: string, mounts: readonly ContainerMount[], options: { anonymous?: boolean } = {}): void {
  if (manager === undefined) return;
  manager.release(user);
  if (!options.anonymous) return;
  for (const m of mounts) {
    const name = anonymousNames.get(m);
    if (name !== undefined && manager.usersOf(name).length === 0) manager.remove(name);
  }
}

const anonymousNames = new WeakMap<ContainerMount, string>();

/** A directory granted to a bare module under a name (wasmtime's `--dir HOST::GUEST`). */
export interface PreopenEntry {
  /** What the guest sees (`fd_prestat_dir_name`): `/sandbox`, `.`, `data`… */
  readonly name: string;
  /** What it is: a `ContainerMount`, a request or a `-v` string; its mount point (target) is not used. */
  readonly mount: MountEntry;
}

/**
 * Resolves preopens for container `user` as mounts whose `path` is the preopen's name
 * (see the module comment). Throws `SkiffError` (CONFLICT) on a bad entry or a name given
 * twice, having released what it took.
 */
export function resolvePreopens(manager: VolumeManager | undefined, entries: readonly PreopenEntry[], user: string): ContainerMount[] {
  const out: ContainerMount[] = [];
  try {
    for (const { name, mount } of entries) {
      if (name === '' || name.includes('\0')) throw new SkiffError('CONFLICT', `preopen name ${JSON.stringify(name)}: give the name the guest sees, e.g. /sandbox or .`);
      if (out.some((o) => o.path === name)) throw new SkiffError('CONFLICT', `preopen ${name} is given twice`);
      let m: ContainerMount;
      if (typeof mount === 'object' && 'fs' in mount) m = mount;
      else {
        const request = typeof mount === 'string' ? parseVolumeSpec(mount) : mount;
        if (request instanceof VolumeError) throw new SkiffError('CONFLICT', request.message);
        m = request.type === 'tmpfs' ? { path: name, readonly: false, fs: 'tmpfs' } : resolveOne(manager, { ...request, target: '/' }, user, false);
      }
      const source = m.fs === 'tmpfs' ? 'tmpfs' : (m.source?.split(':')[0] ?? 'fs');
      const preopen: ContainerMount = { path: name, readonly: m.readonly, fs: m.fs, source: `${source}::${name}` };
      const anonymous = anonymousNames.get(m);
      if (anonymous !== undefined) anonymousNames.set(preopen, anonymous);
      out.push(preopen);
    }
  } catch (e) {
    manager?.release(user);
    throw e;
  }
  return out;
}

function resolveOne(manager: VolumeManager | undefined, entry: MountEntry, user: string, mountPoint = true): ContainerMount {
  if (typeof entry === 'object' && 'fs' in entry) {
    checkTarget(entry.path);
    return entry;
  }
  const request = typeof entry === 'string' ? parseVolumeSpec(entry) : entry;
  if (request instanceof VolumeError) throw new SkiffError('CONFLICT', request.message);
  const target = mountPoint ? checkTarget(request.target) : request.target;
  if (request.type === 'tmpfs') return tmpfsMount(target);
  if (manager === undefined) {
    const what = request.type === 'bind' ? `bind mount of ${request.source}` : `volume ${request.name ?? '(anonymous)'}`;
    throw new SkiffError('CONFLICT', `${what} at ${target}: this runtime has no volumes; create it with one (\`new Runtime({ volumes: memoryVolumes() })\`, or \`diskVolumes(dir)\`)`);
  }
  const r = manager.mount({ ...request, target }, user);
  if (r instanceof VolumeError) throw new SkiffError('CONFLICT', r.message);
  const fs = r.fs;
  if (fs === undefined) return tmpfsMount(target);
  const ro = r.readonly ? ':ro' : '';
  if (request.type === 'bind') return { path: target, readonly: r.readonly, fs, source: `${request.source}:${target}${ro}` };
  const volume = r.volume;
  if (volume === undefined) throw new Error(`volume mount at ${target} without its volume`);
  const populate = r.populate;
  const mount: ContainerMount = {
    path: target,
    readonly: r.readonly,
    fs,
    source: `${volume.name}:${target}${ro}`,
    // Docker's rule: an empty volume mounted over image content is first filled with it, once.
    prepare: (image) => {
      if (!populate || volume.populated) return undefined;
      const done = populateFromImage(image(), target, volume);
      return done instanceof Errno ? `populating volume ${volume.name} from the image's ${target}: ${done.code}` : undefined;
    },
  };
  if (volume.anonymous) anonymousNames.set(mount, volume.name);
  return mount;
}

function checkTarget(path: string): string {
  if (!path.startsWith('/')) throw new SkiffError('CONFLICT', `mount point ${JSON.stringify(path)} must be an absolute path in the container`);
  const clean = `/${path.split('/').filter((p) => p !== '' && p !== '.').join('/')}`;
  if (clean === '/') throw new SkiffError('CONFLICT', 'a mount point cannot be / (the container root is its image)');
  if (clean.split('/').includes('..')) throw new SkiffError('CONFLICT', `mount point ${path} must not contain ".."`);
  return clean;
}

/** The mounts of one run, in the runtime's thread (see the module comment). */
export class RunMounts {
  private closed = false;

  private constructor(
    private readonly mounts: readonly ContainerMount[],
    private readonly server: VolumeServer | undefined,
  ) {}

  /**
   * Prepares `mounts` for a run of a container over `layers` (Docker's populate rule) and
   * starts serving those that are served. An error message when a mount refuses the run.
   */
  static open(mounts: readonly ContainerMount[], layers: readonly LayerIndex[]): RunMounts | string {
    let image: MountFs | undefined;
    const imageRoot = (): MountFs => (image ??= new OverlayFs(new Overlay(layers), { readonly: true }));
    for (const m of mounts) {
      const refused = m.prepare?.(imageRoot);
      if (refused !== undefined) return refused;
    }
    const served: ServedMount[] = [];
    for (const m of mounts) if (m.fs !== 'tmpfs') served.push({ path: m.path, fs: m.fs, readonly: m.readonly });
    return new RunMounts(mounts, served.length > 0 ? new VolumeServer(served) : undefined);
  }

  /** Host handles the run's server holds (for tests and `inspect`). */
  get serverHandles(): number {
    return this.server?.handleCount ?? 0;
  }

  /** The wire forms, for `StartMessage.mounts` (the connection is added to `handles`, once). */
  wires(handles: Handles): MountWire[] {
    let connection: Handle | undefined;
    let index = 0;
    return this.mounts.map((m): MountWire => {
      if (m.fs === 'tmpfs') return { path: m.path, readonly: m.readonly, kind: 'tmpfs' };
      const server = this.server as VolumeServer;
      if (connection === undefined) {
        connection = handles.add(server.connection);
        for (const t of server.transfer) handles.transfer.push(t);
      }
      return { path: m.path, readonly: m.readonly, kind: 'served', connection, index: index++ };
    });
  }

  /** The run ended (however it ended): stop serving; every host descriptor of the run is released. Idempotent. */
  close(): Promise<void> {
    if (this.closed || this.server === undefined) return Promise.resolve();
    this.closed = true;
    // The server's end is closed too, so a client still waiting (its thread terminated mid-call) is released.
    closeChannel(this.server.connection.channel);
    return this.server.close();
  }
}

// ============================================================================ container thread side

/** The namespace of one run, in the container's thread. */
export interface Namespace {
  readonly vfs: Vfs;
  /** Closes the volume connection (the run is over). Idempotent. */
  close(): void;
}

/**
 * Builds the run's namespace: `root` with the mounts of `wires` attached, parents before
 * children, each mount point made (`mkdir -p`) in the namespace built so far. Returns an
 * error message (the run ends with 126) when a mount point cannot be made (a file is in
 * the way, a read-only parent) or a connection is refused.
 */
export function mountNamespace(root: MountFs, wires: readonly MountWire[], handles: readonly unknown[]): Namespace | string {
  const connections = new Map<Handle, RemoteFs[]>();
  const close = (): void => {
    for (const fss of connections.values()) fss[0]?.disconnect();
    connections.clear();
  };
  const specs: MountSpec[] = [];
  const ordered = mountOrder(wires);
  try {
    for (const wire of ordered) {
      const fs = mountFsOf(wire, handles, connections);
      if (typeof fs === 'string') {
        close();
        return fs;
      }
      const vfs = new Vfs(root, specs);
      const made = mkdirs(vfs, vfs.root, wire.path);
      if (made instanceof Errno) {
        close();
        return `mount point ${wire.path}: ${made.code}`;
      }
      specs.push({ path: wire.path, fs });
    }
    return { vfs: new Vfs(root, specs), close };
  } catch (e) {
    close();
    return `mounts: ${(e as Error).message}`;
  }
}

/**
 * The namespace of a run with wasmtime-style preopens: mount i of `wires` is preopened
 * as `names[i]` (`Vfs.preopens`), in order. `vfs` is only the resolver the WASI layer
 * uses: its own root (an empty read-only directory) is given to nobody.
 */
export function preopenNamespace(wires: readonly MountWire[], names: readonly string[], handles: readonly unknown[]): (Namespace & { readonly preopens: readonly Preopen[] }) | string {
  const connections = new Map<Handle, RemoteFs[]>();
  const close = (): void => {
    for (const fss of connections.values()) fss[0]?.disconnect();
    connections.clear();
  };
  const specs: MountSpec[] = [];
  try {
    for (const [i, wire] of wires.entries()) {
      const fs = mountFsOf(wire, handles, connections);
      if (typeof fs === 'string') {
        close();
        return fs;
      }
      specs.push({ path: names[i] ?? wire.path, fs });
    }
  } catch (e) {
    close();
    return `preopens: ${(e as Error).message}`;
  }
  const dirs = Vfs.preopens(specs);
  return {
    vfs: new Vfs(new OverlayFs(new Overlay([]), { readonly: true }), [], { dotdot: 'deny' }),
    preopens: dirs.map((dir, i) => ({ name: (specs[i] as MountSpec).path, dir })),
    close,
  };
}

function mountFsOf(wire: MountWire, handles: readonly unknown[], connections: Map<Handle, RemoteFs[]>): MountFs | string {
  switch (wire.kind) {
    case 'tmpfs':
      return wire.readonly ? new OverlayFs(new Overlay([]), { readonly: true }) : createTmpfs();
    case 'served': {
      const h = wire.connection as Handle;
      let fss = connections.get(h);
      if (fss === undefined) connections.set(h, (fss = RemoteFs.connect(handle<VolumeConnection>(handles, h))));
      const fs = fss[wire.index as number];
      return fs ?? `mount ${wire.path}: not in the volume connection`;
    }
    default:
      return `mount ${wire.path}: unknown kind ${JSON.stringify(wire.kind)} (a newer runtime?)`;
  }
}

/**
 * `mkdir -p` of `path` from `start` in `vfs`, following symlinks inside the namespace
 * (a dangling one is followed too: its target is made, as Docker makes a mount point
 * named through a symlink). The directory, or why it cannot be made.
 */
function mkdirs(vfs: Vfs, start: VNode, path: string, links = 0): VNode | Errno {
  let at = path.startsWith('/') ? vfs.root : start;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    let next = vfs.resolve(at, part, true);
    if (next === Errno.of('ENOENT') && part !== '..') {
      const entry = vfs.lookup(at, part);
      if (!(entry instanceof Errno) && vfs.kind(entry) === 'symlink') {
        const target = entry.mount.fs.readlink(entry.node);
        if (target instanceof Errno) return target;
        if (links >= 40) return Errno.of('ELOOP');
        next = mkdirs(vfs, at, target, links + 1);
      } else {
        const ro = vfs.writable(at);
        if (ro !== undefined) return ro;
        const made = at.mount.fs.mkdir(at.node, part, 0o755);
        if (made instanceof Errno) return made;
        next = vfs.lookup(at, part);
      }
    }
    if (next instanceof Errno) return next;
    if (vfs.kind(next) !== 'dir') return Errno.of('ENOTDIR');
    at = next;
  }
  return at;
}

/**
 * The order mounts are attached in: parents first (Docker sorts mounts by destination the
 * same way); a stable sort keeps the given order otherwise. `Vfs.allMounts()` of a
 * namespace lists the root, then its mounts in this order.
 */
export function mountOrder<M extends { readonly path: string }>(mounts: readonly M[]): M[] {
  return [...mounts].sort((a, b) => depth(a.path) - depth(b.path));
}

function depth(path: string): number {
  return path.split('/').filter((p) => p !== '').length;
}
