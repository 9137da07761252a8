/**
 * `Sandbox.run`: the one-call API for plugin hosts. Runs a WASI preview 1 program as a
 * container in its own thread and resolves when it exits.
 *
 * Denied by default (wasmtime's rule, STYLE §8): the guest sees its root (the image's
 * files, or an empty directory for a bare module), the volumes given, and the
 * arguments and environment given (plus the image's own Env) — no host file, no
 * network, no other environment.
 *
 * It is `Runtime.create` + `start` + `wait` + `remove` on a shared runtime (the default
 * platform's, with a warm pool of threads that never keeps the process alive), or on
 * `options.runtime`. Limits are those of the runtime (runtime.ts): `memory` caps the
 * module's memory (a guest that outgrows it sees `memory.grow` fail; a trap at the limit
 * is `OOMKilled`), `timeout` ends the run (`DeadlineExceeded`), output beyond `logLimit`
 * (default 1 MiB, stdout and stderr together) keeps only the newest bytes in the result (the
 * `stdout`/`stderr` callbacks still see everything).
 *
 * How the run ended is a value: `{ exitCode, reason }`. It throws only when the program
 * cannot be run at all (a module that imports what a container does not provide, or
 * whose memory exceeds the limit — `ModuleError`; an image without a command; an image
 * ref not in `store`; a volume that cannot be mounted: a bad `-v` string, a named volume
 * or bind on a runtime without volumes, a bind the volumes do not grant).
 */
import type { Image, ImageStore } from '../layers/image-store.js';
import { Runtime, type ContainerSpec, type ExitReason, type MountEntry } from './runtime.js';
import { parseDuration, parseSize } from './units.js';

export interface RunOptions {
  /** Arguments after argv[0]. For an image they replace its Cmd (as `docker run IMAGE ARGS…`). */
  args?: readonly string[];
  /** Environment variables (for an image: added to its Env). */
  env?: Readonly<Record<string, string>>;
  /** argv[0] of a bare module (default `main.wasm`). */
  name?: string;
  /**
   * Filesystems to mount (mounts.ts), each an explicit grant: `{ type: 'tmpfs', target }`
   * (scratch space gone with the run), `ContainerMount`s (`fsMount(path, fs)`: any
   * filesystem you keep), or Docker `-v` strings resolved by the runtime's volumes
   * (`new Runtime({ volumes: memoryVolumes() })`): `name:/path[:ro]` (a named volume,
   * created on first use, kept after the run), `/host/dir:/path[:ro]` (a host bind, only
   * if the runtime's volumes grant binds). An anonymous volume (`/path`) is removed with
   * the run, as with `docker run --rm`.
   */
  volumes?: readonly MountEntry[];
  /** Memory limit: bytes, or a size like `64m`. */
  memory?: number | string;
  /** Wall-clock limit: ms, or a duration like `500ms` or `2s`. */
  timeout?: number | string;
  /** Most files open at once (EMFILE beyond; default 1024). */
  maxOpenFiles?: number;
  /** Bytes of output kept for the result (default 1 MiB; the newest are kept). */
  logLimit?: number;
  /** What the guest reads on stdin. */
  stdin?: Uint8Array;
  /** Called with each chunk the guest writes to stdout, as it arrives (in batches of writes). */
  stdout?: (chunk: Uint8Array) => void;
  stderr?: (chunk: Uint8Array) => void;
  /** The store an image (or image ref) source is in. */
  store?: ImageStore;
  /** The runtime to run in (default: a shared one on the default platform). */
  runtime?: Runtime;
}

export interface RunResult {
  exitCode: number;
  /** `Completed` (exit 0), `Error` (non-zero exit, or a trap: 134), `OOMKilled`, `DeadlineExceeded`, `Killed`. */
  reason: ExitReason;
  /** The trap or failure that ended the run, if any. */
  message?: string;
  stdout: string;
  stderr: string;
}

let shared: Runtime | undefined;

/** The runtime `Sandbox.run` uses without `options.runtime`: made on first use. */
export function sharedRuntime(): Runtime {
  shared ??= new Runtime();
  return shared;
}

export const Sandbox = {
  /** Runs `source`: wasm bytes, a compiled module (both over an empty root), or an image (or ref, with `store`). */
  async run(source: Uint8Array | WebAssembly.Module | Image | string, options: RunOptions = {}): Promise<RunResult> {
    const runtime = options.runtime ?? sharedRuntime();
    const bare = source instanceof Uint8Array || source instanceof WebAssembly.Module;
    const spec: ContainerSpec = {
      ...(bare ? { module: source, entrypoint: [options.name ?? 'main.wasm'] } : { image: source }),
      ...(options.args !== undefined ? { cmd: options.args } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.volumes !== undefined ? { mounts: options.volumes } : {}),
      ...(options.memory !== undefined ? { memory: parseSize(options.memory) } : {}),
      ...(options.timeout !== undefined ? { timeout: parseDuration(options.timeout) } : {}),
      ...(options.maxOpenFiles !== undefined ? { maxOpenFiles: options.maxOpenFiles } : {}),
      ...(options.logLimit !== undefined ? { logLimit: options.logLimit } : {}),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.store !== undefined ? { store: options.store } : {}),
      ...(options.stdout !== undefined || options.stderr !== undefined
        ? { onLog: (e) => (e.stream === 'stdout' ? options.stdout?.(e.bytes) : options.stderr?.(e.bytes)) }
        : {}),
      keepFiles: false,
    };
    const c = await runtime.create(spec);
    try {
      const exited = runtime.wait(c.id);
      await runtime.start(c.id);
      const status = await exited;
      const logs = runtime.logs(c.id);
      return {
        exitCode: status.exitCode,
        reason: status.reason,
        ...(status.message !== undefined ? { message: status.message } : {}),
        stdout: logs.text('stdout'),
        stderr: logs.text('stderr'),
      };
    } finally {
      await runtime.remove(c.id, { force: true, volumes: true });
    }
  },
};
