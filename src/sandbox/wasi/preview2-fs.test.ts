import { describe, expect, it } from 'vitest';
import { thrown as code } from '../testing/thrown.js';
import { Overlay } from '../../layers/overlay.js';
import { OverlayFs } from '../overlay-fs.js';
import { Vfs } from '../vfs.js';
import { Preview1 } from './preview1.js';
import { Preview2 } from './preview2.js';
import { filesystem } from './preview2-fs.js';

type Obj = Record<string | symbol, (...args: unknown[]) => unknown>;
const DISPOSE = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');

/** A component's filesystem imports over an empty overlay root, preopened as `/`. */
function setup(): { fs: (name: string) => Obj; root: Obj; overlay: Overlay } {
  const overlay = new Overlay([], { clock: () => 1_700_000_000_000_000_000n });
  const vfs = new Vfs(new OverlayFs(overlay));
  const p1 = new Preview1({ args: [], env: [], vfs, preopens: [{ name: '/', dir: vfs.root }] });
  const p2 = new Preview2({
    args: [],
    env: [],
    stdout: () => {},
    stderr: () => {},
    clock: { realtime: () => 0n, monotonic: () => 0n, sleep: () => {} },
    checkpoint: () => {},
    filesystem: (input, output) => filesystem(p1, input, output),
  });
  const fs = (name: string): Obj => p2.imports[name] as Obj;
  const dirs = fs('wasi:filesystem/preopens').getDirectories?.() as [Obj, string][];
  expect(dirs.map(([, name]) => name)).toEqual(['/']);
  return { fs, root: (dirs[0] as [Obj, string])[0], overlay };
}

describe('wasi:filesystem over the preview 1 layer', () => {
  it('creates, writes through a stream, reads back, stats and lists a file', () => {
    const { root } = setup();
    const f = root.openAt?.({}, 'notes.txt', { create: true, exclusive: true }, { read: true, write: true }) as Obj;
    const out = f.writeViaStream?.(0n) as Obj;
    out.blockingWriteAndFlush?.(new TextEncoder().encode('hello, files'));
    out[DISPOSE]?.();
    expect((f.stat?.() as { type: string; size: bigint }).size).toBe(12n);
    const input = f.readViaStream?.(7n) as Obj;
    expect(new TextDecoder().decode(input.blockingRead?.(100n) as Uint8Array)).toBe('files');
    expect(code(() => input.blockingRead?.(100n))).toEqual({ tag: 'closed' });
    const [bytes, eof] = f.read?.(5n, 0n) as [Uint8Array, boolean];
    expect([new TextDecoder().decode(bytes), eof]).toEqual(['hello', false]);
    expect(f.getType?.()).toBe('regular-file');
    // An append stream writes at the end as it is at each write.
    const tail = f.appendViaStream?.() as Obj;
    tail.blockingWriteAndFlush?.(new TextEncoder().encode('!'));
    tail.blockingWriteAndFlush?.(new TextEncoder().encode('?'));
    expect(new TextDecoder().decode((f.read?.(100n, 0n) as [Uint8Array, boolean])[0])).toBe('hello, files!?');
    f[DISPOSE]?.();

    root.createDirectoryAt?.('sub');
    const entries = root.readDirectory?.() as Obj;
    const seen: unknown[] = [];
    for (let e = entries.readDirectoryEntry?.(); e !== undefined; e = entries.readDirectoryEntry?.()) seen.push(e);
    expect(seen).toEqual([
      { type: 'regular-file', name: 'notes.txt' },
      { type: 'directory', name: 'sub' },
    ]);
    expect((root.statAt?.({}, 'sub') as { type: string }).type).toBe('directory');
  });

  it("answers with wasi:filesystem error codes, and keeps the preview 1 layer's sandbox", () => {
    const { root } = setup();
    expect(code(() => root.openAt?.({}, 'missing', {}, { read: true }))).toBe('no-entry');
    root.openAt?.({}, 'a', { create: true }, { write: true });
    expect(code(() => root.openAt?.({}, 'a', { create: true, exclusive: true }, { write: true }))).toBe('exist');
    expect(code(() => root.openAt?.({}, 'a', { directory: true }, { read: true }))).toBe('not-directory');
    expect(code(() => root.removeDirectoryAt?.('a'))).toBe('not-directory');
    // `..` at the root stays at the root (a container's `/`), so this is the same `a`.
    expect((root.statAt?.({}, '../../a') as { type: string }).type).toBe('regular-file');
    // A descriptor opened read-only gives no write access beneath it (wasmtime's rule).
    const ro = root.openAt?.({}, '.', { directory: true }, { read: true }) as Obj;
    expect(code(() => ro.openAt?.({}, 'b', { create: true }, { write: true }))).toBe('read-only');
    const r = root.openAt?.({}, 'a', {}, { read: true }) as Obj;
    expect(code(() => r.writeViaStream?.(0n))).toBe('bad-descriptor');
    // Bounded: a huge write is partial, a huge path is name-too-long.
    const w = root.openAt?.({}, 'a', {}, { write: true }) as Obj;
    expect(w.write?.(new Uint8Array(1 << 20), 0n)).toBe(65536n);
    expect(code(() => root.statAt?.({}, 'x'.repeat(5000)))).toBe('name-too-long');
    root.unlinkFileAt?.('a');
    expect(code(() => root.statAt?.({}, 'a'))).toBe('no-entry');
  });

  it('dropping a preopen handle closes nothing: the next get-directories still works', () => {
    const { fs, root } = setup();
    root[DISPOSE]?.();
    const again = (fs('wasi:filesystem/preopens').getDirectories?.() as [Obj, string][])[0]?.[0];
    expect(code(() => again?.createDirectoryAt?.('still-here'))).toBe('ok');
  });
});
