/**
 * The container thread: the thread module (platform/threads.ts) that runs one container
 * at a time, for as many containers as the pool gives it.
 *
 * A run (`start` message, see protocol.ts):
 *   1. the module and the layer indexes come from this thread's caches, or from the
 *      message (then cached by key); the root is `new Overlay(layers)`, plus the upper
 *      of a previous run (`applyChangeset`); the working directory is made if missing;
 *      the namespace is the root plus the mounts (mounts.ts: mount points made in it,
 *      tmpfs made here, volumes and binds reached over the run's volume channel, which
 *      is closed when the run exits);
 *   2. the guest runs synchronously under `Preview1`, with its listening sockets (the
 *      start message's `net`, network.ts) at fd 3 onward and `/` preopened after them.
 *      Its output is batched (`OutputBuffer`); at every WASI call the control word is
 *      checked, and a stop request unwinds the guest with a `StopSignal` (a guest blocked
 *      on a socket sleeps on the network arena's WAKE word, which the runtime bumps after
 *      a stop request);
 *   3. the outcome becomes an `exited` message: the exit code, the reason (Completed /
 *      Error / OOMKilled / Killed / DeadlineExceeded), the remaining output, and the upper
 *      layer as a changeset tar when asked for.
 * A guest that makes no WASI call cannot see a stop request: the runtime terminates the
 * thread instead (and replaces it), so nothing of that run comes back.
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
import type { ThreadPort } from '../platform/threads.js';
import { OverlayFs } from './overlay-fs.js';
import {
  CONTROL_STOP,
  Handles,
  PROTOCOL_VERSION,
  STOP_NONE,
  handle,
  post,
  receive,
  stopReason,
  type ExitReason,
  type ExitedMessage,
  type OutputBatch,
  type StartMessage,
  type StopReason,
  type ToThread,
} from './protocol.js';
import { mountNamespace } from './mounts.js';
import type { WasiClock } from './wasi/options.js';
import { Preview1 } from './wasi/preview1.js';
import { guestNetwork } from './network.js';

/** Output is sent when this many bytes are pending… */
export const FLUSH_BYTES = 64 * 1024;
/** …or when the last send is this long ago (checked at each write and WASI call), and at exit. */
export const FLUSH_MS = 4;

const PAGE = 65536;

/** Unwinds the guest when the runtime asked the run to stop. */
class StopSignal {
  constructor(readonly reason: StopReason) {}
}

export function main(port: ThreadPort): void {
  const thread = new ContainerThread(port);
  port.onMessage((raw) => thread.receive(raw));
  post(port, { v: PROTOCOL_VERSION, type: 'ready' });
}

const now = (): number => performance.timeOrigin + performance.now();

class ContainerThread {
  private readonly modules = new Map<string, WebAssembly.Module>();
  private readonly layers = new Map<string, LayerIndex>();
  private control: Int32Array | undefined;
  /** Closes the current run's mounts (mounts.ts `Namespace.close`). */
  private unmount: (() => void) | undefined;
  private current: { run: number; stop: StopReason | undefined } | undefined;
  private readonly clock: WasiClock;

  constructor(private readonly port: ThreadPort) {
    const fallback = new Int32Array(new SharedArrayBuffer(4));
    this.clock = {
      realtime: () => BigInt(Math.round(now() * 1e6)),
      monotonic: () => BigInt(Math.round(performance.now() * 1e6)),
      // Sleeps on the control word, so that a stop request wakes a sleeping guest.
      sleep: (ns) => {
        if (ns <= 0n) return;
        const word = this.control ?? fallback;
        Atomics.wait(word, CONTROL_STOP, STOP_NONE, Number(ns) / 1e6);
      },
    };
  }

  receive(raw: unknown): void {
    let run: number | undefined;
    try {
      const { message, handles } = receive<ToThread>(raw);
      switch (message.type) {
        case 'init':
          if (message.control !== undefined) this.control = handle<Int32Array>(handles, message.control);
          return;
        case 'stop':
          if (this.current?.run === message.run) this.current.stop ??= message.reason;
          return;
        case 'start':
          run = message.run;
          void this.start(message, handles).catch((e: unknown) => this.fail(e, message.run));
          return;
      }
    } catch (e) {
      this.fail(e, run);
    }
  }

  private fail(e: unknown, run: number | undefined): void {
    const err = e instanceof Error ? e : new Error(String(e));
    post(this.port, { v: PROTOCOL_VERSION, type: 'error', ...(run !== undefined ? { run } : {}), message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) });
  }

  private async start(m: StartMessage, handles: readonly unknown[]): Promise<void> {
    this.current = { run: m.run, stop: undefined };
    for (const key of m.evict?.modules ?? []) this.modules.delete(key);
    for (const key of m.evict?.layers ?? []) this.layers.delete(key);

    let module = this.modules.get(m.module.key);
    if (m.module.handle !== undefined) {
      module = handle<WebAssembly.Module>(handles, m.module.handle);
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

    const output = new OutputBuffer(this.port, m.run);
    const stderr = (text: string): void => output.write(2, new TextEncoder().encode(text));
    const overlay = new Overlay(layers);
    if (m.upper !== undefined) {
      const r = applyChangeset(overlay, handle<Uint8Array>(handles, m.upper));
      if (r instanceof Errno) throw new Error(`restoring the container's files: ${r.code}`);
    }
    const cwd = mkdirAll(overlay, m.cwd);
    if (cwd instanceof Errno) {
      stderr(`skiff: working directory ${m.cwd}: ${cwd.code}\n`);
      return this.exit(m, output, overlay, { code: 126, reason: 'Error', message: `working directory ${m.cwd}: ${cwd.code}` }, 0);
    }
    // The namespace: the root plus the mounts, their mount points made (mounts.ts).
    const namespace = mountNamespace(new OverlayFs(overlay), m.mounts, handles);
    if (typeof namespace === 'string') {
      stderr(`skiff: ${namespace}\n`);
      return this.exit(m, output, overlay, { code: 126, reason: 'Error', message: namespace }, 0);
    }
    this.unmount = namespace.close;
    const vfs = namespace.vfs;

    const control = this.control;
    const current = this.current;
    const checkpoint = (): void => {
      const code = control === undefined ? STOP_NONE : Atomics.load(control, CONTROL_STOP);
      if (code !== STOP_NONE) throw new StopSignal(stopReason(code));
      if (current.stop !== undefined) throw new StopSignal(current.stop);
      output.tick();
    };
    const wasi = new Preview1({
      args: m.argv,
      env: m.env,
      vfs,
      preopens: [{ name: '/', dir: vfs.root }],
      stdio: {
        ...(m.stdin !== undefined ? { stdin: handle<Uint8Array>(handles, m.stdin) } : {}),
        stdout: (c) => output.write(1, c),
        stderr: (c) => output.write(2, c),
      },
      clock: this.clock,
      maxOpenFiles: m.limits.maxOpenFiles,
      checkpoint,
      // Listening sockets at fd 3 onward (before the preopens) and the waiter blocking calls sleep on.
      ...guestNetwork(m.net, handles),
    });

    let memory: WebAssembly.Memory | undefined;
    const imports = wasi.imports;
    if (m.memory !== undefined) {
      memory = new WebAssembly.Memory({ initial: m.memory.initial, maximum: m.memory.maximum });
      imports[m.memory.module] = { ...imports[m.memory.module], [m.memory.name]: memory };
    }
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, imports);
    } catch (e) {
      const message = `cannot instantiate the module: ${(e as Error).message}`;
      stderr(`skiff: ${message}\n`);
      return this.exit(m, output, overlay, { code: 126, reason: 'Error', message }, 0);
    }
    memory ??= instance.exports.memory as WebAssembly.Memory | undefined;
    const start = instance.exports._start;
    if (!(memory instanceof WebAssembly.Memory) || typeof start !== 'function') {
      const message = `the module is not a WASI command: it must export ${memory === undefined ? '"memory"' : '"_start"'}`;
      stderr(`skiff: ${message}\n`);
      return this.exit(m, output, overlay, { code: 126, reason: 'Error', message }, 0);
    }

    let outcome: Outcome;
    try {
      const code = wasi.start({ exports: { memory, _start: start as () => unknown } });
      outcome = { code, reason: code === 0 ? 'Completed' : 'Error' };
    } catch (e) {
      outcome = this.failure(e, memory, m.limits.memoryPages);
      if (outcome.message !== undefined) stderr(`${outcome.message}\n`);
    }
    wasi.closeAll();
    return this.exit(m, output, overlay, outcome, memory.buffer.byteLength);
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

  private async exit(m: StartMessage, output: OutputBuffer, overlay: Overlay, outcome: Outcome, memoryBytes: number): Promise<void> {
    // The run's volume connection ends with it (the runtime then closes its server).
    this.unmount?.();
    this.unmount = undefined;
    const handles = new Handles();
    let upper: number | undefined;
    if (m.keepUpper) {
      const entries = diffEntries(overlay);
      if (entries.length > 0) {
        let tar = await pack(entries);
        // Moved, not copied: an exactly sized buffer of its own.
        if (tar.byteOffset !== 0 || tar.byteLength !== tar.buffer.byteLength || !(tar.buffer instanceof ArrayBuffer)) tar = tar.slice();
        upper = handles.add(tar, tar.buffer as ArrayBuffer);
      }
    }
    const batch = output.take(handles);
    this.current = undefined;
    const message: ExitedMessage = {
      v: PROTOCOL_VERSION,
      type: 'exited',
      run: m.run,
      code: outcome.code,
      reason: outcome.reason,
      ...(outcome.message !== undefined ? { message: outcome.message } : {}),
      ...(batch !== undefined ? { output: batch } : {}),
      ...(upper !== undefined ? { upper } : {}),
      memoryBytes,
    };
    post(this.port, message, handles);
  }
}

interface Outcome {
  code: number;
  reason: ExitReason;
  message?: string;
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
 * The run's stdout/stderr, batched: chunks are kept (the WASI layer hands over copies)
 * and sent in one message when FLUSH_BYTES are pending, or at a write or WASI call
 * FLUSH_MS after the last send, or at exit (inside `exited`). The first write of a run
 * is sent at once, so a guest that prints a line and then computes shows it.
 * Consecutive writes to the same stream within a batch become one chunk, so a flood of
 * tiny writes costs the log ring its bytes, not an object per write.
 */
class OutputBuffer {
  private chunks: Uint8Array[] = [];
  private records: number[] = [];
  private pending = 0;
  private lastFlush = -Infinity;

  constructor(
    private readonly port: ThreadPort,
    private readonly run: number,
  ) {}

  write(stream: 1 | 2, chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const t = performance.now();
    this.chunks.push(chunk);
    // Consecutive writes to one stream become one log chunk (stamped with the first's time).
    const n = this.records.length;
    if (n > 0 && this.records[n - 3] === stream) this.records[n - 1] = (this.records[n - 1] as number) + chunk.length;
    else this.records.push(stream, performance.timeOrigin + t, chunk.length);
    this.pending += chunk.length;
    if (this.pending >= FLUSH_BYTES || t - this.lastFlush >= FLUSH_MS) this.flush(t);
  }

  /** At a WASI call: send if output has waited long enough. */
  tick(): void {
    if (this.pending === 0) return;
    const t = performance.now();
    if (t - this.lastFlush >= FLUSH_MS) this.flush(t);
  }

  private flush(t: number): void {
    const handles = new Handles();
    const output = this.take(handles);
    this.lastFlush = t;
    if (output !== undefined) post(this.port, { v: PROTOCOL_VERSION, type: 'output', run: this.run, output }, handles);
  }

  /** Moves what is pending into a batch (adding its data to `handles`). */
  take(handles: Handles): OutputBatch | undefined {
    if (this.pending === 0) return undefined;
    const data = new Uint8Array(this.pending);
    let at = 0;
    for (const c of this.chunks) {
      data.set(c, at);
      at += c.length;
    }
    const batch: OutputBatch = { data: handles.add(data.buffer, data.buffer), records: this.records };
    this.chunks = [];
    this.records = [];
    this.pending = 0;
    return batch;
  }
}
