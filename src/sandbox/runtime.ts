/**
 * The container runtime: containers with Docker's lifecycle, each run in its own thread.
 *
 * Words:
 * - A *container* is a record here: what to run (a module, over an image's layers or an
 *   empty root), how (argv, env, working dir, mounts, limits), its logs, its state, and
 *   its *upper* (the changes its runs made to its root, kept as a changeset tar).
 * - A *run* is one start of a container, in one container thread from the pool (pool.ts,
 *   worker.ts). Runs of one container never overlap.
 *
 * Lifecycle (Docker's states; `inspect().state.status`):
 *   create(spec)  → `created`  image config resolved, module read, checked and compiled
 *                              (module.ts; compiled once per module and memory limit);
 *   start(id)     → `running`  a warm thread runs the guest (layers and module are sent
 *                              only to a thread that lacks them);
 *   …             → `exited`   the guest returned or called proc_exit (its code; reason
 *                              `Completed` for 0, else `Error`), trapped (134, `Error`, the
 *                              trap in stderr and `state.message`), trapped at its memory
 *                              limit (137, `OOMKilled`), was killed (137, `Killed`), or ran
 *                              past its timeout (137, `DeadlineExceeded`);
 *   start(id) again restarts it with the upper it had (a restart); `remove(id)` forgets it.
 * `upper(id)` is the changeset after its last run, and `ContainerSpec.upper` restores one
 * at create: a container kept elsewhere (the CLI keeps them on disk) restarts with its
 * files in another process.
 *
 * Output: the thread writes stdout and stderr into its output ring (output.ts) at each
 * `fd_write`, and the runtime drains it as soon as it is written (`Atomics.waitAsync`
 * on the ring's doorbell) into the container's `LogRing` and `onLog`, each chunk stamped
 * with the time of its write. So a line is visible within milliseconds even when the
 * guest then computes without another WASI call, and what a killed guest wrote before
 * the kill is kept (the ring is drained once more after its thread is gone). A guest
 * that writes faster than the runtime drains blocks in `fd_write` (a pipe's
 * back-pressure); a stop still ends it.
 *
 * Exec (`exec(id, { cmd, … })`): runs another program in a *running* container's files:
 * its root and its mounts (volumes, binds, tmpfs), live, with the container's env (plus
 * the exec's) and memory limit, in its own pooled thread. The container's thread serves
 * the files: it answers the exec'd program's calls at each of its own WASI calls and
 * whenever it sleeps (worker.ts, protocol.ts "Exec"), so each call is a round trip
 * between two threads. A guest that computes without WASI calls answers none: the exec'd
 * program's file calls then fail with EIO after `execCallTimeoutMs` (default 10 s). An
 * exec ends with its program; when the container's run ends, its execs are killed (137),
 * as Docker's are. At most `EXEC_SLOTS` (4) run at once in one container; more wait.
 *
 * Stopping: `kill` writes a stop request into the thread's control word (protocol.ts),
 * which the guest sees at its next WASI call and which wakes it from a sleep; a guest that
 * makes no WASI call for `stopGraceMs` (default 20 ms) has its thread terminated, and the
 * pool replaces it. Either way `kill` resolves with the container exited (137), well
 * within 100 ms. A terminated run's upper changes are lost (its thread held them); the
 * container keeps the upper of its previous run.
 *
 * Limits: `memory` (bytes; the module's memory maximum is rewritten, module.ts),
 * `timeout` (ms of wall-clock time per run), `maxOpenFiles` (EMFILE beyond; default
 * 1024), `logLimit` (bytes of logs kept; default 1 MiB, oldest dropped, logs.ts).
 *
 * What the guest gets (nothing else; STYLE §8): argv = Entrypoint + Cmd (image config,
 * overridden by the spec as `docker run --entrypoint` / trailing args do); env = the
 * image's Env, then the spec's (same key: the spec wins), plus `PWD` when a working dir
 * is set; its root at `/` (the image's layers, or an empty directory for a bare module)
 * and the mounts; stdin if given. The working dir is made if missing; see worker.ts for
 * how wasi-libc sees it.
 *
 * Ports (network.ts): a container listens on `ports` (default: the image's ExposedPorts
 * tcp ports) through pre-opened listening sockets at fd 3 onward, before the directory
 * preopens (wasmtime's `--tcplisten`; no environment variable is added). Each run gets its
 * own network: an arena of connection slots shared with its thread, and the host
 * listeners of `publish` (`-p 8080:80`: a real TCP listener on 127.0.0.1, Node only),
 * opened before the guest starts (a host port in use fails `start`, exit 128) and closed
 * when the run ends, however it ends; `kill` resolves once they are closed and the run's
 * connections ended. In process, `connect(id, port)` gives a virtual connection (web
 * streams) and `fetch(id, url)` an HTTP response, in the browser as in Node.
 * `inspect().ports` lists each port's fd and host ports (`docker port`).
 *
 * Errors: a spec that cannot run (no such image, no command, a module refused by
 * module.ts) throws at `create`; operations on an unknown container throw
 * `NotFoundError`; a name in use throws `SkiffError('CONFLICT')`. How a run ended is a
 * value (`ExitStatus`), never an exception.
 */
import { applyChangeset } from '../layers/changeset.js';
import { listChanges, type Change } from '../layers/changes.js';
import { commit as commitImage, type CommitOptions } from '../layers/build.js';
import { digestOf } from '../layers/digest.js';
import { Errno } from '../layers/errno.js';
import { NotFoundError, SkiffError } from '../layers/errors.js';
import type { Image, ImageStore } from '../layers/image-store.js';
import type { LayerIndex } from '../layers/layer-index.js';
import { encodeLayerIndex, type EncodedLayer } from '../layers/layer-transfer.js';
import { FileNode, Overlay } from '../layers/overlay.js';
import { defaultPlatform, type Platform, type TranspiledComponent } from '../platform/platform.js';
import { closeChannel, reopenChannel, type ChannelEnd } from './channel.js';
import { VOLUME_PROTOCOL_VERSION, type RemoteMount, type VolumeConnection } from './channel-protocol.js';
import { DEFAULT_LOG_LIMIT, LogRing, type LogEntry } from './logs.js';
import { ModuleError, PAGE_SIZE, capDefinedMemories, checkImports, prepareModule, type ModuleImport } from './module.js';
import { checkComponentImports, functionBody, isComponent, type ComponentCode } from './component.js';
import { RunMounts, releaseMounts, resolveMounts, resolvePreopens, type ContainerMount, type MountEntry, type PreopenEntry } from './mounts.js';
import { CTRL_WAKE } from './net/arena.js';
import type { VolumeManager } from './volumes.js';
import { formatIPv4, parseIPv4 } from './net/ipv4.js';
import { DIAL_ONLY_LAYOUT, FIRST_LISTEN_FD, NET_LAYOUT, RunNetwork, containerPorts, fetchOver, type PortInfo, type PublishSpec, type VirtualConnection } from './network.js';
import { ThreadPool, type PoolStats, type PooledThread } from './pool.js';
import { rehearsalModule } from './rehearsal.js';
import {
  CONTROL_IDLE, CONTROL_BLOCKED, msSinceStamp,
  CONTROL_STOP,
  decode,
  CONTROL_WAKE,
  Handles,
  PROTOCOL_VERSION,
  STOP_NONE,
  handle,
  post,
  stopCode,
  wake,
  type ExitReason,
  type FromThread,
  type ImportedMemory,
  type OutputBatch,
  type StartMessage,
  type StopReason,
} from './protocol.js';

export type { Change, ChangeKind } from '../layers/changes.js';
export type { ExitReason } from './protocol.js';

export const DEFAULT_MAX_OPEN_FILES = 1024;
export const DEFAULT_STOP_GRACE_MS = 20;
export const DEFAULT_EXEC_CALL_TIMEOUT_MS = 10_000;
export { EXEC_SLOTS } from './protocol.js';
/** Compiled modules kept for reuse by new containers. */
const COMPILED_CACHE = 64;
const THREAD_MODULE = new URL('./worker.js', import.meta.url);

export interface RuntimeOptions {
  /** Default: the platform the package entry registered (platform/platform.ts). */
  readonly platform?: Platform;
  /**
   * Where a container's connect goes when no network namespace of this runtime holds the
   * address (a kubelet: the rest of the cluster). `namespace` is the connecting
   * container's namespace key. Undefined (or no option): refused.
   */
  readonly dial?: (address: string, port: number, namespace: string) => Promise<VirtualConnection | undefined>;
  /**
   * A container's name lookup when the name is no container of this runtime (a kubelet:
   * Service names): IPv4 addresses, none when unknown. `namespace` as for `dial`.
   */
  readonly resolve?: (name: string, namespace: string) => Promise<readonly string[]>;
  /** Where image refs are resolved and commits go. */
  readonly store?: ImageStore;
  /** Idle threads kept warm (default 2). */
  readonly poolSize?: number;
  /**
   * The container thread module (this package's sandbox/worker.js). Only for code bundled
   * away from this file, where `import.meta.url` no longer locates it (the kubelet's
   * thread bundle).
   */
  readonly threadModule?: URL;
  /** How long a stop request may go unanswered before the thread is terminated (ms). */
  readonly stopGraceMs?: number;
  /**
   * Named volumes, and the grant of host binds (volumes.ts; `memoryVolumes()` or
   * `diskVolumes(dir)` in Node). Without it, specs may mount tmpfs and `ContainerMount`s only.
   */
  readonly volumes?: VolumeManager;
  /**
   * How long an exec'd program's file call waits for the container's thread to answer
   * before it fails with EIO (ms; default 10 s). A container whose guest computes
   * without WASI calls answers none.
   */
  readonly execCallTimeoutMs?: number;
}

/** A filesystem mounted into a container: mounts.ts (named volumes, binds, tmpfs, any `MountFs`). */
export type { ContainerMount, MountEntry, PreopenEntry } from './mounts.js';

export interface ContainerSpec {
  /** An image (or a ref or digest in `store`). Exactly one of `image` and `module`. */
  readonly image?: Image | string;
  /** The store `image` is in (default: the runtime's). Also where `commit` puts the new image. */
  readonly store?: ImageStore;
  /** A bare module, run over an empty root. */
  readonly module?: Uint8Array | WebAssembly.Module;
  /** Unique name (default: generated, Docker style). */
  readonly name?: string;
  /** Replaces the image's Entrypoint (and then its Cmd too, unless `cmd` is given). For a bare module: argv[0] (default `main.wasm`). */
  readonly entrypoint?: readonly string[];
  /** Replaces the image's Cmd: the arguments after the entrypoint. */
  readonly cmd?: readonly string[];
  /** Added to (and overriding) the image's Env. */
  readonly env?: Readonly<Record<string, string>> | readonly string[];
  /** Replaces the image's WorkingDir. */
  readonly workingDir?: string;
  /**
   * Volumes, binds and tmpfs (mounts.ts): `docker run -v` strings (`data:/data`,
   * `/host/dir:/mnt:ro`, `/anon`), requests (`{ type: 'tmpfs', target: '/tmp' }`), or
   * `ContainerMount`s. Named volumes and binds need the runtime's `volumes`.
   */
  readonly mounts?: readonly MountEntry[];
  /**
   * wasmtime-style preopens, for a bare module (`wasmtime run --dir HOST::GUEST`): when
   * given, the guest gets exactly these directories, each preopened under its `name`
   * (in order, after any listening sockets), and no `/`. Each is a capability: `..`
   * above it and absolute symlinks are EPERM (`Vfs.preopens`). `mount` is anything
   * `mounts` takes (its mount point is not used). Not with `image` nor `mounts`.
   */
  readonly preopens?: readonly PreopenEntry[];
  /**
   * TCP ports the guest listens on: pre-opened listening sockets at fd 3 onward, in this
   * order, before the preopened directories (network.ts). Default: the image's
   * ExposedPorts tcp ports, ascending. Published container ports not listed are added.
   */
  readonly ports?: readonly number[];
  /** Host ports forwarded to container ports (`docker run -p`; loopback only; platforms with host sockets, i.e. Node). */
  readonly publish?: readonly PublishSpec[];
  /**
   * The container's virtual network namespace (a pod's, in Kubernetes' words): containers
   * given the same `namespace` share one virtual `address` and reach each other's ports
   * on 127.0.0.1 (Docker's `--network container:NAME`). Default: a namespace of its own,
   * with an address picked from 10.88.0.0/16. Other containers of this runtime reach it at
   * its address. Only components (WASI 0.2 sockets) open connections; modules listen.
   */
  readonly network?: { readonly namespace?: string; readonly address?: string };
  /** Memory limit in bytes (rounded down to 64 KiB pages). */
  readonly memory?: number;
  /** Wall-clock limit of each run, in ms. */
  readonly timeout?: number;
  readonly maxOpenFiles?: number;
  /** Bytes of logs kept (default 1 MiB). */
  readonly logLimit?: number;
  /** What the guest reads on fd 0 (then EOF). */
  readonly stdin?: Uint8Array;
  /** Called with each chunk of output as it arrives from the container's thread. */
  readonly onLog?: (entry: LogEntry) => void;
  /**
   * Keep the container's file changes after each run (for restart, diff and commit).
   * Default true; `false` skips packing them at exit (one-shot runs).
   */
  readonly keepFiles?: boolean;
  /**
   * The container's file changes to start from: a changeset (an OCI layer tar, as
   * `upper(id)` returns it) over the image, as if an earlier run had made them.
   * Refused at create (CONFLICT) when it does not apply onto the image.
   */
  readonly upper?: Uint8Array;
}

/** What `exec` runs (Docker's `exec` options). */
export interface ExecOptions {
  /** argv: `cmd[0]` is looked up in the container's PATH (then its working dir) in its live files. */
  readonly cmd: readonly string[];
  /** Added to (and overriding) the container's environment. */
  readonly env?: Readonly<Record<string, string>> | readonly string[];
  /** Absolute; default the container's working dir (passed as PWD; it must exist). */
  readonly workingDir?: string;
  /** What the program reads on fd 0 (then EOF). */
  readonly stdin?: Uint8Array;
  /** Each chunk of its output as it is written. */
  readonly onLog?: (entry: LogEntry) => void;
}

/**
 * How an exec ended, and its output (the newest `logLimit` bytes of the container's,
 * stdout and stderr together). Exit codes are a container's, plus 127 (the command is
 * not a file in the container) and 126 (it cannot be run).
 */
export interface ExecResult extends ExitStatus {
  readonly stdout: string;
  readonly stderr: string;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ExitStatus {
  readonly exitCode: number;
  readonly reason: ExitReason;
  /** The trap or failure that ended the run, if any. */
  readonly message?: string;
}

export interface ContainerState {
  readonly status: ContainerStatus;
  readonly exitCode?: number;
  readonly reason?: ExitReason;
  readonly message?: string;
  readonly oomKilled: boolean;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Runs after the first. */
  readonly restartCount: number;
  /** Guest memory at the end of the last run. */
  readonly memoryBytes?: number;
}

export interface ContainerInfo {
  /** 64 hex digits. */
  readonly id: string;
  readonly name: string;
  /** The image's ref (or digest), or undefined for a bare module. */
  readonly image: string | undefined;
  readonly created: string;
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly workingDir: string;
  /** Docker's `-v` form of each mount (`data:/data`, `/host:/mnt:ro`, `tmpfs:/tmp`). */
  readonly mounts: readonly string[];
  /** The ports it listens on, with their fds and host ports (`docker port`). */
  readonly ports: readonly PortInfo[];
  /** Its virtual network namespace and address (see `ContainerSpec.network`). */
  readonly network: { readonly namespace: string; readonly address: string };
  readonly limits: { readonly memory?: number; readonly timeout?: number; readonly maxOpenFiles: number; readonly logLimit: number };
  readonly state: ContainerState;
  readonly logs: { readonly bytes: number; readonly dropped: number };
}

interface Compiled {
  readonly key: string;
  /** A core module, or a transpiled component (component.ts). */
  readonly module: WebAssembly.Module | ComponentCode;
  readonly memory: ImportedMemory | undefined;
  /** It may open outbound connections (a component importing wasi:sockets/tcp): its runs get a network even without ports. */
  readonly dials?: boolean;
}

/** A virtual network namespace: one address, the containers in it (see `ContainerSpec.network`). */
interface Netns {
  readonly key: string;
  readonly address: string;
  readonly members: Set<Container>;
}

interface Container {
  readonly id: string;
  readonly netns: Netns;
  readonly name: string;
  readonly created: Date;
  readonly image: Image | undefined;
  readonly layers: readonly LayerIndex[];
  readonly compiled: Compiled;
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly spec: ContainerSpec;
  readonly memoryPages: number | undefined;
  readonly maxOpenFiles: number;
  readonly logs: LogRing;
  status: ContainerStatus;
  exit: ExitStatus | undefined;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  runs: number;
  memoryBytes: number | undefined;
  upper: Uint8Array | undefined;
  /** The spec's mounts (or preopens), resolved at create (volumes in use until `remove`). */
  readonly mounts: readonly ContainerMount[];
  /** With preopens: their names, in the order of `mounts`. */
  readonly preopens: readonly string[] | undefined;
  /** Container ports, in fd order (network.ts). */
  readonly ports: readonly number[];
  /** The run in progress. */
  current: Run | undefined;
  waiters: ((status: ExitStatus) => void)[];
}

interface Run {
  readonly serial: number;
  /** The run's network (arena, host ports), when the container has ports; closed when the run ends. */
  network?: RunNetwork;
  thread: PooledThread | undefined;
  stop: StopReason | undefined;
  timers: ReturnType<typeof setTimeout>[];
  /** The run's mounts: its volume server, closed when the run ends (mounts.ts). */
  mounts: RunMounts | undefined;
  /** Resolves when the thread says `running`: what each exec slot serves (undefined: the run ended first, or serves no exec). */
  readonly served: Promise<readonly (readonly RemoteMount[])[] | undefined>;
  readonly serve: (slots: readonly (readonly RemoteMount[])[] | undefined) => void;
  /** Exec slots of the run's thread not in use, and execs waiting for one (given undefined when the run ends). */
  readonly freeSlots: number[];
  readonly slotWaiters: ((slot: number | undefined) => void)[];
  readonly execs: Set<ExecRun>;
}

/** A program exec'd in a container's run. */
interface ExecRun {
  readonly serial: number;
  /** The exec slot of the container's thread it uses. */
  readonly slot: number;
  thread: PooledThread | undefined;
  stop: StopReason | undefined;
  readonly timers: ReturnType<typeof setTimeout>[];
  readonly logs: LogRing;
  readonly onLog: ((entry: LogEntry) => void) | undefined;
  done: boolean;
  readonly resolve: (status: ExitStatus) => void;
}

function newRun(serial: number): Run {
  let serve!: Run['serve'];
  const served = new Promise<readonly (readonly RemoteMount[])[] | undefined>((resolve) => (serve = resolve));
  return { serial, thread: undefined, stop: undefined, timers: [], mounts: undefined, served, serve, freeSlots: [], slotWaiters: [], execs: new Set() };
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class Runtime {
  private readonly platform: Platform;
  private readonly store: ImageStore | undefined;
  private readonly pool: ThreadPool;
  private readonly stopGraceMs: number;
  private readonly execCallTimeoutMs: number;
  /** Named volumes and the bind grant (`RuntimeOptions.volumes`), if any. */
  readonly volumes: VolumeManager | undefined;
  private readonly containers = new Map<string, Container>();
  private readonly names = new Map<string, Container>();
  /** Virtual network namespaces by key, and by address (see `ContainerSpec.network`). */
  private readonly netns = new Map<string, Netns>();
  private readonly dialOut: RuntimeOptions['dial'];
  private readonly resolveOut: RuntimeOptions['resolve'];
  private readonly byAddress = new Map<string, Netns>();
  private nextAddress = 2;
  private readonly compiled = new Map<string, Promise<Compiled>>();
  private readonly byteKeys = new WeakMap<Uint8Array, string>();
  private readonly moduleKeys = new WeakMap<WebAssembly.Module, string>();
  private readonly layerWire = new WeakMap<LayerIndex, { key: string; encoded?: EncodedLayer }>();
  private serial = 0;
  private anonymous = 0;

  constructor(options: RuntimeOptions = {}) {
    this.platform = options.platform ?? defaultPlatform();
    this.store = options.store;
    this.volumes = options.volumes;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.execCallTimeoutMs = options.execCallTimeoutMs ?? DEFAULT_EXEC_CALL_TIMEOUT_MS;
    this.dialOut = options.dial;
    this.resolveOut = options.resolve;
    // Threads booted ahead of need rehearse a run first (rehearsal.ts); the module compiles once per process, from now.
    rehearsalModule();
    this.pool = new ThreadPool(this.platform, options.threadModule ?? THREAD_MODULE, options.poolSize, rehearsalModule);
  }

  /**
   * Keeps `size` container threads booted and idle from now on (`poolSize`): growing
   * spawns them at once, in the background (`warm` resolves when they are booted).
   */
  resizePool(size: number): void {
    this.pool.resize(size);
  }

  /**
   * `n` containers are about to start (their images are still being fetched, say): the
   * threads they will need start booting now instead of at `start` (ThreadPool.prepare).
   */
  prepareThreads(n: number): void {
    this.pool.prepare(n);
  }

  /** Resolves when the pool's threads are booted (start latency is then one message). */
  warm(): Promise<void> {
    return this.pool.warm();
  }

  stats(): PoolStats & { readonly containers: number; readonly running: number } {
    let running = 0;
    for (const c of this.containers.values()) if (c.status === 'running') running++;
    return { ...this.pool.stats(), containers: this.containers.size, running };
  }

  /** Terminates every thread; running containers end as killed. The runtime is unusable after. */
  async close(): Promise<void> {
    const networks: Promise<void>[] = [];
    for (const c of this.containers.values()) {
      if (c.current?.network !== undefined) networks.push(c.current.network.close());
      if (c.current !== undefined) this.finish(c, c.current, { exitCode: 137, reason: 'Killed', message: 'the runtime was closed' });
    }
    await Promise.all(networks);
    await this.pool.close();
  }

  // ---------------------------------------------------------------- lifecycle

  async create(spec: ContainerSpec): Promise<ContainerInfo> {
    if ((spec.image === undefined) === (spec.module === undefined)) throw new SkiffError('CONFLICT', 'a container runs either an image or a module: give exactly one of `image` and `module`');
    if (spec.preopens !== undefined && spec.image !== undefined) throw new SkiffError('CONFLICT', 'preopens are for a bare module (wasmtime --dir): a container of an image has its root, mount into it with `mounts`');
    if (spec.preopens !== undefined && (spec.mounts?.length ?? 0) > 0) throw new SkiffError('CONFLICT', 'give either `preopens` (the guest sees only those directories) or `mounts` (mounted in its root), not both');
    const name = spec.name ?? this.generateName();
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new SkiffError('CONFLICT', `invalid container name ${JSON.stringify(name)}: use letters, digits, '_', '.' and '-'`);
    if (this.names.has(name)) throw new SkiffError('CONFLICT', `the container name ${JSON.stringify(name)} is already in use`);
    const memoryPages = spec.memory === undefined ? undefined : Math.floor(spec.memory / PAGE_SIZE);
    if (memoryPages !== undefined && !(memoryPages >= 1)) throw new SkiffError('LIMIT_EXCEEDED', `memory limit ${String(spec.memory)}: give a number of bytes, at least one 64 KiB page`);
    for (const [what, v] of [['timeout', spec.timeout], ['maxOpenFiles', spec.maxOpenFiles], ['logLimit', spec.logLimit]] as const) {
      if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new SkiffError('LIMIT_EXCEEDED', `${what} ${String(v)}: give a non-negative number`);
    }

    let image: Image | undefined;
    let layers: LayerIndex[] = [];
    let argv: string[];
    let env: string[];
    let cwd: string;
    let compiled: Compiled;
    if (spec.module !== undefined) {
      argv = [...(spec.entrypoint ?? ['main.wasm']), ...(spec.cmd ?? [])];
      env = mergeEnv([], spec.env);
      cwd = spec.workingDir ?? '/';
      compiled = await this.compile(spec.module, memoryPages);
    } else {
      const store = spec.store ?? this.store;
      if (store === undefined) throw new SkiffError('CONFLICT', 'running an image needs its image store: pass `store` (to the Runtime or in the spec)');
      image = await resolveImage(store, spec.image as Image | string);
      layers = await store.layers(image);
      const config = image.config.config ?? {};
      const entrypoint = spec.entrypoint ?? config.Entrypoint ?? [];
      const cmd = spec.cmd ?? (spec.entrypoint !== undefined ? [] : (config.Cmd ?? []));
      argv = [...entrypoint, ...cmd];
      if (argv.length === 0) throw new SkiffError('NOT_FOUND', `image ${describe(image)} has no Entrypoint or Cmd: give an entrypoint`);
      env = mergeEnv(config.Env ?? [], spec.env);
      cwd = spec.workingDir ?? (config.WorkingDir || '/');
      compiled = await this.compileFromImage(image, layers, argv[0] as string, cwd, env, memoryPages);
    }
    if (!cwd.startsWith('/')) cwd = `/${cwd}`;
    if (cwd !== '/' || spec.workingDir !== undefined || (image?.config.config?.WorkingDir ?? '') !== '') {
      if (!env.some((e) => e.startsWith('PWD='))) env.push(`PWD=${cwd}`);
    }
    if (spec.upper !== undefined) {
      let why: string | undefined;
      try {
        const r = applyChangeset(new Overlay(layers), spec.upper);
        if (r instanceof Errno) why = r.code;
      } catch (e) {
        why = (e as Error).message;
      }
      if (why !== undefined) throw new SkiffError('CONFLICT', `the container's files (upper) do not apply onto its ${image === undefined ? 'empty root' : `image ${describe(image)}`}: ${why}`);
    }
    const ports = containerPorts(spec.ports, image?.config.config?.ExposedPorts, spec.publish);
    if ((spec.publish?.length ?? 0) > 0 && this.platform.publish === undefined) {
      throw new SkiffError('UNSUPPORTED', `publishing host ports needs host sockets, which the ${this.platform.name} platform lacks: reach the container with runtime.fetch or runtime.connect`);
    }
    const id = randomHex(32);
    const netns = this.namespaceFor(spec.network, id);
    // Last, so that nothing after it can fail: a named volume is in use from here until `remove`.
    const mounts = spec.preopens !== undefined ? resolvePreopens(this.volumes, spec.preopens, id) : resolveMounts(this.volumes, spec.mounts ?? [], id);
    const c: Container = {
      id,
      netns,
      name,
      created: new Date(),
      image,
      layers,
      compiled,
      argv,
      env,
      cwd,
      spec,
      memoryPages,
      ports,
      maxOpenFiles: spec.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES,
      logs: new LogRing(spec.logLimit ?? DEFAULT_LOG_LIMIT),
      status: 'created',
      exit: undefined,
      startedAt: undefined,
      finishedAt: undefined,
      runs: 0,
      memoryBytes: undefined,
      upper: spec.upper,
      mounts,
      preopens: spec.preopens?.map((p) => p.name),
      current: undefined,
      waiters: [],
    };
    this.containers.set(id, c);
    this.names.set(name, c);
    netns.members.add(c);
    this.netns.set(netns.key, netns);
    this.byAddress.set(netns.address, netns);
    return this.info(c);
  }

  /**
   * Starts a created or exited container (an exited one restarts with the files it had).
   * Resolves once the run is handed to its thread. Starting a running container does nothing.
   */
  async start(idOrName: string): Promise<void> {
    const c = this.get(idOrName);
    if (c.status === 'running') return;
    const run = newRun(++this.serial);
    c.current = run;
    c.status = 'running';
    c.exit = undefined;
    c.startedAt = new Date();
    c.finishedAt = undefined;
    c.runs++;
    c.logs.reopen();
    // Mounts first: Docker's populate rule, and the run's volume server (closed in `finish`).
    const mounts = RunMounts.open(c.mounts, c.layers);
    if (typeof mounts === 'string') {
      this.log(c, 'stderr', `skiff: ${mounts}\n`);
      this.finish(c, run, { exitCode: 126, reason: 'Error', message: mounts });
      return;
    }
    run.mounts = mounts;
    if ((c.ports.length > 0 || c.compiled.dials === true) && !(await this.openNetwork(c, run))) return;
    let thread: PooledThread;
    try {
      thread = await this.pool.acquire(c.compiled.key);
    } catch (e) {
      // No thread can start here (a broken install): not the guest's doing.
      this.finish(c, run, { exitCode: 126, reason: 'Error', message: (e as Error).message });
      throw e;
    }
    if (c.current !== run) {
      // Finished (killed) while waiting for a thread.
      this.pool.release(thread);
      return;
    }
    run.thread = thread;
    thread.listener = (message, handles) => this.onMessage(c, run, message, handles);
    thread.onDeath = (error) => this.finish(c, run, { exitCode: 134, reason: 'Error', message: `the container thread died: ${error.message}` });
    this.prepareThread(thread);
    // Its exec slots: reusable now that no exec of an earlier run may use them (their handles differ anyway).
    for (const [slot, ends] of thread.execSlots.entries()) {
      reopenChannel(ends.client);
      run.freeSlots.push(slot);
    }
    const handles = new Handles();
    const message = this.startMessage(c, run, thread, handles);
    thread.send(message, handles);
    void this.pump(thread, () => c.current === run, (e) => this.emit(c, e));
    if (c.spec.timeout !== undefined) run.timers.push(setTimeout(() => this.stop(c, run, 'DeadlineExceeded'), c.spec.timeout));
  }

  /** Resolves with how the container's current (or next) run ends; at once if it is exited. */
  wait(idOrName: string): Promise<ExitStatus> {
    const c = this.get(idOrName);
    if (c.status === 'exited' && c.exit !== undefined) return Promise.resolve(c.exit);
    return new Promise((resolve) => c.waiters.push(resolve));
  }

  /**
   * Stops a running container (137, `Killed`); resolves when it has exited. Returns false
   * (and does nothing) when it was not running.
   */
  async kill(idOrName: string): Promise<boolean> {
    const c = this.get(idOrName);
    const run = c.current;
    if (run === undefined) return false;
    const done = this.wait(c.id);
    this.stop(c, run, 'Killed');
    await done;
    // Its host ports are free and its connections closed when kill resolves.
    await run.network?.close();
    return true;
  }

  /** Kills the container if it is running, then starts it again with its files. */
  async restart(idOrName: string): Promise<void> {
    await this.kill(idOrName);
    await this.start(idOrName);
  }

  /**
   * Forgets a container. A running one is refused unless `force` (then killed first). Its
   * volumes are no longer in use by it; with `volumes`, its anonymous volumes are removed
   * too (`docker rm -v`).
   */
  async remove(idOrName: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.get(idOrName);
    if (c.current !== undefined) {
      if (!options.force) throw new SkiffError('CONFLICT', `container ${c.name} is running: kill it first, or remove it with force`);
      await this.kill(c.id);
    }
    this.containers.delete(c.id);
    this.names.delete(c.name);
    c.netns.members.delete(c);
    if (c.netns.members.size === 0) {
      this.netns.delete(c.netns.key);
      this.byAddress.delete(c.netns.address);
    }
    c.logs.close();
    releaseMounts(this.volumes, c.id, c.mounts, { anonymous: options.volumes === true });
  }

  // ---------------------------------------------------------------- network

  /**
   * A connection to the running container's `port` (in memory; no socket): its
   * `readable` is what the guest sends, its `writable` what it reads (closing it is a
   * half-close), `close()` ends both. Resolves once it is queued on the port's listening
   * socket (it waits while all of the container's connection slots are taken). Throws
   * `SkiffError('CONFLICT')` when the container is not running or refuses the connection,
   * `NotFoundError` when it does not listen on `port`. When the run ends, what the guest
   * wrote is still read, then the readable ends (EOF if the guest had closed its side, a
   * `ConnectionClosedError` if not); writes fail with `ConnectionClosedError`.
   */
  async connect(idOrName: string, port: number): Promise<VirtualConnection> {
    const c = this.get(idOrName);
    if (!c.ports.includes(port)) throw new NotFoundError(`container ${c.name} does not listen on port ${port} (its ports: ${c.ports.join(', ') || 'none'})`);
    const network = c.current?.network;
    if (network === undefined) throw new SkiffError('CONFLICT', `connection refused: container ${c.name} is not running`);
    const conn = await network.connect(port);
    if (conn === undefined) throw new SkiffError('CONFLICT', `connection refused: container ${c.name}, port ${port} (${c.current?.network === network ? 'too many connections waiting' : 'the container stopped'})`);
    return conn;
  }

  /**
   * `fetch` against the container's HTTP server, in memory (network.ts `fetchOver`):
   * `input` is a URL, whose port picks the container port (`http://web/` is port 80), or
   * a path (`/hits`), which goes to the container's first port. Rejects as `fetch` does
   * (a `TypeError` whose `cause` says why) when the container is not running or does not
   * answer HTTP.
   */
  fetch(idOrName: string, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let c: Container;
    try {
      c = this.get(idOrName);
    } catch (e) {
      return Promise.reject(new TypeError('fetch failed', { cause: e }));
    }
    return fetchOver((port) => this.connect(c.id, port), c.ports[0], input, init);
  }

  /**
   * CPU use of the container's current run, estimated: `busyMs` is the run's wall time
   * (`runningMs`) minus the time its thread spent blocked in WASI waits (clock sleeps,
   * socket waits, a full output ring; `idleMs`, counted by the thread: protocol.ts
   * `CONTROL_IDLE`). Time in a volume call counts as busy. Undefined when the container
   * is not running or the platform shares no memory with its threads.
   */
  usage(idOrName: string): { readonly runningMs: number; readonly idleMs: number; readonly busyMs: number } | undefined {
    const c = this.get(idOrName);
    const control = c.current?.thread?.control;
    if (c.status !== 'running' || control === undefined || c.startedAt === undefined) return undefined;
    const runningMs = Math.max(0, Date.now() - c.startedAt.getTime());
    const blocked = Atomics.load(control, CONTROL_BLOCKED);
    const idleMs = Math.min(runningMs, Atomics.load(control, CONTROL_IDLE) + (blocked === 0 ? 0 : msSinceStamp(blocked)));
    return { runningMs, idleMs, busyMs: runningMs - idleMs };
  }

  /** Open connections of the container's current run: virtual ones, and those forwarded from its host ports (for leak checks). */
  connections(idOrName: string): { readonly virtual: number; readonly forwarded: number } {
    return this.get(idOrName).current?.network?.connections ?? { virtual: 0, forwarded: 0 };
  }

  /**
   * The namespace a new container joins (not yet joined: `create` adds it once nothing
   * can fail). Throws CONFLICT when `address` is another namespace's, or differs from
   * the address of the namespace named.
   */
  private namespaceFor(network: ContainerSpec['network'], id: string): Netns {
    const key = network?.namespace ?? `container:${id}`;
    const existing = this.netns.get(key);
    const address = network?.address;
    if (address !== undefined && parseIPv4(address) === undefined) throw new SkiffError('CONFLICT', `network address ${JSON.stringify(address)}: give an IPv4 address`);
    if (address !== undefined && address.startsWith('127.')) throw new SkiffError('CONFLICT', `network address ${address}: 127.0.0.0/8 is each namespace's loopback`);
    if (existing !== undefined) {
      if (address !== undefined && address !== existing.address) throw new SkiffError('CONFLICT', `network namespace ${key} has the address ${existing.address}, not ${address}`);
      return existing;
    }
    if (address !== undefined) {
      const holder = this.byAddress.get(address);
      if (holder !== undefined) throw new SkiffError('CONFLICT', `network address ${address} is already namespace ${holder.key}'s`);
      return { key, address, members: new Set() };
    }
    for (;;) {
      const n = this.nextAddress++;
      const picked = `10.88.${(n >> 8) & 255}.${n & 255}`;
      if ((n & 255) !== 0 && (n & 255) !== 255 && !this.byAddress.has(picked)) return { key, address: picked, members: new Set() };
    }
  }

  /**
   * Where a connect of a container in `from` goes (net/host.ts `Dialer`): 127.0.0.0/8 and
   * the namespace's own address are its own namespace, another address is the namespace
   * holding it; there, the running container listening on `port`. An address no namespace
   * holds goes to the `dial` option. Undefined: refused.
   */
  private dialFrom(from: Netns): (address: number, port: number) => Promise<VirtualConnection | undefined> {
    return async (address, port) => {
      const dotted = formatIPv4(address);
      const ns = address >>> 24 === 127 ? from : this.byAddress.get(dotted);
      if (ns === undefined) return this.dialOut?.(dotted, port, from.key);
      for (const member of ns.members) {
        const network = member.current?.network;
        if (member.status === 'running' && network !== undefined && member.ports.includes(port)) return network.connect(port);
      }
      return undefined;
    };
  }

  /**
   * A name lookup of a container in `from` (net/host.ts `Resolver`): a container name of
   * this runtime gives its address (Docker's embedded DNS), anything else goes to the
   * `resolve` option. Names are case-insensitive.
   */
  private resolveFrom(from: Netns): (name: string) => Promise<readonly number[]> {
    return async (name) => {
      const local = this.names.get(name) ?? [...this.names.values()].find((c) => c.name.toLowerCase() === name.toLowerCase().replace(/\.$/, ''));
      const found = local !== undefined ? [local.netns.address] : ((await this.resolveOut?.(name, from.key)) ?? []);
      return found.map(parseIPv4).filter((a): a is number => a !== undefined);
    };
  }

  /** Opens the run's network before its thread starts; false if the run ended meanwhile. A host port that cannot be opened ends the run (128) and throws. */
  private async openNetwork(c: Container, run: Run): Promise<boolean> {
    let network: RunNetwork;
    try {
      network = await RunNetwork.open(this.platform, c.ports, c.spec.publish ?? [], c.ports.length === 0 ? DIAL_ONLY_LAYOUT : NET_LAYOUT);
    } catch (e) {
      const message = (e as Error).message;
      this.log(c, 'stderr', `skiff: ${message}\n`);
      this.finish(c, run, { exitCode: 128, reason: 'Error', message });
      throw e;
    }
    if (c.current !== run) {
      void network.close();
      return false;
    }
    if (c.compiled.dials === true) network.host.enableDial(this.dialFrom(c.netns), this.resolveFrom(c.netns));
    run.network = network;
    return true;
  }

  private portInfo(c: Container): PortInfo[] {
    const bound = c.current?.network?.bindings();
    return c.ports.map((containerPort, i) => ({
      containerPort,
      protocol: 'tcp' as const,
      fd: FIRST_LISTEN_FD + i,
      published: (bound ?? (c.spec.publish ?? []).map((p) => ({ containerPort: p.containerPort, hostAddress: p.hostAddress ?? '127.0.0.1', hostPort: p.hostPort ?? 0 })))
        .filter((b) => b.containerPort === containerPort)
        .map((b) => ({ hostAddress: b.hostAddress, hostPort: b.hostPort })),
    }));
  }

  // ---------------------------------------------------------------- reading

  inspect(idOrName: string): ContainerInfo {
    return this.info(this.get(idOrName));
  }

  /** Every container, newest first; running ones only unless `all`. */
  list(options: { all?: boolean } = {}): ContainerInfo[] {
    return [...this.containers.values()]
      .filter((c) => options.all || c.status === 'running')
      .reverse()
      .map((c) => this.info(c));
  }

  /** The logs kept (`LogRing`): `list()`, `text(stream)`, `follow()` (streams while running). */
  logs(idOrName: string): LogRing {
    return this.get(idOrName).logs;
  }

  /**
   * The container's file changes after its last finished run, as a changeset (an OCI
   * layer tar with whiteouts, what `diff` and `commit` read); undefined when it has none
   * (or was created with `keepFiles: false`). Give it back as `ContainerSpec.upper` to
   * restart the container elsewhere with its files.
   */
  upper(idOrName: string): Uint8Array | undefined {
    return this.get(idOrName).upper;
  }

  /** The container's file changes as `docker diff` lists them (those of its last finished run). */
  diff(idOrName: string): Change[] {
    const c = this.get(idOrName);
    return c.upper === undefined ? [] : listChanges(c.layers, c.upper);
  }

  /** The container's files as of its last finished run, as a new image in the store (`docker commit`). */
  async commit(idOrName: string, options: CommitOptions = {}): Promise<Image> {
    const c = this.get(idOrName);
    const store = c.spec.store ?? this.store;
    if (store === undefined) throw new SkiffError('CONFLICT', 'commit needs an image store: pass `store` to the Runtime or in the spec');
    if (c.image === undefined) throw new SkiffError('CONFLICT', `container ${c.name} runs a bare module, not an image: there is no image to commit onto`);
    const overlay = new Overlay(c.layers);
    if (c.upper !== undefined) {
      const r = applyChangeset(overlay, c.upper);
      if (r instanceof Errno) throw new SkiffError('CONFLICT', `container ${c.name}: its changes do not apply onto its image (${r.code})`);
    }
    return commitImage(store, overlay, c.image, options);
  }

  // ---------------------------------------------------------------- runs

  private startMessage(c: Container, run: Run, t: PooledThread, h: Handles): StartMessage {
    const moduleHandle = t.need('module', c.compiled.key) ? h.add(c.compiled.module) : undefined;
    const layers = c.layers.map((l) => {
      const wire = this.wireOf(l);
      if (!t.need('layer', wire.key)) return { key: wire.key };
      wire.encoded ??= encodeLayerIndex(l);
      return { key: wire.key, meta: h.add(wire.encoded.meta), bytes: h.add(wire.encoded.bytes) };
    });
    const evict = t.evictions();
    return {
      v: PROTOCOL_VERSION,
      type: 'start',
      run: run.serial,
      container: c.id,
      module: { key: c.compiled.key, ...(moduleHandle !== undefined ? { handle: moduleHandle } : {}) },
      ...(c.compiled.memory !== undefined ? { memory: c.compiled.memory } : {}),
      argv: c.argv,
      env: c.env,
      cwd: c.cwd,
      layers,
      ...(c.upper !== undefined ? { upper: h.add(c.upper) } : {}),
      mounts: run.mounts?.wires(h) ?? [],
      ...(c.preopens !== undefined ? { preopens: c.preopens } : {}),
      ...(run.network !== undefined ? { net: run.network.wire(h) } : {}),
      limits: { ...(c.memoryPages !== undefined ? { memoryPages: c.memoryPages } : {}), maxOpenFiles: c.maxOpenFiles },
      ...(c.spec.stdin !== undefined ? { stdin: h.add(c.spec.stdin) } : {}),
      keepUpper: c.spec.keepFiles ?? true,
      ...(evict !== undefined ? { evict } : {}),
    };
  }

  private onMessage(c: Container, run: Run, message: FromThread, handles: readonly unknown[]): void {
    if (c.current !== run) return;
    switch (message.type) {
      case 'running':
        run.serve(message.exec);
        return;
      case 'output':
        this.output(message.output, handles, (e) => this.emit(c, e));
        return;
      case 'exited': {
        if (message.upper !== undefined) {
          const upper = handle<Uint8Array | ArrayBuffer>(handles, message.upper);
          c.upper = upper instanceof Uint8Array ? upper : new Uint8Array(upper);
        }
        else if (c.spec.keepFiles ?? true) c.upper = undefined;
        c.memoryBytes = message.memoryBytes;
        const thread = run.thread;
        this.finish(c, run, { exitCode: message.code, reason: message.reason, ...(message.message !== undefined ? { message: message.message } : {}) });
        if (thread !== undefined) this.pool.release(thread);
        return;
      }
      case 'error': {
        const thread = run.thread;
        if (thread !== undefined) this.drain(thread, (e) => this.emit(c, e));
        this.log(c, 'stderr', `skiff: the container thread failed: ${message.message}\n`);
        this.finish(c, run, { exitCode: 126, reason: 'Error', message: message.message });
        if (thread !== undefined) void this.pool.discard(thread);
        return;
      }
      case 'ready':
        return;
    }
  }

  // ---------------------------------------------------------------- output

  /** A thread's output ring is empty, its control words clear: ready for a run. */
  private prepareThread(t: PooledThread): void {
    t.output?.reset();
    if (t.control !== undefined) Atomics.store(t.control, CONTROL_STOP, STOP_NONE);
  }

  /**
   * Drains `t`'s output ring into `sink` as it is written, while `active()` (output.ts).
   * The last drain of a run is `finish`'s (or `finishExec`'s), which also wakes this.
   */
  private async pump(t: PooledThread, active: () => boolean, sink: (entry: LogEntry) => void): Promise<void> {
    const ring = t.output;
    if (ring === undefined) return;
    while (active()) {
      this.drain(t, sink);
      await ring.whenWritten();
    }
  }

  /**
   * Whatever `t` wrote, in order: output to `sink`, message records (protocol.ts) to its
   * listener; wakes `t` if it waits for room in its ring. Reentrant: a message may end
   * the run, whose `finish` drains again.
   */
  private drain(t: PooledThread, sink: (entry: LogEntry) => void): void {
    const ring = t.output;
    if (ring === undefined) return;
    const entries = ring.drain();
    if (ring.drained() && t.control !== undefined) wake(t.control, CONTROL_WAKE);
    for (const entry of entries) {
      if (entry.stream !== 'message') {
        sink(entry);
        continue;
      }
      let message: FromThread;
      try {
        message = decode<FromThread>(entry.bytes);
      } catch (e) {
        message = { v: PROTOCOL_VERSION, type: 'error', message: `an unreadable message from the container thread: ${(e as Error).message}` };
      }
      t.listener?.(message, []);
    }
  }

  /** Output of a thread without a ring (no SharedArrayBuffer), from an `output` message. */
  private output(batch: OutputBatch, handles: readonly unknown[], sink: (entry: LogEntry) => void): void {
    const data = new Uint8Array(handle<ArrayBuffer>(handles, batch.data));
    const r = batch.records;
    let at = 0;
    for (let i = 0; i + 2 < r.length; i += 3) {
      const length = r[i + 2] as number;
      sink({ stream: r[i] === 2 ? 'stderr' : 'stdout', time: r[i + 1] as number, bytes: data.subarray(at, at + length) });
      at += length;
    }
  }

  private emit(c: Container, entry: LogEntry): void {
    c.logs.append(entry);
    c.spec.onLog?.(entry);
  }

  private log(c: Container, stream: 'stdout' | 'stderr', text: string): void {
    this.emit(c, { stream, time: performance.timeOrigin + performance.now(), bytes: new TextEncoder().encode(text) });
  }

  // ---------------------------------------------------------------- stopping

  /** Asks the run to stop; terminates its thread if it has not exited after the grace period. */
  private stop(c: Container, run: Run, reason: StopReason): void {
    if (c.current !== run) return;
    run.stop ??= reason;
    const t = run.thread;
    if (t === undefined) {
      // Still waiting for a thread: end it now.
      this.finish(c, run, { exitCode: 137, reason: run.stop });
      return;
    }
    this.requestStop(t, run.serial, run.stop);
    // A guest blocked in accept, recv or poll sleeps on the arena's WAKE word, not on the control word.
    run.network?.wakeGuest();
    run.timers.push(
      setTimeout(
        () => {
          if (c.current !== run) return;
          void this.pool.discard(t);
          this.finish(c, run, { exitCode: 137, reason: run.stop ?? reason });
        },
        t.control !== undefined ? this.stopGraceMs : 0,
      ),
    );
  }

  /** Writes a stop request into `t`'s control words and wakes it; without them (no shared memory), says it by message. */
  private requestStop(t: PooledThread, serial: number, reason: StopReason): void {
    if (t.control !== undefined) {
      Atomics.store(t.control, CONTROL_STOP, stopCode(reason));
      wake(t.control, CONTROL_WAKE);
      return;
    }
    post(t.thread, { v: PROTOCOL_VERSION, type: 'stop', run: serial, reason });
  }

  private finish(c: Container, run: Run, status: ExitStatus): void {
    if (c.current !== run) return;
    for (const timer of run.timers) clearTimeout(timer);
    void run.network?.close();
    void run.mounts?.close();
    const t = run.thread;
    if (t !== undefined) {
      // The last of its output, whether it exited or was terminated.
      this.drain(t, (e) => this.emit(c, e));
      t.output?.wakeReader();
      // Its execs lose the container's files at once (their calls fail with EIO), and are killed.
      for (const ends of t.execSlots) closeChannel(ends.client);
    }
    for (const ex of run.execs) this.stopExec(ex, 'Killed');
    for (const w of run.slotWaiters.splice(0)) w(undefined);
    run.serve(undefined);
    c.current = undefined;
    c.status = 'exited';
    c.exit = status;
    c.finishedAt = new Date();
    c.logs.close();
    for (const w of c.waiters.splice(0)) w(status);
  }

  // ---------------------------------------------------------------- exec

  /**
   * Runs `options.cmd` in the running container's files, in a thread of its own (see the
   * module comment); resolves when it exits, with its exit status and output. Throws
   * `SkiffError('CONFLICT')` when the container is not running (or stops before the
   * program starts), or has no root (preopens only); `UNSUPPORTED` without
   * SharedArrayBuffer. How the program ended is a value, as for a run.
   */
  async exec(idOrName: string, options: ExecOptions): Promise<ExecResult> {
    const c = this.get(idOrName);
    if (options.cmd.length === 0) throw new SkiffError('CONFLICT', 'exec needs a command: give cmd, e.g. ["tool.wasm", "arg"]');
    const notRunning = (): SkiffError => new SkiffError('CONFLICT', `container ${c.name} is not running: exec runs a program in a running container (start it first)`);
    const run = c.current;
    if (run === undefined) throw notRunning();
    if (c.preopens !== undefined) throw new SkiffError('CONFLICT', `container ${c.name} has only preopened directories (a bare module's --dir) and no root filesystem to exec in`);
    if (!this.platform.threads.sharedMemory) {
      throw new SkiffError('UNSUPPORTED', `exec needs SharedArrayBuffer, which the ${this.platform.name} platform lacks here (in a browser: serve the page cross-origin isolated, with COOP and COEP)`);
    }
    let cwd = options.workingDir ?? c.cwd;
    if (!cwd.startsWith('/')) cwd = `/${cwd}`;
    const env = mergeEnv(c.env, options.env);
    if (options.workingDir !== undefined) {
      const at = env.findIndex((e) => e.startsWith('PWD='));
      if (at >= 0) env[at] = `PWD=${cwd}`;
      else env.push(`PWD=${cwd}`);
    }
    const served = await this.served(c, run);
    if (served === undefined || c.current !== run) throw notRunning();
    const slot = await this.leaseSlot(run);
    if (slot === undefined) throw notRunning();
    let thread: PooledThread;
    try {
      thread = await this.pool.acquire();
    } catch (e) {
      this.returnSlot(c, run, slot);
      throw e;
    }
    const host = run.thread;
    const mounts = served[slot];
    if (c.current !== run || host?.control === undefined || mounts === undefined) {
      this.pool.release(thread);
      throw notRunning();
    }
    let resolve!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolve = r));
    const ex: ExecRun = { serial: ++this.serial, slot, thread, stop: undefined, timers: [], logs: new LogRing(c.logs.limit), onLog: options.onLog, done: false, resolve };
    run.execs.add(ex);
    thread.listener = (message, handles) => this.onExecMessage(c, run, ex, message, handles);
    thread.onDeath = (error) => this.finishExec(c, run, ex, { exitCode: 134, reason: 'Error', message: `the exec thread died: ${error.message}` }, 'dead');
    this.prepareThread(thread);

    // The container's thread sleeps on its WAKE word, or on its network arena's in socket calls: ring both.
    const bells = [new Int32Array(host.control.buffer, CONTROL_WAKE * 4, 1)];
    if (run.network !== undefined) bells.push(new Int32Array(run.network.arena.buffer, CTRL_WAKE * 4, 1));
    const channel: ChannelEnd = { ...(host.execSlots[slot] as { client: ChannelEnd }).client, timeoutMs: this.execCallTimeoutMs, bells };
    const connection: VolumeConnection = { v: VOLUME_PROTOCOL_VERSION, channel, mounts };
    const handles = new Handles();
    thread.send(
      {
        v: PROTOCOL_VERSION,
        type: 'exec',
        run: ex.serial,
        container: c.id,
        argv: options.cmd,
        env,
        cwd,
        connection: handles.add(connection),
        limits: { ...(c.memoryPages !== undefined ? { memoryPages: c.memoryPages } : {}), maxOpenFiles: c.maxOpenFiles },
        ...(options.stdin !== undefined ? { stdin: handles.add(options.stdin) } : {}),
      },
      handles,
    );
    void this.pump(thread, () => !ex.done, (e) => this.emitExec(ex, e));
    const status = await exited;
    return { ...status, stdout: ex.logs.text('stdout'), stderr: ex.logs.text('stderr') };
  }

  /**
   * What the run's exec slots serve, from its thread's `running` message (undefined if
   * the run ends first). That message rings no doorbell (a start does not wake the
   * runtime for it): it is read with the run's next output or exit, or here, where the
   * ring is drained every millisecond until it has come.
   */
  private async served(c: Container, run: Run): Promise<readonly (readonly RemoteMount[])[] | undefined> {
    let done = false;
    void run.served.then(() => (done = true));
    while (!done && c.current === run) {
      if (run.thread !== undefined) this.drain(run.thread, (e) => this.emit(c, e));
      await Promise.race([run.served, new Promise((resolve) => setTimeout(resolve, 1))]);
    }
    return run.served;
  }

  private onExecMessage(c: Container, run: Run, ex: ExecRun, message: FromThread, handles: readonly unknown[]): void {
    if (ex.done) return;
    switch (message.type) {
      case 'output':
        this.output(message.output, handles, (e) => this.emitExec(ex, e));
        return;
      case 'exited':
        this.finishExec(c, run, ex, { exitCode: message.code, reason: message.reason, ...(message.message !== undefined ? { message: message.message } : {}) }, 'release');
        return;
      case 'error':
        this.finishExec(c, run, ex, { exitCode: 126, reason: 'Error', message: message.message }, 'discard');
        return;
      case 'running':
      case 'ready':
        return;
    }
  }

  private emitExec(ex: ExecRun, entry: LogEntry): void {
    ex.logs.append(entry);
    ex.onLog?.(entry);
  }

  /** Asks an exec to stop (the container's run ended); terminates its thread after the grace period. */
  private stopExec(ex: ExecRun, reason: StopReason): void {
    if (ex.done || ex.stop !== undefined) return;
    ex.stop = reason;
    const t = ex.thread;
    if (t === undefined) return;
    this.requestStop(t, ex.serial, reason);
    ex.timers.push(setTimeout(() => this.finishExec(undefined, undefined, ex, { exitCode: 137, reason }, 'discard'), t.control !== undefined ? this.stopGraceMs : 0));
  }

  /**
   * The exec is over: its last output drained, its thread given back (`release`) or
   * terminated (`discard`; `dead`: it died), its slot freed for the next exec of the same
   * run — once no thread can use it any more.
   */
  private finishExec(c: Container | undefined, run: Run | undefined, ex: ExecRun, status: ExitStatus, thread: 'release' | 'discard' | 'dead'): void {
    if (ex.done) return;
    for (const timer of ex.timers) clearTimeout(timer);
    const t = ex.thread;
    if (t !== undefined) {
      this.drain(t, (e) => this.emitExec(ex, e));
      t.output?.wakeReader();
    }
    ex.done = true;
    ex.logs.close();
    const owner = c ?? [...this.containers.values()].find((x) => x.current?.execs.has(ex));
    const ownerRun = run ?? owner?.current;
    ownerRun?.execs.delete(ex);
    if (t !== undefined && thread === 'release') {
      this.pool.release(t);
      if (owner !== undefined && ownerRun !== undefined) this.returnSlot(owner, ownerRun, ex.slot);
    } else if (t !== undefined && thread === 'discard') {
      void this.pool.discard(t).then(() => owner !== undefined && ownerRun !== undefined && this.returnSlot(owner, ownerRun, ex.slot));
    }
    ex.resolve(status);
  }

  /** A free exec slot of the run's thread (waits for one); undefined if the run ends first. */
  private leaseSlot(run: Run): Promise<number | undefined> {
    const free = run.freeSlots.pop();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise((resolve) => run.slotWaiters.push(resolve));
  }

  /** Gives an exec slot back, reopened, to the next exec of the same run (nothing once the run ended). */
  private returnSlot(c: Container, run: Run, slot: number): void {
    if (c.current !== run) return;
    const ends = run.thread?.execSlots[slot];
    if (ends === undefined) return;
    reopenChannel(ends.client);
    const waiter = run.slotWaiters.shift();
    if (waiter !== undefined) waiter(slot);
    else run.freeSlots.push(slot);
  }

  // ---------------------------------------------------------------- modules

  /** A compiled module for `source` under `memoryPages`, compiled once per (module, limit). */
  private compile(source: Uint8Array | WebAssembly.Module, memoryPages: number | undefined): Promise<Compiled> {
    if (source instanceof WebAssembly.Module) {
      let key = this.moduleKeys.get(source);
      if (key === undefined) this.moduleKeys.set(source, (key = `module-${++this.anonymous}`));
      return this.cached(`${key}/${memoryPages ?? '-'}`, async (k) => {
        if (memoryPages !== undefined) {
          throw new ModuleError('memory', 'a memory limit needs the module as bytes (its declared maximum is rewritten before compiling): pass the .wasm bytes, not a WebAssembly.Module');
        }
        const imports = WebAssembly.Module.imports(source) as ModuleImport[];
        if (imports.some((i) => i.kind === 'memory')) throw new ModuleError('import', 'a module that imports its memory must be given as bytes (its memory limits are read from them)');
        checkImports(imports);
        return { key: k, module: source, memory: undefined };
      });
    }
    let digest = this.byteKeys.get(source);
    if (digest === undefined) this.byteKeys.set(source, (digest = digestOf(source)));
    return this.cached(`${digest}/${memoryPages ?? '-'}`, (k) => compileBytes(k, source, memoryPages, this.platform));
  }

  private compileFromImage(image: Image, layers: readonly LayerIndex[], command: string, cwd: string, env: readonly string[], memoryPages: number | undefined): Promise<Compiled> {
    const overlay = new Overlay(layers);
    const path = findCommand(overlay, command, cwd, env);
    if (path === undefined) throw new SkiffError('NOT_FOUND', `image ${describe(image)}: ${JSON.stringify(command)} is not a file in the image (Entrypoint/Cmd names the module to run)`);
    return this.cached(`${image.descriptor.digest}:${path}/${memoryPages ?? '-'}`, (k) => {
      const node = overlay.resolve(overlay.root, path, true) as FileNode;
      // A copy: compile wants an ArrayBuffer, and the layer bytes are shared.
      const bytes = new Uint8Array(overlay.contentOf(node));
      return compileBytes(k, bytes, memoryPages, this.platform);
    });
  }

  /** The compiled module for `key`, made once; the last COMPILED_CACHE used are kept (containers keep their own). */
  private cached(key: string, make: (key: string) => Promise<Compiled>): Promise<Compiled> {
    let p = this.compiled.get(key);
    if (p !== undefined) {
      this.compiled.delete(key);
      this.compiled.set(key, p);
      return p;
    }
    p = make(key);
    this.compiled.set(key, p);
    p.catch(() => this.compiled.delete(key));
    for (const old of this.compiled.keys()) {
      if (this.compiled.size <= COMPILED_CACHE) break;
      this.compiled.delete(old);
    }
    return p;
  }

  private wireOf(l: LayerIndex): { key: string; encoded?: EncodedLayer } {
    let w = this.layerWire.get(l);
    if (w === undefined) {
      w = { key: l.name.startsWith('sha256:') ? l.name : `layer-${++this.anonymous}` };
      this.layerWire.set(l, w);
    }
    return w;
  }

  // ---------------------------------------------------------------- records

  private get(idOrName: string): Container {
    const c = this.containers.get(idOrName) ?? this.names.get(idOrName);
    if (c !== undefined) return c;
    if (/^[0-9a-f]{1,63}$/.test(idOrName)) {
      const matches = [...this.containers.values()].filter((x) => x.id.startsWith(idOrName));
      if (matches.length === 1) return matches[0] as Container;
      if (matches.length > 1) throw new SkiffError('CONFLICT', `container id prefix ${idOrName} is ambiguous (${matches.length} containers): give more digits`);
    }
    throw new NotFoundError(`no such container: ${idOrName}`);
  }

  private info(c: Container): ContainerInfo {
    const state: ContainerState = {
      status: c.status,
      ...(c.exit !== undefined ? { exitCode: c.exit.exitCode, reason: c.exit.reason, ...(c.exit.message !== undefined ? { message: c.exit.message } : {}) } : {}),
      oomKilled: c.exit?.reason === 'OOMKilled',
      ...(c.startedAt !== undefined ? { startedAt: c.startedAt.toISOString() } : {}),
      ...(c.finishedAt !== undefined ? { finishedAt: c.finishedAt.toISOString() } : {}),
      restartCount: Math.max(0, c.runs - 1),
      ...(c.memoryBytes !== undefined ? { memoryBytes: c.memoryBytes } : {}),
    };
    return {
      id: c.id,
      name: c.name,
      image: c.image === undefined ? undefined : describe(c.image),
      created: c.created.toISOString(),
      argv: c.argv,
      env: c.env,
      workingDir: c.cwd,
      mounts: c.mounts.map((m) => m.source ?? m.path),
      ports: this.portInfo(c),
      network: { namespace: c.netns.key, address: c.netns.address },
      limits: {
        ...(c.spec.memory !== undefined ? { memory: c.spec.memory } : {}),
        ...(c.spec.timeout !== undefined ? { timeout: c.spec.timeout } : {}),
        maxOpenFiles: c.maxOpenFiles,
        logLimit: c.logs.limit,
      },
      state,
      logs: { bytes: c.logs.size, dropped: c.logs.dropped },
    };
  }

  private generateName(): string {
    for (;;) {
      const name = `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
      if (!this.names.has(name)) return name;
      const numbered = `${name}_${randomHex(2)}`;
      if (!this.names.has(numbered)) return numbered;
    }
  }
}

async function resolveImage(store: ImageStore, image: Image | string): Promise<Image> {
  if (typeof image !== 'string') return image;
  const found = await store.get(image);
  if (found === undefined) throw new NotFoundError(`image ${JSON.stringify(image)} is not in the store (load or pull it first)`);
  return found;
}

async function compileBytes(key: string, bytes: Uint8Array, memoryPages: number | undefined, platform: Platform): Promise<Compiled> {
  if (isComponent(bytes)) return compileComponent(key, bytes, memoryPages, platform);
  const prepared = prepareModule(bytes, memoryPages);
  const module = await WebAssembly.compile(prepared.bytes as Uint8Array<ArrayBuffer>);
  return { key, module, memory: prepared.memory };
}

/**
 * A component, transpiled by the platform (component.ts) and its core modules compiled,
 * the memory limit applied to each memory they define. Throws `ModuleError` for an
 * invalid component, `SkiffError('UNSUPPORTED')` where the platform has no transpiler.
 */
async function compileComponent(key: string, bytes: Uint8Array, memoryPages: number | undefined, platform: Platform): Promise<Compiled> {
  if (platform.transpileComponent === undefined) {
    throw new SkiffError('UNSUPPORTED', `the module is a WebAssembly component (WASI 0.2), and the ${platform.name} platform has no component transpiler: run it under Node`);
  }
  let t: TranspiledComponent;
  try {
    t = await platform.transpileComponent(bytes);
  } catch (e) {
    // A SkiffError is the platform's own refusal (no transpiler installed); anything else is the component.
    if (e instanceof SkiffError) throw e;
    throw new ModuleError('malformed', `not a valid component: ${e instanceof Error ? e.message : String(e)}`);
  }
  checkComponentImports(t.imports);
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [name, core] of Object.entries(t.modules)) modules[name] = await WebAssembly.compile(capDefinedMemories(core, memoryPages) as Uint8Array<ArrayBuffer>);
  const code: ComponentCode = { kind: 'component', body: functionBody(t.source), modules, imports: t.imports };
  return { key, module: code, memory: undefined, dials: t.imports.includes('wasi:sockets/tcp') };
}

/** The image's `KEY=VALUE` list with `over` applied (same key: replaced in place; new keys appended). */
function mergeEnv(base: readonly string[], over: ContainerSpec['env']): string[] {
  const out = [...base];
  const entries = over === undefined ? [] : Array.isArray(over) ? (over as readonly string[]) : Object.entries(over as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of entries) {
    const key = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
    const at = out.findIndex((x) => x === key || x.startsWith(`${key}=`));
    if (at >= 0) out[at] = e;
    else out.push(e);
  }
  return out;
}

/**
 * The path of the module `command` names in the image's root: a path with a `/` is
 * resolved from `cwd` (absolute from the root); a bare name is looked up in the
 * container's PATH (default Docker's), then in `cwd`.
 */
function findCommand(overlay: Overlay, command: string, cwd: string, env: readonly string[]): string | undefined {
  const isFile = (p: string): boolean => overlay.resolve(overlay.root, p, true) instanceof FileNode;
  const join = (dir: string, name: string): string => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);
  if (command.includes('/')) {
    const p = command.startsWith('/') ? command : join(cwd, command);
    return isFile(p) ? p : undefined;
  }
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of [...pathVar.split(':').filter((d) => d.startsWith('/')), cwd]) {
    const p = join(dir, command);
    if (isFile(p)) return p;
  }
  return undefined;
}

function describe(image: Image): string {
  return image.ref ?? image.descriptor.digest;
}

// Random bytes are drawn 4 KiB at a time: one getRandomValues call costs ~10 µs in Node.
let randomPool = new Uint8Array(0);
let randomAt = 0;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomHex(bytes: number): string {
  if (randomAt + bytes > randomPool.length) {
    randomPool = crypto.getRandomValues(new Uint8Array(4096));
    randomAt = 0;
  }
  let s = '';
  for (let i = 0; i < bytes; i++) s += HEX[randomPool[randomAt++] as number] as string;
  return s;
}

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)] as T;
}

const ADJECTIVES = ['agile', 'bold', 'brave', 'calm', 'clever', 'eager', 'fair', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nimble', 'proud', 'quiet', 'rapid', 'sharp', 'steady', 'swift', 'tidy', 'vivid', 'wise', 'zesty'];
const NOUNS = ['albatross', 'barge', 'canoe', 'cutter', 'dinghy', 'dory', 'ferry', 'galley', 'junk', 'kayak', 'ketch', 'launch', 'lugger', 'punt', 'raft', 'schooner', 'sloop', 'smack', 'tender', 'trawler', 'whaler', 'yawl'];
