/**
 * Volumes across threads: a container thread's `RemoteFs` forwards each `MountFs` call
 * over a synchronous channel (channel.ts) to a `VolumeServer` in the thread that owns the
 * volumes (the runtime's main thread), which applies it to the real filesystem (a PathFs,
 * or any `MountFs`).
 *
 * Why: a volume used by two running containers must be one object, so that a write in
 * one is visible to the other at once; and a write acknowledged to a guest must survive
 * the guest's thread being killed. Both hold because the filesystem lives in the server's
 * thread and a request is applied there before its reply is sent.
 *
 * Lifecycle:
 *   1. Main thread: `const server = new VolumeServer([{ path: '/data', fs }])` starts
 *      serving; post `server.connection` to the container thread with `server.transfer`
 *      in the transfer list.
 *   2. Container thread: `RemoteFs.connect(connection)` → one RemoteFs per mount, given to
 *      the VFS as mounts. Every call is one round trip (a read larger than 16 MiB, or a
 *      request naming an evicted handle, takes more).
 *   3. When the container goes away, normally or killed: `server.close()` (the runtime
 *      calls it when the thread exits). The server releases every host file descriptor
 *      its handles held; `server.done` resolves. A channel closed by the client (or a
 *      client timeout) ends the server the same way.
 *
 * Handles: see channel-protocol.ts (bounded table, pinned while they hold host
 * resources, re-looked-up by the client when evicted).
 *
 * Polled mode (`polled: end`): the server answers on a channel end it is given, only when
 * its thread calls `poll()` — for a thread busy with something else that can look at its
 * channels only now and then (a container thread serving an exec'd program's calls at
 * its WASI calls, worker.ts). The client then needs `mounts` (the roots' handles) and the
 * client end of that channel, which the channel's owner has.
 */
import { EINVAL, EIO, ENOENT, EROFS, EXDEV, Errno, type ErrnoCode } from '../layers/errno.js';
import { ChannelClient, ChannelError, ChannelServer, createChannel, transferables, type ChannelEnd, type ChannelOptions } from './channel.js';
import {
  VOLUME_PROTOCOL_VERSION,
  type NodeHandle,
  type RemoteMount,
  type VolumeConnection,
  type VolumeRequest,
  type VolumeResponse,
  type WireNode,
} from './channel-protocol.js';
import type { Dirent, MountFs, NodeKind, Stat } from './vfs.js';

export type { VolumeConnection } from './channel-protocol.js';

/** Largest read served in one round trip. */
const MAX_READ = 16 * 1024 * 1024;
/** Unpinned handles kept per connection before the oldest are evicted. */
const DEFAULT_MAX_HANDLES = 4096;

// ============================================================================ client

/** A node of a RemoteFs: a server handle, plus what is needed to find the node again. */
export class RemoteNode {
  constructor(
    /** @internal current server handle */ public h: NodeHandle,
    readonly kind: NodeKind,
    /** @internal */ readonly key: bigint | number | string,
    /** @internal the directory it was found in (undefined: a mount root) */ readonly parent: RemoteNode | undefined,
    /** @internal its name there */ readonly name: string,
  ) {}
}

/** The container thread's end of a volume connection: one channel, shared by its mounts. */
class VolumeClient {
  private readonly channel: ChannelClient<VolumeRequest, VolumeResponse>;
  constructor(connection: VolumeConnection) {
    this.channel = new ChannelClient(connection.channel);
  }

  /**
   * Sends the request `make()` builds, re-finding evicted handles among `nodes` and
   * retrying. A broken channel (server gone, timeout) is EIO.
   */
  call(make: () => VolumeRequest, ...nodes: RemoteNode[]): Exclude<VolumeResponse, { e: unknown } | { stale: unknown }> | Errno {
    for (let attempt = 0; attempt < 4; attempt++) {
      const r = this.channel.call(make());
      if (r instanceof ChannelError) return EIO;
      if ('e' in r) return Errno.of(r.e);
      if (!('stale' in r)) return r;
      const node = nodes.find((n) => n.h === r.stale);
      if (node === undefined || !this.refind(node)) return ENOENT;
    }
    return EIO;
  }

  /** Looks an evicted node up again; false if its name now names something else. */
  private refind(node: RemoteNode): boolean {
    const parent = node.parent;
    if (parent === undefined) return false; // roots are pinned: never evicted
    const r = this.call(() => ({ op: 'lookup', h: parent.h, name: node.name }), parent);
    if (r instanceof Errno || !('node' in r)) return false;
    if (r.node.key !== node.key || r.node.kind !== node.kind) return false;
    node.h = r.node.h;
    return true;
  }

  close(): void {
    this.channel.close();
  }
}

/** A `MountFs` whose calls are served by a `VolumeServer` in another thread. */
export class RemoteFs implements MountFs<RemoteNode> {
  readonly readonly: boolean;
  readonly path: string;
  private readonly rootNode: RemoteNode;

  private constructor(
    private readonly client: VolumeClient,
    mount: RemoteMount,
  ) {
    this.readonly = mount.readonly;
    this.path = mount.path;
    this.rootNode = new RemoteNode(mount.root.h, mount.root.kind, mount.root.key, undefined, '');
  }

  /** One RemoteFs per mount of `connection`, in order, sharing its channel. */
  static connect(connection: VolumeConnection): RemoteFs[] {
    if (connection.v !== VOLUME_PROTOCOL_VERSION) {
      throw new Error(`volume connection of protocol ${String(connection.v)}; this build speaks ${VOLUME_PROTOCOL_VERSION}`);
    }
    const client = new VolumeClient(connection);
    return connection.mounts.map((m) => new RemoteFs(client, m));
  }

  /** Closes the connection (all mounts that share it): the server releases everything. */
  disconnect(): void {
    this.client.close();
  }

  root(): RemoteNode {
    return this.rootNode;
  }

  lookup(dir: RemoteNode, name: string): RemoteNode | Errno {
    return this.nodeOf(
      this.client.call(() => ({ op: 'lookup', h: dir.h, name }), dir),
      dir,
      name,
    );
  }

  parent(dir: RemoteNode): RemoteNode | undefined {
    return dir.parent;
  }

  key(node: RemoteNode): unknown {
    return node.key;
  }

  kind(node: RemoteNode): NodeKind {
    return node.kind;
  }

  stat(node: RemoteNode): Stat | Errno {
    const r = this.client.call(() => ({ op: 'stat', h: node.h }), node);
    return r instanceof Errno ? r : 'stat' in r ? r.stat : EIO;
  }

  readlink(node: RemoteNode): string | Errno {
    const r = this.client.call(() => ({ op: 'readlink', h: node.h }), node);
    return r instanceof Errno ? r : 'target' in r ? r.target : EIO;
  }

  readdir(dir: RemoteNode): readonly Dirent[] | Errno {
    const r = this.client.call(() => ({ op: 'readdir', h: dir.h }), dir);
    return r instanceof Errno ? r : 'entries' in r ? r.entries : EIO;
  }

  /** Makes the server take the file's host descriptor now (see PathFs.open). */
  open(node: RemoteNode): Errno | undefined {
    return this.done(this.client.call(() => ({ op: 'open', h: node.h }), node));
  }

  read(file: RemoteNode, pos: number, dst: Uint8Array): number | Errno {
    let n = 0;
    do {
      const len = Math.min(dst.length - n, MAX_READ);
      const at = pos + n;
      const r = this.client.call(() => ({ op: 'read', h: file.h, pos: at, len }), file);
      if (r instanceof Errno) return n > 0 ? n : r;
      if (!('data' in r)) return EIO;
      dst.set(r.data, n);
      n += r.data.length;
      if (r.data.length < len) break;
    } while (n < dst.length);
    return n;
  }

  write(file: RemoteNode, pos: number, src: Uint8Array): number | Errno {
    if (this.readonly) return EROFS;
    const r = this.client.call(() => ({ op: 'write', h: file.h, pos, data: src }), file);
    return r instanceof Errno ? r : 'n' in r ? r.n : EIO;
  }

  truncate(file: RemoteNode, size: number): Errno | undefined {
    if (this.readonly) return EROFS;
    return this.done(this.client.call(() => ({ op: 'truncate', h: file.h, size }), file));
  }

  setTimes(node: RemoteNode, atime: bigint | undefined, mtime: bigint | undefined): Errno | undefined {
    if (this.readonly) return EROFS;
    return this.done(this.client.call(() => ({ op: 'setTimes', h: node.h, atime: atime ?? null, mtime: mtime ?? null }), node));
  }

  createFile(dir: RemoteNode, name: string, mode: number): RemoteNode | Errno {
    if (this.readonly) return EROFS;
    return this.nodeOf(
      this.client.call(() => ({ op: 'createFile', h: dir.h, name, mode }), dir),
      dir,
      name,
    );
  }

  mkdir(dir: RemoteNode, name: string, mode: number): RemoteNode | Errno {
    if (this.readonly) return EROFS;
    return this.nodeOf(
      this.client.call(() => ({ op: 'mkdir', h: dir.h, name, mode }), dir),
      dir,
      name,
    );
  }

  symlink(target: string, dir: RemoteNode, name: string): RemoteNode | Errno {
    if (this.readonly) return EROFS;
    return this.nodeOf(
      this.client.call(() => ({ op: 'symlink', h: dir.h, target, name }), dir),
      dir,
      name,
    );
  }

  link(node: RemoteNode, dir: RemoteNode, name: string): Errno | undefined {
    if (this.readonly) return EROFS;
    return this.done(this.client.call(() => ({ op: 'link', h: node.h, dir: dir.h, name }), node, dir));
  }

  unlink(dir: RemoteNode, name: string): Errno | undefined {
    if (this.readonly) return EROFS;
    return this.done(this.client.call(() => ({ op: 'unlink', h: dir.h, name }), dir));
  }

  rmdir(dir: RemoteNode, name: string): Errno | undefined {
    if (this.readonly) return EROFS;
    return this.done(this.client.call(() => ({ op: 'rmdir', h: dir.h, name }), dir));
  }

  rename(fromDir: RemoteNode, fromName: string, toDir: RemoteNode, toName: string): Errno | undefined {
    if (this.readonly) return EROFS;
    return this.done(this.client.call(() => ({ op: 'rename', h: fromDir.h, name: fromName, to: toDir.h, toName }), fromDir, toDir));
  }

  sync(file: RemoteNode): Errno | undefined {
    return this.done(this.client.call(() => ({ op: 'sync', h: file.h }), file));
  }

  release(node: RemoteNode): void {
    this.client.call(() => ({ op: 'release', h: node.h }), node);
  }

  private nodeOf(r: VolumeResponse | Errno, dir: RemoteNode, name: string): RemoteNode | Errno {
    if (r instanceof Errno) return r;
    if (!('node' in r)) return EIO;
    return new RemoteNode(r.node.h, r.node.kind, r.node.key, dir, name);
  }

  private done(r: VolumeResponse | Errno): Errno | undefined {
    return r instanceof Errno ? r : undefined;
  }
}

// ============================================================================ server

/** A filesystem a container mounts through the server. */
export interface ServedMount {
  /** The mount point in the container (for messages and `RemoteFs.path`). */
  readonly path: string;
  readonly fs: MountFs;
  /** This container may only read it (the same fs may be writable in another container). */
  readonly readonly?: boolean;
}

export interface VolumeServerOptions {
  /** Of the channel (capacity, client timeout, doorbell). */
  readonly channel?: ChannelOptions;
  /** Unpinned handles kept before the oldest are evicted (default 4096). */
  readonly maxHandles?: number;
  /** Serve this channel end, when `poll()`ed, instead of making a channel and serving it asynchronously. */
  readonly polled?: ChannelEnd;
  /**
   * The first handle number (default 1). A channel reused by successive servers (an exec
   * slot) gives each a distinct range, so a request left over from an earlier server
   * names no node of this one (`{ stale }`, and its roots cannot be found again).
   */
  readonly firstHandle?: number;
}

interface Entry {
  readonly mount: ServedMount;
  readonly node: unknown;
  /** Holds host resources (or is a mount root): never evicted. */
  pinned: boolean;
  readonly root: boolean;
}

const OK = { ok: true } as const;
const MUTATIONS = new Set<VolumeRequest['op']>(['write', 'truncate', 'setTimes', 'createFile', 'mkdir', 'symlink', 'link', 'unlink', 'rmdir', 'rename']);

/**
 * Serves one container's remote mounts over one channel, in this thread. Requests are
 * handled synchronously, one at a time, so every request of every container to a shared
 * volume is applied in one order.
 */
export class VolumeServer {
  /** Post this to the container thread (with `transfer`). In polled mode its channel is the served end: give the client its own end with `mounts`. */
  readonly connection: VolumeConnection;
  /** The mounts as a client sees them: each mount point and its root's handle. */
  readonly mounts: readonly RemoteMount[];
  readonly transfer: Transferable[];
  /** Resolves when the connection has ended and every handle was released. */
  readonly done: Promise<void>;
  private readonly channel: ChannelServer<VolumeRequest, VolumeResponse>;
  private readonly handles = new Map<NodeHandle, Entry>();
  private readonly maxHandles: number;
  private unpinned = 0;
  private nextHandle: number;
  private readonly objectKeys = new WeakMap<object, number>();
  private nextObjectKey = 1;

  constructor(mounts: readonly ServedMount[], options: VolumeServerOptions = {}) {
    this.maxHandles = options.maxHandles ?? DEFAULT_MAX_HANDLES;
    this.nextHandle = options.firstHandle ?? 1;
    const { client, server } = options.polled !== undefined ? { client: options.polled, server: options.polled } : createChannel(options.channel);
    this.channel = new ChannelServer(server);
    this.mounts = mounts.map((mount): RemoteMount => {
      const root = mount.fs.root();
      return { path: mount.path, readonly: mount.readonly === true || mount.fs.readonly, root: this.add(mount, root, true, true) };
    });
    this.connection = { v: VOLUME_PROTOCOL_VERSION, channel: client, mounts: this.mounts };
    this.transfer = options.polled !== undefined ? [] : transferables(client);
    this.polledMode = options.polled !== undefined;
    this.done = this.polledMode ? Promise.resolve() : this.channel.serve((req) => this.handle(req)).finally(() => this.releaseAll());
  }

  private readonly polledMode: boolean;

  /**
   * Polled mode: answers the request waiting on the channel, if any (true), else returns
   * false at once. Blocks only while a request or its reply crosses in pieces.
   */
  poll(): boolean {
    return this.channel.pollOnce((req) => this.handle(req));
  }

  /** Ends the connection (the container went away): releases all host resources. Idempotent. */
  close(): Promise<void> {
    this.channel.close();
    if (this.polledMode) this.releaseAll();
    return this.done;
  }

  /** Handles in the table (pinned and not), for tests and `inspect`. */
  get handleCount(): number {
    return this.handles.size;
  }

  /** Handles one request (exported for a polled server; `serve` uses it too). */
  handle(req: VolumeRequest): VolumeResponse {
    const entry = this.handles.get(req.h);
    if (entry === undefined) return { stale: req.h };
    this.touch(req.h, entry);
    const { fs } = entry.mount;
    const node = entry.node;
    if (MUTATIONS.has(req.op) && (entry.mount.readonly === true || fs.readonly)) return { e: EROFS.code };
    switch (req.op) {
      case 'lookup':
        return this.nodeReply(entry.mount, fs.lookup(node, req.name), false);
      case 'stat':
        return reply(fs.stat(node), (stat) => ({ stat }));
      case 'readlink':
        return reply(fs.readlink(node), (target) => ({ target }));
      case 'readdir':
        return reply(fs.readdir(node), (entries) => ({ entries }));
      case 'open': {
        this.pin(entry);
        const open = (fs as MountFs & { open?(node: unknown): Errno | undefined }).open;
        return done(open === undefined ? undefined : open.call(fs, node));
      }
      case 'read': {
        if (!Number.isSafeInteger(req.len) || req.len < 0) return { e: EINVAL.code };
        this.pin(entry);
        const buf = new Uint8Array(Math.min(req.len, MAX_READ));
        return reply(fs.read(node, req.pos, buf), (n) => ({ data: buf.subarray(0, n) }));
      }
      case 'write':
        this.pin(entry);
        return reply(fs.write(node, req.pos, req.data), (n) => ({ n }));
      case 'truncate':
        this.pin(entry);
        return done(fs.truncate(node, req.size));
      case 'setTimes':
        return done(fs.setTimes(node, req.atime ?? undefined, req.mtime ?? undefined));
      case 'createFile':
        return this.nodeReply(entry.mount, fs.createFile(node, req.name, req.mode), true);
      case 'mkdir':
        return this.nodeReply(entry.mount, fs.mkdir(node, req.name, req.mode), false);
      case 'symlink':
        return this.nodeReply(entry.mount, fs.symlink(req.target, node, req.name), false);
      case 'link': {
        const dir = this.other(req.dir, entry);
        return 'stale' in dir || 'e' in dir ? dir : done(fs.link(node, dir.node, req.name));
      }
      case 'unlink':
        return done(fs.unlink(node, req.name));
      case 'rmdir':
        return done(fs.rmdir(node, req.name));
      case 'rename': {
        const to = this.other(req.to, entry);
        return 'stale' in to || 'e' in to ? to : done(fs.rename(node, req.name, to.node, req.toName));
      }
      case 'sync':
        this.pin(entry);
        return done(fs.sync(node));
      case 'release':
        fs.release?.(node);
        if (entry.pinned && !entry.root) {
          entry.pinned = false;
          this.unpinned++;
          this.evict();
        }
        return OK;
    }
  }

  /** The second handle of a two-node request: same filesystem, or EXDEV. */
  private other(h: NodeHandle, first: Entry): Entry | { stale: NodeHandle } | { e: ErrnoCode } {
    const entry = this.handles.get(h);
    if (entry === undefined) return { stale: h };
    this.touch(h, entry);
    if (entry.mount.fs !== first.mount.fs) return { e: EXDEV.code };
    if (entry.mount.readonly === true) return { e: EROFS.code };
    return entry;
  }

  private nodeReply(mount: ServedMount, r: unknown, pin: boolean): VolumeResponse {
    if (r instanceof Errno) return { e: r.code };
    return { node: this.add(mount, r, pin) };
  }

  private add(mount: ServedMount, node: unknown, pinned: boolean, root = false): WireNode {
    const h = this.nextHandle++;
    this.handles.set(h, { mount, node, pinned, root });
    if (!pinned) {
      this.unpinned++;
      this.evict();
    }
    return { h, kind: mount.fs.kind(node), key: this.wireKey(mount.fs.key(node)) };
  }

  private pin(entry: Entry): void {
    if (entry.pinned) return;
    entry.pinned = true;
    this.unpinned--;
  }

  /** Most recently used last: Map order is the eviction order. */
  private touch(h: NodeHandle, entry: Entry): void {
    if (entry.pinned) return;
    this.handles.delete(h);
    this.handles.set(h, entry);
  }

  private evict(): void {
    if (this.unpinned <= this.maxHandles) return;
    for (const [h, entry] of this.handles) {
      if (entry.pinned) continue;
      this.handles.delete(h);
      entry.mount.fs.release?.(entry.node);
      if (--this.unpinned <= this.maxHandles) return;
    }
  }

  /** `MountFs.key` as plain data: objects (OverlayFs nodes) get numbers, 128-bit bigints strings. */
  private wireKey(key: unknown): bigint | number | string {
    if (typeof key === 'number' || typeof key === 'string') return key;
    if (typeof key === 'bigint') return key >= -(1n << 63n) && key < 1n << 63n ? key : key.toString();
    if (typeof key === 'object' && key !== null) {
      let n = this.objectKeys.get(key);
      if (n === undefined) this.objectKeys.set(key, (n = this.nextObjectKey++));
      return n;
    }
    return String(key);
  }

  private releaseAll(): void {
    for (const entry of this.handles.values()) entry.mount.fs.release?.(entry.node);
    this.handles.clear();
    this.unpinned = 0;
  }
}

function reply<T>(r: T | Errno, ok: (value: T) => VolumeResponse): VolumeResponse {
  return r instanceof Errno ? { e: r.code } : ok(r);
}

function done(r: Errno | undefined): VolumeResponse {
  return r === undefined ? OK : { e: r.code };
}
