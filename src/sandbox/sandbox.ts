/**
 * `Sandbox.run`: the one-call API for plugin hosts. Runs a WASI preview 1 module and
 * resolves when it exits.
 *
 * Denied by default (wasmtime's rule, STYLE §8): the guest sees no files, no network,
 * no environment and no arguments beyond what `options` grants.
 *
 * This is the first cut: the module runs in the caller's thread with no filesystem.
 * Images, volumes, limits and a thread per container come with the container runtime.
 */
import { ConsoleStdout, WASI, WASIProcExit } from '@bjorn3/browser_wasi_shim';

export interface RunOptions {
  /** argv[1…]; argv[0] is `name`. */
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** argv[0] (default `main.wasm`). */
  name?: string;
  /** Called with each chunk the guest writes to stdout, as it is written. */
  stdout?: (chunk: Uint8Array) => void;
  stderr?: (chunk: Uint8Array) => void;
}

export interface RunResult {
  exitCode: number;
  /** Why the guest stopped: `exited` (returned or proc_exit) or `trapped`. */
  reason: 'exited' | 'trapped';
  stdout: string;
  stderr: string;
}

export const Sandbox = {
  async run(wasm: Uint8Array | WebAssembly.Module, options: RunOptions = {}): Promise<RunResult> {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const stdin = new ConsoleStdout(() => {});
    const stdout = new ConsoleStdout((chunk) => {
      out.push(chunk.slice());
      options.stdout?.(chunk);
    });
    const stderr = new ConsoleStdout((chunk) => {
      err.push(chunk.slice());
      options.stderr?.(chunk);
    });
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const wasi = new WASI([options.name ?? 'main.wasm', ...(options.args ?? [])], env, [stdin, stdout, stderr], {
      // browser_wasi_shim logs every call unless told not to (undefined means enabled).
      debug: false,
    });
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    let exitCode = 0;
    let reason: RunResult['reason'] = 'exited';
    try {
      exitCode = wasi.start(instance as unknown as Parameters<WASI['start']>[0]);
    } catch (e) {
      if (e instanceof WASIProcExit) exitCode = e.code;
      else if (e instanceof WebAssembly.RuntimeError) {
        exitCode = 134;
        reason = 'trapped';
        err.push(new TextEncoder().encode(`trap: ${e.message}\n`));
      } else throw e;
    }
    const decode = (parts: Uint8Array[]): string => new TextDecoder().decode(concat(parts));
    return { exitCode, reason, stdout: decode(out), stderr: decode(err) };
  },
};

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
