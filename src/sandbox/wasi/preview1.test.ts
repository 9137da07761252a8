import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Overlay } from '../../layers/overlay.js';
import { runInThread } from './testing.js';

const guest = (name: string): WebAssembly.Module => new WebAssembly.Module(readFileSync(new URL(`../../../guests/wasm/${name}.wasm`, import.meta.url)));
const golden = (name: string): string => readFileSync(new URL(`../../../guests/expected/${name}`, import.meta.url), 'utf8');

describe('Preview1 over the overlay', () => {
  it('hello prints args, env, cwd and exits with its argument', () => {
    const r = runInThread(guest('hello'), ['hello', '7', 'ünï'], { env: ['A=b', 'Ü=ö'] });
    expect(r.stdout).toBe('arg[0]=hello\narg[1]=7\narg[2]=ünï\nenv A=b\nenv Ü=ö\ncwd=/\n');
    expect(r.exitCode).toBe(7);
  });

  it('fsops in the overlay prints the transcript Linux gives', () => {
    const overlay = new Overlay([]);
    overlay.mkdir(overlay.root, 'work');
    const r = runInThread(guest('fsops'), ['fsops', '/work'], { overlay });
    expect(r.stdout).toBe(golden('fsops.txt'));
    expect(r.exitCode).toBe(0);
  });
});

// ----------------------------------------------------------------------------------------
// Where browser_wasi_shim is wrong or slow, and skiff's override is not: each case calls
// the same import on the shim and on Preview1 with the same memory and compares.

import { File as ShimFile, OpenFile as ShimOpenFile, WASI as ShimWASI, PreopenDirectory as ShimPreopen } from '@bjorn3/browser_wasi_shim';
import { FileNode } from '../../layers/overlay.js';
import { OverlayFs } from '../overlay-fs.js';
import { Vfs } from '../vfs.js';
import { Preview1 } from './preview1.js';

type Imports = Record<string, (...a: (number | bigint)[]) => number>;

function both(setup: (o: Overlay) => void, args: string[] = ['x']): { shim: Imports; ours: Imports; mem: DataView; u8: Uint8Array; shimFile: InstanceType<typeof ShimFile> } {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const shimFile = new ShimFile(new TextEncoder().encode('hello'));
  const shim = new ShimWASI(args, [], [new ShimOpenFile(shimFile), new ShimOpenFile(new ShimFile([])), new ShimOpenFile(new ShimFile([])), new ShimPreopen('/', new Map([['f', shimFile]]))], { debug: false });
  shim.inst = { exports: { memory } };
  const overlay = new Overlay([], { clock: () => 1_700_000_000_123_456_789n });
  setup(overlay);
  const vfs = new Vfs(new OverlayFs(overlay));
  const ours = new Preview1({ args, env: [], vfs, preopens: [{ name: '/', dir: vfs.root }] });
  ours.bind(memory);
  return { shim: shim.wasiImport as unknown as Imports, ours: ours.wasiImport as unknown as Imports, mem: new DataView(memory.buffer), u8: new Uint8Array(memory.buffer), shimFile };
}

describe('Preview1 versus browser_wasi_shim', () => {
  it('filestat: the shim writes the timestamps at the wrong offsets and nlink 0', () => {
    const { shim, ours, mem, u8 } = both((o) => {
      const f = o.open(o.root, 'f', { create: true }) as FileNode;
      o.write(f, 0, new TextEncoder().encode('hello'));
      o.setTimes(f, 1_000_000_000n, 2_000_000_000n);
    });
    // Filestat: dev@0 ino@8 filetype@16 nlink@24 size@32 atim@40 mtim@48 ctim@56.
    u8.fill(0xee, 0, 256);
    // A path that is not UTF-8 is EILSEQ (25), as wasmtime.
    expect(ours.path_filestat_get?.(3, 1, 200, 1, 0)).toBe(25);
    u8.set(new TextEncoder().encode('f'), 200);
    expect(ours.path_filestat_get?.(3, 1, 200, 1, 0)).toBe(0);
    expect(mem.getBigUint64(24, true)).toBe(1n);
    expect(mem.getBigUint64(32, true)).toBe(5n);
    expect(mem.getBigUint64(40, true)).toBe(1_000_000_000n);
    expect(mem.getBigUint64(48, true)).toBe(2_000_000_000n);
    u8.fill(0xee, 0, 64);
    expect(shim.path_filestat_get?.(3, 1, 200, 1, 0)).toBe(0);
    expect(mem.getBigUint64(24, true)).toBe(0n); // nlink 0
    // atim/mtim/ctim (all 0 in the shim) are written at 38, 46 and 52, so the last four
    // bytes of the real ctim field (56..63) are never written: ctim reads garbage.
    expect(u8[60]).toBe(0xee);
    expect(mem.getBigUint64(56, true)).not.toBe(0n);
  });

  it('args: the shim sizes non-ASCII arguments in UTF-16 units, not UTF-8 bytes', () => {
    const { shim, ours, mem } = both(() => {}, ['ünï']);
    expect(ours.args_sizes_get?.(0, 4)).toBe(0);
    expect(mem.getUint32(4, true)).toBe(new TextEncoder().encode('ünï').length + 1);
    expect(shim.args_sizes_get?.(0, 4)).toBe(0);
    expect(mem.getUint32(4, true)).toBe('ünï'.length + 1);
  });

  it('poll_oneoff: the shim refuses two clock subscriptions; skiff waits for the earliest', () => {
    const { shim, ours, mem } = both(() => {});
    // Two relative monotonic clocks of 1 ms and 1 s, userdata 11 and 22.
    for (const [i, [ud, ns]] of [[11n, 1_000_000n], [22n, 1_000_000_000n]].entries()) {
      const p = i * 48;
      mem.setBigUint64(p, ud as bigint, true);
      mem.setUint8(p + 8, 0);
      mem.setUint32(p + 16, 1, true);
      mem.setBigUint64(p + 24, ns as bigint, true);
      mem.setUint16(p + 40, 0, true);
    }
    const t0 = performance.now();
    expect(ours.poll_oneoff?.(0, 200, 2, 400)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(mem.getUint32(400, true)).toBe(1);
    expect(mem.getBigUint64(200, true)).toBe(11n);
    expect(shim.poll_oneoff?.(0, 200, 2, 400)).not.toBe(0);
  });

  it('append: the shim reallocates the whole file on every write; the overlay grows in place', () => {
    const { shim, shimFile, u8 } = both(() => {});
    // A ciovec at 100 pointing at 10 bytes at 120.
    const dv = new DataView(u8.buffer);
    dv.setUint32(100, 120, true);
    dv.setUint32(104, 10, true);
    const buffers = new Set<ArrayBufferLike>();
    for (let i = 0; i < 20; i++) {
      expect(shim.fd_write?.(0, 100, 1, 108)).toBe(0);
      buffers.add(shimFile.data.buffer);
    }
    expect(buffers.size).toBe(20); // a new buffer per write: quadratic copying

    const o = new Overlay([]);
    const f = o.open(o.root, 'f', { create: true }) as FileNode;
    const chunks = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      o.write(f, o.stat(f).size, new Uint8Array(10));
      chunks.add((f.content as unknown as { chunks: unknown[] }).chunks[0]);
    }
    expect(chunks.size).toBeLessThanOrEqual(3); // capacity doubling: 64 → 128 → 256 bytes
  });
});

// ----------------------------------------------------------------------------------------
// A pre-opened socket at fd 3 must not hide the directories preopened after it.

import { Errno } from '../../layers/errno.js';
import type { ExtraDescriptor } from './options.js';

/** A listening socket that never has a connection (enough for the startup scan). */
const idleSocket = (): ExtraDescriptor => ({ filetype: 6 /* SOCKET_STREAM */, flags: 0, close: () => {}, accept: () => Errno.of('EAGAIN') });

describe('Preview1: a pre-opened socket before the preopened directories', () => {
  it('fd_prestat_get answers the socket with a non-dir tag (not EBADF), and the dir after it as usual', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const overlay = new Overlay([]);
    const vfs = new Vfs(new OverlayFs(overlay));
    const p = new Preview1({ args: ['x'], env: [], vfs, preopens: [{ name: '/', dir: vfs.root }], extraFds: [idleSocket()] });
    p.bind(memory);
    const f = p.wasiImport as unknown as Imports;
    const dv = new DataView(memory.buffer);
    expect(f.fd_prestat_get?.(3, 16)).toBe(0);
    expect(dv.getUint8(16)).toBe(1); // not 0 (dir): wasi-libc skips it and scans on
    expect(f.fd_prestat_dir_name?.(3, 32, 1)).toBe(54); // ENOTDIR
    expect(f.fd_prestat_get?.(4, 16)).toBe(0);
    expect(dv.getUint8(16)).toBe(0);
    expect(dv.getUint32(20, true)).toBe(1);
    expect(f.fd_prestat_get?.(5, 16)).toBe(8); // EBADF ends the scan
    // fd_fdstat_get still says what it is.
    expect(f.fd_fdstat_get?.(3, 64)).toBe(0);
    expect(dv.getUint8(64)).toBe(6);
  });

  it('a C guest (wasi-libc) with a socket at fd 3 still finds "/" at fd 4; with EBADF (wasmtime) it would not', () => {
    const run = (patch: boolean): { exitCode: number; stdout: string } => {
      const overlay = new Overlay([]);
      overlay.mkdir(overlay.root, 'work');
      const vfs = new Vfs(new OverlayFs(overlay));
      const out: Uint8Array[] = [];
      const p = new Preview1({ args: ['fsops', '/work'], env: [], vfs, preopens: [{ name: '/', dir: vfs.root }], extraFds: [idleSocket()], stdio: { stdout: (c) => out.push(c) } });
      const imports = p.imports;
      if (patch) {
        // What wasmtime answers for a socket: EBADF.
        const wasiImports = imports.wasi_snapshot_preview1 as Record<string, (...a: number[]) => number>;
        const real = wasiImports.fd_prestat_get as (...a: number[]) => number;
        wasiImports.fd_prestat_get = (fd: number, ptr: number) => (fd === 3 ? 8 : real(fd, ptr));
      }
      const instance = new WebAssembly.Instance(guest('fsops'), imports);
      const exitCode = p.start(instance as unknown as Parameters<Preview1['start']>[0]);
      return { exitCode, stdout: out.map((c) => new TextDecoder().decode(c)).join('') };
    };
    const ok = run(false);
    expect(ok.stdout).toBe(golden('fsops.txt'));
    expect(ok.exitCode).toBe(0);
    const hidden = run(true);
    expect(hidden.exitCode).toBe(2); // fsops: cannot create /work/fsops.d (no preopen matches "/")
  });
});
