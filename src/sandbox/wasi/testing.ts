/**
 * Runs a guest in the calling thread over a fresh overlay root: for tests of the WASI
 * layer alone (containers run in their own threads; see runtime.ts).
 */
import { Overlay } from '../../layers/overlay.js';
import { OverlayFs } from '../overlay-fs.js';
import { Vfs, type MountSpec } from '../vfs.js';
import type { Preview1Options } from './options.js';
import { Preview1 } from './preview1.js';

export interface InThreadRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  overlay: Overlay;
  vfs: Vfs;
}

export function runInThread(
  module: WebAssembly.Module,
  args: string[],
  options: { overlay?: Overlay; mounts?: MountSpec[]; env?: string[]; stdin?: Uint8Array; extra?: Partial<Preview1Options> } = {},
): InThreadRun {
  const overlay = options.overlay ?? new Overlay([]);
  const vfs = new Vfs(new OverlayFs(overlay), options.mounts ?? []);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const wasi = new Preview1({
    args,
    env: options.env ?? [],
    vfs,
    preopens: [{ name: '/', dir: vfs.root }],
    stdio: { stdout: (c) => out.push(c), stderr: (c) => err.push(c), ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) },
    ...options.extra,
  });
  const instance = new WebAssembly.Instance(module, wasi.imports);
  const exitCode = wasi.start(instance as unknown as Parameters<Preview1['start']>[0]);
  const text = (parts: Uint8Array[]): string => new TextDecoder().decode(concat(parts));
  return { exitCode, stdout: text(out), stderr: text(err), overlay, vfs };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
