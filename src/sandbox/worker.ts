/**
 * The container thread: the thread module (platform/threads.ts) that runs one program at
 * a time — a container's run, or a program exec'd in a running container — for as many
 * runs as the pool gives it.
 *
 * A container run (`start` message, see protocol.ts):
 *   1. the module and the layer indexes come from this thread's caches, or from the
 *      message (then cached by key); the root is `new Overlay(layers)`, plus the upper
 *      of a previous run (`applyChangeset`); the working directory is made if missing;
 *      the namespace is the root plus the mounts (mounts.ts: mount points made in it,
 *      tmpfs made here, volumes and binds reached over the run's volume channel, which
 *      is closed when the run exits) — or, with `preopens`, only the preopened
 *      directories (wasmtime's `--dir`, no root);
 *   2. the namespace is served on each exec slot (a polled `VolumeServer` per slot over
 *      the root and every mount), and the thread says `running`;
 *   3. the guest runs synchronously under `Preview1`, with its listening sockets (the
 *      start message's `net`, network.ts) at fd 3 onward and `/` preopened after them.
 *      Each `fd_write` to stdout or stderr goes straight into the thread's output ring
 *      (output.ts); a full ring blocks the guest until the runtime drains it. At every
 *      WASI call the control words are checked: a stop request unwinds the guest with a
 *      `StopSignal`, and exec requests are answered (`serveExec`) when the WAKE word
 *      moved since the last look. A guest asleep (a clock, a full ring) sleeps on the
 *      WAKE word; in socket calls it sleeps on the network arena's WAKE word. Exec
 *      clients bump both, so a sleeping guest wakes to answer them;
 *   4. the outcome becomes an `exited` message: the exit code, the reason (Completed /
 *      Error / OOMKilled / Killed / DeadlineExceeded), and the upper layer as a changeset
 *      tar when asked for. The exec servers are closed first (exec'd programs then see
 *      EIO), then the volume connection.
 * A guest that makes no WASI call cannot see a stop request: the runtime terminates the
 * thread instead (and replaces it). What it wrote is in the output ring, which the
 * runtime drains; its file changes are lost. Nor does such a guest answer exec requests:
 * an exec'd program's file calls then fail with EIO after the exec call timeout.
 *
 * An exec run (`exec` message): the program's namespace is the container's, reached
 * over one exec slot (`RemoteFs`: mount 0 is the root, the others its mounts). argv[0]
 * is looked up in the container's PATH (then from the working dir), read through the
 * slot, checked and compiled here (module.ts; the container's memory limit applies), and
 * run like a container's guest, without sockets. 127 when the command is not found,
 * 126 when it cannot be run.
 *
 * What the guest sees of the working directory: wasi-libc keeps its own cwd, which starts
 * at `/` whatever the environment says, and resolves relative paths from it; WASI has no
 * way to start a guest elsewhere. So the image's WorkingDir is created and passed as
 * `PWD` (which shells and programs that honour it use), but `getcwd()` in a C or Rust
 * guest returns `/` until the guest calls `chdir`.
 */
import { applyChangeset, diffEntries, pack } from '../layers/changeset.js';
import { Errno } from '../layers/errno.js';
import type { LayerIndex } from '../layers/layer-index.js';
import { decodeLayerIndex } from '../layers/layer-transfer.js';
import { DirNode, Overlay } from '../layers/overlay.js';
import { sharedBuffer } from '../layers/shared-memory.js';
import { nextTask } from '../platform/tasks.js';
import type { ThreadHooks, ThreadPort } from '../platform/threads.js';
import { closeChannel, type ChannelEnd } from './channel.js';
import { ModuleError, checkImports, prepareModule, type ModuleImport } from './module.js';
import { mountNamespace, preopenNamespace, type Namespace } from './mounts.js';
import { Mailbox, type Letter } from './mailbox.js';
import { guestNet, guestNetwork } from './network.js';
import { instantiator, isComponent, type ComponentCode, type Instantiate } from './component.js';
import { OutputRing } from './output.js';
import { OverlayFs } from './overlay-fs.js';
import { SpareInstance } from './spare.js';
import { Arena, SLOT_IN_USE } from './net/arena.js';
import { RING_END } from './net/ring.js';
import { REHEARSAL_ENV, REHEARSAL_KEY, REHEARSAL_PORT, REHEARSAL_REQUEST } from './rehearsal.js';
import {
  CONTROL_IDLE,
  CONTROL_BLOCKED,
  CONTROL_LENGTH,
  blockedStamp,
  CONTROL_STOP,
  CONTROL_WAKE,
  Handles,
  PROTOCOL_VERSION,
  STOP_NONE,
  execHandleBase,
  handle,
  post,
  receive,
  stopReason,
  type ExecMessage,
  type ExitReason,
  type ExitedMessage,
  type FromThread,
  type ImportedMemory,
  type Limits,
  type NetWire,
  type StartMessage,
  type StopReason,
  type ToThread,
} from './protocol.js';
import { RemoteFs, VolumeServer, type VolumeConnection } from './remote-fs.js';
import { Vfs, type MountFs } from './vfs.js';
import { encodeMessage } from './wire.js';
import type { Preopen, WasiClock } from './wasi/options.js';
import { Preview1 } from './wasi/preview1.js';
import { Preview2 } from './wasi/preview2.js';
import { filesystem } from './wasi/preview2-fs.js';

const PAGE = 65536;
/**
 * No spare instance (spare.ts) of a module whose memory at instantiation exceeds this: an
 * idle thread would hold it, and its data segments cost instantiation time that a run
 * of another module would waste (flite.wasm, examples/apps/say, starts at 16 MiB).
 */
const MAX_SPARE_MEMORY = 8 * 1024 * 1024;
/** Longest sleep on the WAKE word before looking again (a missed wake-up costs at most this). */
const MAX_SLEEP_MS = 50;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Unwinds the guest when the runtime asked the run to stop. */
class StopSignal {
  constructor(readonly reason: StopReason) {}
}

/** What jco's `run` throws when the export returned `err`: the err's payload, which for `result` (no types) is undefined. */
function isErrResult(e: unknown): boolean {
  return e === undefined;
}

export function main(port: ThreadPort, hooks: ThreadHooks = {}): void {
  const thread = new ContainerThread(port, hooks);
  port.onMessage((raw) => thread.receive(raw));
  post(port, { v: PROTOCOL_VERSION, type: 'ready' });
}

const now = (): number => performance.timeOrigin + performance.now();
const encoder = new TextEncoder();

interface Outcome {
  code: number;
  reason: ExitReason;
  message?: string;
}

/** What runs: a compiled module and how to instantiate it. */
interface Program {
  /** A core module, or a transpiled component (component.ts). */
  readonly module: WebAssembly.Module | ComponentCode;
  readonly memory: ImportedMemory | undefined;
  /** The module's cache key (container runs): a spare instance of it may be used and made. */
  readonly key?: string;
}

/** Everything `runGuest` needs besides the program. */
interface GuestSetup {
  readonly argv: readonly string[];
  /** The working directory (a component's `initial-cwd`). */
  readonly cwd?: string;
  readonly env: readonly string[];
  readonly vfs: Vfs;
  readonly preopens: readonly Preopen[];
  readonly stdin: Uint8Array | undefined;
  readonly net: NetWire | undefined;
  readonly limits: Limits;
}

class ContainerThread {
  private readonly modules = new Map<string, WebAssembly.Module | ComponentCode>();
  /** Components' instantiating functions, evaluated once per component. */
  private readonly instantiators = new WeakMap<ComponentCode, Instantiate>();
  private readonly layers = new Map<string, LayerIndex>();
  private control: Int32Array | undefined;
  private output: OutputRing | undefined;
  private execSlots: readonly ChannelEnd[] = [];
  /** The current container run's exec servers, one per slot. */
  private execServers: VolumeServer[] = [];
  /** The WAKE word's value when exec requests were last looked for. */
  private lastWake = 0;
  private current: { run: number; stop: StopReason | undefined } | undefined;
  private readonly clock: WasiClock;

  constructor(
    private port: ThreadPort,
    private readonly hooks: ThreadHooks,
  ) {
    const fallback = new Int32Array(new SharedArrayBuffer(8));
    this.clock = {
      realtime: () => BigInt(Math.round(now() * 1e6)),
      monotonic: () => BigInt(Math.round(performance.now() * 1e6)),
      // Sleeps on the WAKE word: a stop request or an exec request wakes a sleeping guest
      // (the caller loops, and its checkpoint sees them).
      sleep: (ns) => {
        if (ns <= 0n) return;
        const words = this.control ?? fallback;
        const seq = Atomics.load(words, CONTROL_WAKE);
        if (this.control !== undefined && seq !== this.lastWake) {
          this.serveExec();
          return;
        }
        const since = this.blocking();
        Atomics.wait(words, CONTROL_WAKE, seq, Number(ns) / 1e6);
        this.noteIdle(since);
      },
    };
  }

  /** A posted message (the port). */
  receive(raw: unknown): void {
    let decoded;
    try {
      decoded = receive<ToThread>(raw);
    } catch (e) {
      this.fail(e, undefined);
      return;
    }
    if (decoded.message.type === 'start' || decoded.message.type === 'exec') this.received++;
    this.dispatch(decoded.message, decoded.handles);
  }

  private dispatch(message: ToThread, handles: readonly unknown[]): void {
    let run: number | undefined;
    try {
      switch (message.type) {
        case 'init':
          if (message.control !== undefined) this.control = handle<Int32Array>(handles, message.control);
          if (message.output !== undefined) this.output = new OutputRing(handle<SharedArrayBuffer>(handles, message.output));
          if (message.exec !== undefined) this.execSlots = handle<ChannelEnd[]>(handles, message.exec);
          if (message.mailbox !== undefined) this.mailbox = new Mailbox(handle<SharedArrayBuffer>(handles, message.mailbox));
          if (message.rehearsal === undefined) return this.idle();
          this.busy = true;
          void this.rehearse(handle<WebAssembly.Module>(handles, message.rehearsal)).then((error) => {
            // Always answered: the pool counts the thread as booting until then.
            post(this.port, { v: PROTOCOL_VERSION, type: 'rehearsed', ...(error !== undefined ? { error } : {}) });
            this.idle();
          });
          return;
        case 'stop':
          if (this.current?.run === message.run) this.current.stop ??= message.reason;
          return;
        case 'start':
        case 'exec':
          run = message.run;
          this.busy = true;
          void (message.type === 'start' ? this.start(message, handles) : this.exec(message, handles))
            .catch((e: unknown) => this.fail(e, message.run))
            .finally(() => this.idle());
          return;
      }
    } catch (e) {
      this.fail(e, run);
    }
  }

  /** The run is over (or the thread just got its shared memory): sleep in the mailbox for the next. */
  private idle(): void {
    this.busy = false;
    this.park();
  }

  /**
   * Sleeps in the mailbox for the next run (mailbox.ts) — from a task of its own, once the
   * last run's leftover promise work has run — unless a run is going on or a posted run
   * is on its way (that run ends with `idle` too). Without a mailbox the thread waits for
   * posted messages in its event loop.
   */
  private park(): void {
    if (this.mailbox === undefined || this.parking) return;
    this.parking = true;
    nextTask(() => {
      this.parking = false;
      const mailbox = this.mailbox;
      if (this.busy || mailbox === undefined || this.received < mailbox.posted()) return;
      // Idle time: instantiate the last container module again for its next run (spare.ts),
      // unless the next run is already here.
      const last = this.last;
      if (last?.key !== undefined && last.module instanceof WebAssembly.Module && this.sparesWorthIt && this.spare === undefined && !mailbox.hasLetter()) this.spare = SpareInstance.make(last.key, last.module, last.memory);
      this.hooks.idle?.();
      let letter: Letter<ToThread>;
      try {
        letter = mailbox.take<ToThread>('skiff protocol', PROTOCOL_VERSION);
      } catch (e) {
        this.fail(e, undefined);
        return;
      }
      if (letter.kind === 'message') this.dispatch(letter.message, []);
      else this.park();
    });
  }

  private mailbox: Mailbox | undefined;
  /** A run (or exec) is going on: the thread must not sleep in its mailbox. */
  private busy = false;
  /** The last container run's program, and a spare instance of it (spare.ts) made while idle. */
  private last: Program | undefined;
  private spare: SpareInstance | undefined;
  /** The last program's memory at instantiation is small enough to keep a spare of it idle (`MAX_SPARE_MEMORY`). */
  private sparesWorthIt = false;
  /** A sleep in the mailbox is scheduled. */
  private parking = false;
  /** Runs (`start`, `exec`) received by post, to compare with the mailbox's count of those posted. */
  private received = 0;

  /**
   * Says `message` to the runtime: as a message record in the output ring when it has no
   * handles (then it arrives in order with the run's output, by the same wake-up; a full
   * ring blocks until the runtime drains it, as output does, but a stop request does not
   * cut it short), else posted. `quiet`: the record does not wake the runtime (protocol.ts
   * says which messages may wait for the next wake-up).
   */
  private reply(message: FromThread, handles?: Handles, quiet = false): void {
    const ring = this.output;
    const control = this.control;
    if (ring !== undefined && control !== undefined && (handles === undefined || handles.list.length === 0)) {
      const bytes = encodeMessage(message);
      if (ring.fitsMessage(bytes.length)) {
        while (!ring.tryWriteMessage(bytes, quiet)) this.waitForRoom(ring, control, bytes.length);
        return;
      }
    }
    post(this.port, message, handles);
  }

  private fail(e: unknown, run: number | undefined): void {
    this.closeExec();
    const err = e instanceof Error ? e : new Error(String(e));
    this.reply({ v: PROTOCOL_VERSION, type: 'error', ...(run !== undefined ? { run } : {}), message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) });
  }

  // ---------------------------------------------------------------- container runs

  /** Adds the time blocked since `since` (performance.now()) to the run's idle time (protocol.ts `CONTROL_IDLE`). */
  private noteIdle(since: number): void {
    this.idleMs += performance.now() - since;
    if (this.control !== undefined) {
      Atomics.store(this.control, CONTROL_IDLE, Math.floor(this.idleMs) | 0);
      Atomics.store(this.control, CONTROL_BLOCKED, 0);
    }
  }

  /** Marks the start of a block (protocol.ts `CONTROL_BLOCKED`); returns the `since` for `noteIdle`. A rehearsal stops there instead. */
  private blocking(): number {
    if (this.rehearsing) throw new StopSignal('Killed');
    if (this.control !== undefined) Atomics.store(this.control, CONTROL_BLOCKED, blockedStamp());
    return performance.now();
  }

  private idleMs = 0;

  /** The guest network with its socket waits counted as idle time. */
  private timedNetwork(net: ReturnType<typeof guestNetwork>): ReturnType<typeof guestNetwork> {
    const waiter = net.waiter;
    if (waiter === undefined) return net;
    return {
      ...net,
      waiter: {
        snapshot: () => waiter.snapshot(),
        wait: (snapshot, ns) => {
          const since = this.blocking();
          waiter.wait(snapshot, ns);
          this.noteIdle(since);
        },
      },
    };
  }

  private async start(m: StartMessage, handles: readonly unknown[]): Promise<void> {
    this.current = { run: m.run, stop: undefined };
    this.idleMs = 0;
    if (this.control !== undefined) {
      Atomics.store(this.control, CONTROL_IDLE, 0);
      Atomics.store(this.control, CONTROL_BLOCKED, 0);
    }
    for (const key of m.evict?.modules ?? []) this.modules.delete(key);
    if (this.last !== undefined && !this.modules.has(this.last.key ?? '')) this.last = undefined;
    for (const key of m.evict?.layers ?? []) this.layers.delete(key);

    let module = this.modules.get(m.module.key);
    if (m.module.handle !== undefined) {
      module = handle<WebAssembly.Module | ComponentCode>(handles, m.module.handle);
      this.modules.set(m.module.key, module);
    }
    if (module === undefined) throw new Error(`module ${m.module.key} is neither sent nor cached`);
    const layers = m.layers.map((ref) => {
      if (ref.meta !== undefined && ref.bytes !== undefined) {
        const index = decodeLayerIndex({ meta: handle<Uint8Array>(handles, ref.meta), bytes: handle<Uint8Array>(handles, ref.bytes) });
        this.layers.set(ref.key, index);
        return index;
      }
      const cached = this.layers.get(ref.key);
      if (cached === undefined) throw new Error(`layer ${ref.key} is neither sent nor cached`);
      return cached;
    });

    const overlay = new Overlay(layers);
    if (m.upper !== undefined) {
      const r = applyChangeset(overlay, handle<Uint8Array>(handles, m.upper));
      if (r instanceof Errno) throw new Error(`restoring the container's files: ${r.code}`);
    }
    const refuse = (message: string): Promise<void> => {
      this.note(m.run, `skiff: ${message}\n`);
      return this.exit(m.run, m.keepUpper ? overlay : undefined, undefined, { code: 126, reason: 'Error', message }, 0);
    };
    const root = new OverlayFs(overlay);
    let namespace: Namespace & { readonly preopens?: readonly Preopen[] };
    if (m.preopens !== undefined) {
      const made = preopenNamespace(m.mounts, m.preopens, handles);
      if (typeof made === 'string') return refuse(made);
      namespace = made;
    } else {
      const cwd = mkdirAll(overlay, m.cwd);
      if (cwd instanceof Errno) return refuse(`working directory ${m.cwd}: ${cwd.code}`);
      // The namespace: the root plus the mounts, their mount points made (mounts.ts).
      const made = mountNamespace(root, m.mounts, handles);
      if (typeof made === 'string') return refuse(made);
      namespace = made;
      this.openExec(m.run, root, made.vfs);
    }
    const vfs = namespace.vfs;
    const exec = this.execServers.length > 0 ? this.execServers.map((server) => server.mounts) : undefined;
    this.reply({ v: PROTOCOL_VERSION, type: 'running', run: m.run, ...(exec !== undefined ? { exec } : {}) }, undefined, true);

    const setup: GuestSetup = {
      argv: m.argv,
      cwd: m.cwd,
      env: m.env,
      vfs,
      preopens: namespace.preopens ?? [{ name: '/', dir: vfs.root }],
      stdin: m.stdin !== undefined ? handle<Uint8Array>(handles, m.stdin) : undefined,
      net: m.net,
      limits: m.limits,
    };
    const program: Program = { module, memory: m.memory, key: m.module.key };
    this.last = program;
    const { outcome, memoryBytes } = this.runGuest(m.run, program, setup, handles);
    return this.exit(m.run, m.keepUpper ? overlay : undefined, namespace.close, outcome, memoryBytes);
  }

  /** Serves the run's namespace on every exec slot (see the module comment). */
  private openExec(run: number, root: MountFs, vfs: Vfs): void {
    if (this.execSlots.length === 0) return;
    const served = vfs.allMounts().map((mount, i) => ({ path: i === 0 ? '/' : mount.path, fs: i === 0 ? root : mount.fs }));
    this.execServers = this.execSlots.map((end, slot) => new VolumeServer(served, { polled: end, firstHandle: execHandleBase(run, slot) }));
    this.lastWake = this.control === undefined ? 0 : Atomics.load(this.control, CONTROL_WAKE);
  }

  /** Answers pending exec requests if an exec client rang since the last look. Safe at any WASI call boundary. */
  private serveExec(): void {
    const control = this.control;
    if (control === undefined || this.execServers.length === 0) return;
    const seq = Atomics.load(control, CONTROL_WAKE);
    if (seq === this.lastWake) return;
    this.lastWake = seq;
    for (const server of this.execServers) server.poll();
  }

  /** The run is over: exec'd programs get `closed` (EIO) from now on, and their handles are released. */
  private closeExec(): void {
    for (const server of this.execServers) void server.close();
    this.execServers = [];
    for (const end of this.execSlots) closeChannel(end);
  }

  // ---------------------------------------------------------------- the rehearsal

  /** A rehearsal is running: the guest is stopped where it would block (`blocking`). */
  private rehearsing = false;

  /**
   * Rehearses a run (rehearsal.ts): a `start` of `module`, the HTTP server guest, from an
   * empty root with one connection queued here with its whole request, taken through the
   * same steps as a container's run (the message decoded from the wire, the namespace
   * made, the guest run, its files packed at exit) until the guest would block for the
   * next request. It has a port, control words, an output ring and a network arena of its
   * own, dropped after, and no exec slots: nothing reaches the runtime, and the thread's
   * caches are as before. Returns why it failed, if it did (no HTTP 200 came back); the
   * thread is usable either way.
   */
  private async rehearse(module: WebAssembly.Module): Promise<string | undefined> {
    const saved = { port: this.port, control: this.control, output: this.output, execSlots: this.execSlots, idleMs: this.idleMs, last: this.last, spare: this.spare, sparesWorthIt: this.sparesWorthIt };
    try {
      const layout = { ports: [REHEARSAL_PORT], slots: 1, ringBytes: 16 * 1024, backlog: 1 };
      const arena = Arena.create(layout);
      arena.setSlotState(0, SLOT_IN_USE);
      arena.enqueue(0, 0);
      const request = arena.toGuest(0);
      request.write(encoder.encode(REHEARSAL_REQUEST));
      request.setFlag(RING_END);
      this.port = { post: () => {}, onMessage: () => {} };
      this.control = new Int32Array(sharedBuffer(CONTROL_LENGTH * 4));
      this.output = OutputRing.create(64 * 1024);
      this.execSlots = [];
      this.rehearsing = true;
      const h = new Handles();
      const start: StartMessage = {
        v: PROTOCOL_VERSION,
        type: 'start',
        run: 0,
        container: 'rehearsal',
        module: { key: REHEARSAL_KEY, handle: h.add(module) },
        argv: ['/rehearsal.wasm'],
        env: REHEARSAL_ENV,
        cwd: '/',
        layers: [],
        mounts: [],
        net: { arena: h.add(arena.buffer), ...layout },
        limits: { maxOpenFiles: 64 },
        keepUpper: true,
      };
      const packed = encodeMessage(start);
      const { message, handles } = receive<ToThread>([packed.slice(), h.list]);
      await this.start(message as StartMessage, handles);
      // The server's own stdout is buffered until it exits, which it never does: the output path once more.
      this.write(0, 1, encoder.encode('rehearsed\n'), () => {});
      const answer = arena.fromGuest(0);
      const bytes = new Uint8Array(answer.available());
      answer.read(bytes);
      const status = new TextDecoder().decode(bytes.subarray(0, 64)).split('\r\n')[0] ?? '';
      return /^HTTP\/1\.[01] 200 /.test(status) ? undefined : `the rehearsal's request got ${JSON.stringify(status)}, not HTTP 200`;
    } catch (e) {
      return `the rehearsal failed: ${(e as Error).message}`;
    } finally {
      this.rehearsing = false;
      this.modules.delete(REHEARSAL_KEY);
      ({ port: this.port, control: this.control, output: this.output, execSlots: this.execSlots, idleMs: this.idleMs, last: this.last, spare: this.spare, sparesWorthIt: this.sparesWorthIt } = saved);
      this.current = undefined;
    }
  }

  // ---------------------------------------------------------------- exec runs

  private async exec(m: ExecMessage, handles: readonly unknown[]): Promise<void> {
    this.current = { run: m.run, stop: undefined };
    const connection = handle<VolumeConnection>(handles, m.connection);
    const fss = RemoteFs.connect(connection);
    const close = (): void => fss[0]?.disconnect();
    const refuse = (code: number, message: string): Promise<void> => {
      this.note(m.run, `skiff: exec ${m.argv[0] ?? ''}: ${message}\n`);
      return this.exit(m.run, undefined, close, { code, reason: 'Error', message }, 0);
    };
    const [root, ...mounts] = fss;
    if (root === undefined) return refuse(126, 'the container has no root filesystem to run it in');
    let vfs: Vfs;
    try {
      vfs = new Vfs(
        root,
        mounts.map((fs) => ({ path: fs.path, fs })),
      );
    } catch (e) {
      return refuse(126, `the container's mounts cannot be reached: ${(e as Error).message}`);
    }
    const program = loadCommand(vfs, m.argv[0] ?? '', m.cwd, m.env, m.limits.memoryPages);
    if ('code' in program) return refuse(program.code, program.message);
    const setup: GuestSetup = {
      argv: m.argv,
      env: m.env,
      vfs,
      preopens: [{ name: '/', dir: vfs.root }],
      stdin: m.stdin !== undefined ? handle<Uint8Array>(handles, m.stdin) : undefined,
      net: undefined,
      limits: m.limits,
    };
    const { outcome, memoryBytes } = this.runGuest(m.run, program, setup, handles);
    return this.exit(m.run, undefined, close, outcome, memoryBytes);
  }

  // ---------------------------------------------------------------- running a guest

  private runGuest(run: number, program: Program, s: GuestSetup, handles: readonly unknown[]): { outcome: Outcome; memoryBytes: number } {
    if (!(program.module instanceof WebAssembly.Module)) return this.runComponent(run, program.module, s, handles);
    const module = program.module;
    const checkpoint = this.checkpointFor();
    const write = (stream: 1 | 2) => (chunk: Uint8Array) => this.write(run, stream, chunk, checkpoint);
    const wasi = new Preview1({
      args: s.argv,
      env: s.env,
      vfs: s.vfs,
      preopens: s.preopens,
      stdio: { ...(s.stdin !== undefined ? { stdin: s.stdin } : {}), stdout: write(1), stderr: write(2) },
      clock: this.clock,
      maxOpenFiles: s.limits.maxOpenFiles,
      checkpoint,
      // Listening sockets at fd 3 onward (before the preopens) and the waiter blocking calls sleep on.
      ...this.timedNetwork(guestNetwork(s.net, handles)),
    });

    let memory: WebAssembly.Memory | undefined;
    const imports = wasi.imports;
    let instance: WebAssembly.Instance;
    // A container run takes the spare of its module (exec'd programs leave it for the next run).
    let spare: ReturnType<SpareInstance['take']>;
    if (program.key !== undefined) {
      if (this.spare?.key === program.key) spare = this.spare.take(imports);
      this.spare = undefined;
    }
    if (spare !== undefined) {
      instance = spare.instance;
      memory = spare.memory;
    } else {
      if (program.memory !== undefined) {
        memory = new WebAssembly.Memory({ initial: program.memory.initial, maximum: program.memory.maximum });
        imports[program.memory.module] = { ...imports[program.memory.module], [program.memory.name]: memory };
      }
      try {
        instance = new WebAssembly.Instance(module, imports);
      } catch (e) {
        const message = `cannot instantiate the module: ${(e as Error).message}`;
        this.note(run, `skiff: ${message}\n`);
        return { outcome: { code: 126, reason: 'Error', message }, memoryBytes: 0 };
      }
    }
    memory ??= instance.exports.memory as WebAssembly.Memory | undefined;
    const start = instance.exports._start;
    if (!(memory instanceof WebAssembly.Memory) || typeof start !== 'function') {
      const message = `the module is not a WASI command: it must export ${memory === undefined ? '"memory"' : '"_start"'}`;
      this.note(run, `skiff: ${message}\n`);
      return { outcome: { code: 126, reason: 'Error', message }, memoryBytes: 0 };
    }
    // A spare of this module would hold this much memory while the thread idles.
    if (program === this.last) this.sparesWorthIt = memory.buffer.byteLength <= MAX_SPARE_MEMORY;

    let outcome: Outcome;
    try {
      const code = wasi.start({ exports: { memory, _start: start as () => unknown } });
      outcome = { code, reason: code === 0 ? 'Completed' : 'Error' };
    } catch (e) {
      outcome = this.failure(e, memory, s.limits.memoryPages);
      if (outcome.message !== undefined) this.note(run, `${outcome.message}\n`);
    }
    wasi.closeAll();
    return { outcome, memoryBytes: memory.buffer.byteLength };
  }

  /** The stop request's checkpoint for the current run (throws StopSignal). */
  private checkpointFor(): () => void {
    const control = this.control;
    const current = this.current as { run: number; stop: StopReason | undefined };
    return () => {
      const code = control === undefined ? STOP_NONE : Atomics.load(control, CONTROL_STOP);
      if (code !== STOP_NONE) throw new StopSignal(stopReason(code));
      if (current.stop !== undefined) throw new StopSignal(current.stop);
      this.serveExec();
    };
  }

  /**
   * Runs a WASI 0.2 command component: jco's instantiation (component.ts) with skiff's
   * preview 2 host (wasi/preview2.ts), then `wasi:cli/run#run`. Exit status: 0 for
   * `ok`, 1 for `err` (wasmtime's), the code given to `exit`; a trap is 134 as for a module.
   */
  private runComponent(run: number, code: ComponentCode, s: GuestSetup, handles: readonly unknown[]): { outcome: Outcome; memoryBytes: number } {
    this.sparesWorthIt = false;
    const checkpoint = this.checkpointFor();
    const write = (stream: 1 | 2) => (chunk: Uint8Array) => this.write(run, stream, chunk, checkpoint);
    const wire = guestNet(s.net, handles);
    const waiter = wire === undefined ? undefined : this.timedNetwork({ waiter: wire.waiter }).waiter;
    // The component's files: a preview 1 instance over the container's namespace does the work (preview2-fs.ts).
    const files = new Preview1({ args: [], env: [], vfs: s.vfs, preopens: s.preopens, clock: this.clock, maxOpenFiles: s.limits.maxOpenFiles, checkpoint });
    const host = new Preview2({
      filesystem: (input, output) => filesystem(files, input, output),
      args: s.argv,
      env: s.env,
      ...(s.cwd !== undefined ? { cwd: s.cwd } : {}),
      ...(s.stdin !== undefined ? { stdin: s.stdin } : {}),
      stdout: write(1),
      stderr: write(2),
      clock: this.clock,
      checkpoint,
      ...(wire !== undefined && waiter !== undefined ? { net: { guest: wire, listeners: wire.listeners(), waiter } } : {}),
    });
    const refuse = (message: string): { outcome: Outcome; memoryBytes: number } => {
      this.note(run, `skiff: ${message}\n`);
      return { outcome: { code: 126, reason: 'Error', message }, memoryBytes: 0 };
    };
    let instantiate = this.instantiators.get(code);
    let exports: Record<string, unknown>;
    // The guest's memory: the first one its core instances export (for OOM and memoryBytes).
    let memory: WebAssembly.Memory | undefined;
    const instantiateCore = (module: WebAssembly.Module, importObject?: WebAssembly.Imports): WebAssembly.Instance => {
      const instance = new WebAssembly.Instance(module, importObject);
      memory ??= Object.values(instance.exports).find((x): x is WebAssembly.Memory => x instanceof WebAssembly.Memory);
      return instance;
    };
    try {
      if (instantiate === undefined) this.instantiators.set(code, (instantiate = instantiator(code)));
      exports = instantiate(
        (name) => {
          const m = code.modules[name];
          if (m === undefined) throw new Error(`the component has no core module ${name}`);
          return m;
        },
        host.imports,
        instantiateCore,
      );
    } catch (e) {
      return refuse(`cannot instantiate the component: ${(e as Error).message}`);
    }
    const runIface = (exports['wasi:cli/run@0.2.0'] ?? Object.entries(exports).find(([k]) => k.startsWith('wasi:cli/run@0.2'))?.[1]) as { run?: () => unknown } | undefined;
    if (typeof runIface?.run !== 'function') return refuse('the component is not a WASI command: it must export wasi:cli/run@0.2.x');
    let outcome: Outcome;
    try {
      runIface.run();
      outcome = { code: 0, reason: 'Completed' };
    } catch (e) {
      const ended = host.ended;
      if (ended !== undefined && 'exit' in ended) outcome = { code: ended.exit, reason: ended.exit === 0 ? 'Completed' : 'Error' };
      else if (ended !== undefined && ended.stop instanceof StopSignal) outcome = { code: 137, reason: ended.stop.reason };
      else if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) {
        // As for a module: a trap at the memory limit is OOMKilled.
        outcome = memory !== undefined ? this.failure(e, memory, s.limits.memoryPages) : { code: 134, reason: 'Error', message: `trap: ${e.message}` };
        if (outcome.message !== undefined) this.note(run, `${outcome.message}\n`);
      } else if (isErrResult(e)) outcome = { code: 1, reason: 'Error' };
      else {
        outcome = { code: 134, reason: 'Error', message: `skiff internal error while running the component: ${e instanceof Error ? e.message : String(e)}` };
        this.note(run, `${outcome.message as string}\n`);
      }
    }
    files.closeAll();
    return { outcome, memoryBytes: memory?.buffer.byteLength ?? 0 };
  }

  /** What an exception out of the guest means. */
  private failure(e: unknown, memory: WebAssembly.Memory, limitPages: number | undefined): Outcome {
    if (e instanceof StopSignal) return { code: 137, reason: e.reason };
    const trap = e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
    const text = e instanceof Error ? e.message : String(e);
    const pages = memory.buffer.byteLength / PAGE;
    if (trap && limitPages !== undefined && limitPages - pages < Math.max(16, limitPages / 32)) {
      return { code: 137, reason: 'OOMKilled', message: `trap at the memory limit (${pages * 64} KiB): ${text}` };
    }
    return { code: 134, reason: 'Error', message: trap ? `trap: ${text}` : `skiff internal error while running the guest: ${text}` };
  }

  // ---------------------------------------------------------------- output

  /**
   * Writes a chunk of the run's stdout (1) or stderr (2): into the output ring, blocking
   * while it is full (calling `checkpoint`, which may throw to stop the guest, between
   * sleeps on the WAKE word, which the runtime bumps after each drain that freed room);
   * or, without a ring, posted at once.
   */
  private write(run: number, stream: 1 | 2, chunk: Uint8Array, checkpoint: () => void): void {
    if (chunk.length === 0) return;
    const time = now();
    const ring = this.output;
    const control = this.control;
    if (ring === undefined || control === undefined) {
      const h = new Handles();
      const data = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer ? chunk : chunk.slice();
      post(this.port, { v: PROTOCOL_VERSION, type: 'output', run, output: { data: h.add(data.buffer, data.buffer as ArrayBuffer), records: [stream, time, data.length] } }, h);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      const n = ring.tryWrite(stream, time, at === 0 ? chunk : chunk.subarray(at));
      at += n;
      if (n === 0) this.waitForRoom(ring, control, 1, checkpoint);
    }
  }

  /**
   * Sleeps (as idle time) on the WAKE word until the runtime's next drain of the full
   * ring, or MAX_SLEEP_MS — unless a record of `length` bytes fits once the writer has
   * said it waits (so a drain in between is not missed). `checkpoint`, called before the
   * sleep, may throw to stop the guest.
   */
  private waitForRoom(ring: OutputRing, control: Int32Array, length: number, checkpoint?: () => void): void {
    const seq = Atomics.load(control, CONTROL_WAKE);
    ring.waitingForRoom();
    if (ring.hasRoom(length)) return;
    checkpoint?.();
    const since = this.blocking();
    Atomics.wait(control, CONTROL_WAKE, seq, MAX_SLEEP_MS);
    this.noteIdle(since);
  }

  /** skiff's own message to the run's stderr (a refusal, a trap); dropped if the run is being stopped while the ring is full. */
  private note(run: number, text: string): void {
    const control = this.control;
    const current = this.current;
    this.write(run, 2, encoder.encode(text), () => {
      if ((control !== undefined && Atomics.load(control, CONTROL_STOP) !== STOP_NONE) || current?.stop !== undefined) throw new StopSignal('Killed');
    });
  }

  /** Ends the run: `close` ends its connections; `overlay`, when given, is packed as the upper. */
  private async exit(run: number, overlay: Overlay | undefined, close: (() => void) | undefined, outcome: Outcome, memoryBytes: number): Promise<void> {
    // Exec'd programs lose the namespace first (their pinned volume nodes are released
    // over the volume connection), then the run's volume connection ends with it.
    this.closeExec();
    close?.();
    const handles = new Handles();
    let upper: number | undefined;
    if (overlay !== undefined) {
      const entries = diffEntries(overlay);
      if (entries.length > 0) {
        let tar = await pack(entries);
        // Moved, not copied: an exactly sized buffer of its own.
        if (tar.byteOffset !== 0 || tar.byteLength !== tar.buffer.byteLength || !(tar.buffer instanceof ArrayBuffer)) tar = tar.slice();
        upper = handles.add(tar, tar.buffer as ArrayBuffer);
      }
    }
    this.current = undefined;
    const message: ExitedMessage = {
      v: PROTOCOL_VERSION,
      type: 'exited',
      run,
      code: outcome.code,
      reason: outcome.reason,
      ...(outcome.message !== undefined ? { message: outcome.message } : {}),
      ...(upper !== undefined ? { upper } : {}),
      memoryBytes,
    };
    this.reply(message, handles);
  }
}

/** `mkdir -p` of an absolute path in the root; the directory, or why it cannot be. */
function mkdirAll(overlay: Overlay, path: string): DirNode | Errno {
  let dir: DirNode = overlay.root;
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    let next = overlay.resolve(dir, part, true);
    if (next === Errno.of('ENOENT')) next = overlay.mkdirAt(dir, part, 0o755);
    if (next instanceof Errno) return next;
    if (!(next instanceof DirNode)) return Errno.of('ENOTDIR');
    dir = next;
  }
  return dir;
}

/**
 * An exec'd command: `command` looked up as `runtime.ts` does at create (a path with a
 * `/` from `cwd`, a bare name in PATH then `cwd`), but in the container's live files;
 * read, checked (module.ts, under `memoryPages`) and compiled. Or the exit code and why.
 */
function loadCommand(vfs: Vfs, command: string, cwd: string, env: readonly string[], memoryPages: number | undefined): Program | { code: number; message: string } {
  const join = (dir: string, name: string): string => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);
  const candidates: string[] = [];
  if (command.includes('/')) candidates.push(command.startsWith('/') ? command : join(cwd, command));
  else {
    const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
    for (const dir of [...pathVar.split(':').filter((d) => d.startsWith('/')), cwd]) candidates.push(join(dir, command));
  }
  let failure: Errno | undefined;
  for (const path of candidates) {
    const v = vfs.resolve(vfs.root, path, true);
    if (v instanceof Errno) {
      if (v.code !== 'ENOENT' && v.code !== 'ENOTDIR') failure ??= v;
      continue;
    }
    if (vfs.kind(v) !== 'file') continue;
    const st = v.mount.fs.stat(v.node);
    if (st instanceof Errno) return { code: 126, message: `${path}: ${st.code}` };
    const bytes = new Uint8Array(st.size);
    const n = v.mount.fs.read(v.node, 0, bytes);
    v.mount.fs.release?.(v.node);
    if (n instanceof Errno) return { code: 126, message: `reading ${path}: ${n.code}` };
    // A component needs the runtime's transpiler, which a container's thread does not have.
    if (isComponent(bytes)) return { code: 126, message: `${path} is a WebAssembly component (WASI 0.2): exec runs preview 1 modules only; run the component as a container` };
    try {
      const prepared = prepareModule(bytes.subarray(0, n), memoryPages);
      const module = new WebAssembly.Module(prepared.bytes as Uint8Array<ArrayBuffer>);
      checkImports(WebAssembly.Module.imports(module) as ModuleImport[]);
      return { module, memory: prepared.memory };
    } catch (e) {
      return { code: 126, message: e instanceof ModuleError ? `${path}: ${e.message}` : `${path} is not a WebAssembly module: ${(e as Error).message}` };
    }
  }
  if (failure !== undefined) return { code: 126, message: `looking up ${command}: ${failure.code}` };
  return { code: 127, message: `${JSON.stringify(command)} is not a file in the container (looked in ${candidates.join(', ')})` };
}

