/**
 * The conformance suite every `MountFs` runs (STYLE §3): OverlayFs (the image root),
 * PathFs over memfs and over a real directory, and RemoteFs (a volume served from another
 * thread). A test file calls `mountFsSuite('memfs', () => new PathFs(…))` at top level;
 * the suite registers its own `describe` block.
 *
 * It checks the contracts of vfs.ts's `MountFs` through that interface only: single
 * component names, no symlink followed, identity (`key`) shared by hard links, errno
 * values for every expected failure, and the POSIX outcomes the WASI layer relies on
 * (rename over files and directories, unlink of a file a descriptor still holds).
 *
 * `readonlyMountFsSuite` checks a read-only view of a tree that a writable view of the
 * same tree fills: every mutation is EROFS and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { EEXIST, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EROFS, Errno } from '../../layers/errno.js';
import type { MountFs } from '../vfs.js';

type Fs = MountFs<unknown>;
/** A fresh, empty filesystem per test, and what to do after it. */
export interface MountFsFixture {
  readonly fs: Fs;
  cleanup?(): void | Promise<void>;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The value, or a test failure naming the errno. */
export function ok<T>(v: T | Errno, what = 'call'): T {
  if (v instanceof Errno) throw new Error(`${what}: ${v.code}`);
  return v;
}

/** The optional `open` hook (PathFs, RemoteFs): take the host handle now, as a descriptor would. */
function openHook(fs: Fs, node: unknown): void {
  const f = fs as Fs & { open?(node: unknown, write?: boolean): Errno | undefined };
  if (f.open !== undefined) expect(f.open(node)).toBeUndefined();
}

export function readAll(fs: Fs, node: unknown): string {
  const st = ok(fs.stat(node), 'stat');
  const buf = new Uint8Array(st.size);
  expect(fs.read(node, 0, buf)).toBe(st.size);
  return dec(buf);
}

export function makeFile(fs: Fs, dir: unknown, name: string, content: string | Uint8Array, mode = 0o644): unknown {
  const node = ok(fs.createFile(dir, name, mode), `createFile ${name}`);
  const bytes = typeof content === 'string' ? enc(content) : content;
  expect(fs.write(node, 0, bytes)).toBe(bytes.length);
  return node;
}

/** Index of the first differing byte, or -1 (vitest's deep equality is slow on MiBs). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function names(fs: Fs, dir: unknown): string[] {
  return ok(fs.readdir(dir), 'readdir').map((d) => d.name);
}

export interface SuiteOptions {
  /**
   * Tests this implementation is known to fail, by title, with the reason. They run as
   * `it.fails`, so the suite goes red when one starts passing (remove it from here then).
   */
  readonly knownFailures?: Readonly<Record<string, string>>;
}

export function mountFsSuite(name: string, make: () => MountFsFixture | Promise<MountFsFixture>, options: SuiteOptions = {}): void {
  describe(`MountFs conformance: ${name}`, () => {
    const withFs = (title: string, body: (fs: Fs, root: unknown) => void | Promise<void>): void => {
      const known = options.knownFailures?.[title];
      const test = known === undefined ? it : it.fails;
      test(known === undefined ? title : `${title} (known failure: ${known})`, async () => {
        const fixture = await make();
        try {
          await body(fixture.fs, fixture.fs.root());
        } finally {
          await fixture.cleanup?.();
        }
      });
    };

    withFs('the root is an empty directory with no parent', (fs, root) => {
      expect(fs.kind(root)).toBe('dir');
      expect(fs.parent(root)).toBeUndefined();
      expect(ok(fs.stat(root)).kind).toBe('dir');
      expect(fs.readdir(root)).toEqual([]);
      expect(fs.key(fs.root())).toBe(fs.key(root));
    });

    withFs('createFile makes an empty file; a second one of that name is EEXIST', (fs, root) => {
      const f = ok(fs.createFile(root, 'a.txt', 0o640));
      expect(fs.kind(f)).toBe('file');
      const st = ok(fs.stat(f));
      expect(st).toMatchObject({ kind: 'file', size: 0, nlink: 1 });
      expect(st.mode & 0o777).toBe(0o640);
      expect(fs.createFile(root, 'a.txt', 0o644)).toBe(EEXIST);
      const again = ok(fs.lookup(root, 'a.txt'));
      expect(fs.key(again)).toBe(fs.key(f));
      expect(ok(fs.stat(again)).ino).toBe(st.ino);
    });

    withFs('lookup: ENOENT for a missing name, ENOTDIR inside a file', (fs, root) => {
      expect(fs.lookup(root, 'missing')).toBe(ENOENT);
      const f = makeFile(fs, root, 'f', 'x');
      expect(fs.lookup(f, 'x')).toBe(ENOTDIR);
    });

    withFs('names with a slash or dot-dot never leave the directory', (fs, root) => {
      const d = ok(fs.mkdir(root, 'd', 0o755));
      makeFile(fs, root, 'top', 'top');
      for (const bad of ['../top', '..', 'a/b', '/top']) {
        expect(fs.lookup(d, bad)).toBeInstanceOf(Errno);
        expect(fs.createFile(d, bad, 0o644)).toBeInstanceOf(Errno);
      }
      expect(names(fs, root)).toEqual(['d', 'top']);
      expect(names(fs, d)).toEqual([]);
    });

    withFs('reads and writes at positions; a write past the end leaves zeros; EOF reads 0', (fs, root) => {
      const f = ok(fs.createFile(root, 'f', 0o644));
      expect(fs.write(f, 0, enc('hello world'))).toBe(11);
      expect(fs.write(f, 6, enc('WORLD'))).toBe(5);
      expect(readAll(fs, f)).toBe('hello WORLD');
      expect(fs.write(f, 14, enc('!'))).toBe(1);
      const all = new Uint8Array(20);
      expect(fs.read(f, 0, all)).toBe(15);
      expect([...all.subarray(11, 14)]).toEqual([0, 0, 0]);
      const tail = new Uint8Array(10);
      expect(fs.read(f, 12, tail)).toBe(3);
      expect(fs.read(f, 15, tail)).toBe(0);
      expect(fs.read(f, 100, tail)).toBe(0);
      expect(ok(fs.stat(f)).size).toBe(15);
    });

    withFs('large writes and reads round-trip (several MiB)', (fs, root) => {
      const big = new Uint8Array(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const f = ok(fs.createFile(root, 'big', 0o644));
      expect(fs.write(f, 0, big)).toBe(big.length);
      const back = new Uint8Array(big.length);
      expect(fs.read(f, 0, back)).toBe(big.length);
      expect(firstDifference(back, big)).toBe(-1);
    });

    withFs('truncate shrinks and grows with zeros', (fs, root) => {
      const f = makeFile(fs, root, 'f', 'abcdef');
      expect(fs.truncate(f, 3)).toBeUndefined();
      expect(readAll(fs, f)).toBe('abc');
      expect(fs.truncate(f, 5)).toBeUndefined();
      const b = new Uint8Array(5);
      expect(fs.read(f, 0, b)).toBe(5);
      expect([...b]).toEqual([97, 98, 99, 0, 0]);
      expect(fs.truncate(f, 0)).toBeUndefined();
      expect(ok(fs.stat(f)).size).toBe(0);
    });

    withFs('read and write of a directory are EISDIR', (fs, root) => {
      const d = ok(fs.mkdir(root, 'd', 0o755));
      expect(fs.read(d, 0, new Uint8Array(1))).toBe(EISDIR);
      expect(fs.write(d, 0, enc('x'))).toBe(EISDIR);
    });

    withFs('mkdir: nested directories know their parent', (fs, root) => {
      const a = ok(fs.mkdir(root, 'a', 0o750));
      expect(fs.kind(a)).toBe('dir');
      expect(ok(fs.stat(a)).mode & 0o777).toBe(0o750);
      const b = ok(fs.mkdir(a, 'b', 0o755));
      expect(fs.key(fs.parent(b))).toBe(fs.key(a));
      expect(fs.key(fs.parent(a))).toBe(fs.key(root));
      expect(fs.mkdir(root, 'a', 0o755)).toBe(EEXIST);
      const f = makeFile(fs, b, 'f', 'deep');
      expect(readAll(fs, ok(fs.lookup(ok(fs.lookup(ok(fs.lookup(root, 'a')), 'b')), 'f')))).toBe('deep');
      expect(fs.mkdir(f, 'x', 0o755)).toBeInstanceOf(Errno);
    });

    withFs('readdir lists names, kinds and inode numbers in a stable order, without . and ..', (fs, root) => {
      makeFile(fs, root, 'b', '');
      ok(fs.mkdir(root, 'a', 0o755));
      ok(fs.symlink('b', root, 'c'));
      const list = ok(fs.readdir(root));
      expect([...list].sort((x, y) => (x.name < y.name ? -1 : 1)).map((d) => [d.name, d.kind])).toEqual([
        ['a', 'dir'],
        ['b', 'file'],
        ['c', 'symlink'],
      ]);
      for (const d of list) expect(d.ino).toBe(ok(fs.stat(ok(fs.lookup(root, d.name)))).ino);
      expect(ok(fs.readdir(root)).map((d) => d.name)).toEqual(list.map((d) => d.name));
      expect(fs.readdir(ok(fs.lookup(root, 'b')))).toBe(ENOTDIR);
    });

    withFs('symlinks are stored verbatim and never followed', (fs, root) => {
      makeFile(fs, root, 'target', 'T');
      const rel = ok(fs.symlink('target', root, 'rel'));
      const abs = ok(fs.symlink('/etc/passwd', root, 'abs'));
      const up = ok(fs.symlink('../../..', root, 'up'));
      ok(fs.symlink('nowhere', root, 'dangling'));
      expect(fs.kind(rel)).toBe('symlink');
      expect(fs.readlink(rel)).toBe('target');
      expect(fs.readlink(abs)).toBe('/etc/passwd');
      expect(fs.readlink(up)).toBe('../../..');
      expect(fs.readlink(ok(fs.lookup(root, 'dangling')))).toBe('nowhere');
      expect(fs.kind(ok(fs.lookup(root, 'rel')))).toBe('symlink');
      expect(ok(fs.stat(rel)).kind).toBe('symlink');
      expect(fs.readlink(ok(fs.lookup(root, 'target')))).toBe(EINVAL);
      expect(fs.read(rel, 0, new Uint8Array(4))).toBeInstanceOf(Errno);
      expect(fs.write(rel, 0, enc('x'))).toBeInstanceOf(Errno);
      expect(fs.lookup(up, 'x')).toBe(ENOTDIR);
      expect(fs.symlink('x', root, 'rel')).toBe(EEXIST);
      expect(readAll(fs, ok(fs.lookup(root, 'target')))).toBe('T');
    });

    withFs('hard links share identity and content; directories cannot be linked', (fs, root) => {
      const a = makeFile(fs, root, 'a', 'one');
      const d = ok(fs.mkdir(root, 'd', 0o755));
      expect(fs.link(a, d, 'b')).toBeUndefined();
      const b = ok(fs.lookup(d, 'b'));
      expect(fs.key(b)).toBe(fs.key(a));
      expect(ok(fs.stat(a)).nlink).toBe(2);
      expect(ok(fs.stat(b)).ino).toBe(ok(fs.stat(a)).ino);
      expect(fs.write(b, 3, enc('+two'))).toBe(4);
      expect(readAll(fs, ok(fs.lookup(root, 'a')))).toBe('one+two');
      expect(fs.link(d, root, 'd2')).toBe(EPERM);
      expect(fs.link(a, d, 'b')).toBe(EEXIST);
      expect(fs.unlink(root, 'a')).toBeUndefined();
      expect(readAll(fs, ok(fs.lookup(d, 'b')))).toBe('one+two');
      expect(ok(fs.stat(ok(fs.lookup(d, 'b')))).nlink).toBe(1);
    });

    withFs('hard links to symlinks are symlinks', (fs, root) => {
      const s = ok(fs.symlink('/outside', root, 's'));
      const r = fs.link(s, root, 's2');
      if (r === undefined) {
        const s2 = ok(fs.lookup(root, 's2'));
        expect(fs.kind(s2)).toBe('symlink');
        expect(fs.readlink(s2)).toBe('/outside');
      } else expect(r).toBe(EPERM);
    });

    withFs('unlink removes a name; a held file stays readable and writable', (fs, root) => {
      const f = makeFile(fs, root, 'f', 'held');
      const other = ok(fs.lookup(root, 'f'));
      openHook(fs, other);
      expect(fs.unlink(root, 'f')).toBeUndefined();
      expect(fs.lookup(root, 'f')).toBe(ENOENT);
      expect(names(fs, root)).toEqual([]);
      expect(readAll(fs, f)).toBe('held');
      expect(readAll(fs, other)).toBe('held');
      expect(fs.write(f, 4, enc('!'))).toBe(1);
      expect(readAll(fs, other)).toBe('held!');
      expect(fs.unlink(root, 'f')).toBe(ENOENT);
      ok(fs.mkdir(root, 'd', 0o755));
      expect(fs.unlink(root, 'd')).toBe(EISDIR);
    });

    withFs('unlink of a symlink removes the link, not its target', (fs, root) => {
      makeFile(fs, root, 't', 'target');
      ok(fs.symlink('t', root, 'l'));
      expect(fs.unlink(root, 'l')).toBeUndefined();
      expect(names(fs, root)).toEqual(['t']);
    });

    withFs('rmdir: empty directories only', (fs, root) => {
      const d = ok(fs.mkdir(root, 'd', 0o755));
      makeFile(fs, d, 'f', '');
      expect(fs.rmdir(root, 'd')).toBe(ENOTEMPTY);
      expect(fs.rmdir(d, 'f')).toBe(ENOTDIR);
      expect(fs.unlink(d, 'f')).toBeUndefined();
      expect(fs.rmdir(root, 'd')).toBeUndefined();
      expect(fs.rmdir(root, 'd')).toBe(ENOENT);
      expect(fs.createFile(d, 'x', 0o644)).toBe(ENOENT);
      ok(fs.mkdir(root, 'e', 0o755));
      ok(fs.symlink('e', root, 'l'));
      expect(fs.rmdir(root, 'l')).toBe(ENOTDIR);
    });

    withFs('rename: files, replacing files, directories with their contents', (fs, root) => {
      const f = makeFile(fs, root, 'a', 'A');
      makeFile(fs, root, 'b', 'B');
      expect(fs.rename(root, 'a', root, 'b')).toBeUndefined();
      expect(names(fs, root)).toEqual(['b']);
      expect(readAll(fs, ok(fs.lookup(root, 'b')))).toBe('A');
      expect(readAll(fs, f)).toBe('A');
      const d = ok(fs.mkdir(root, 'd', 0o755));
      makeFile(fs, d, 'inner', 'I');
      const e = ok(fs.mkdir(root, 'e', 0o755));
      expect(fs.rename(root, 'd', e, 'moved')).toBeUndefined();
      expect(readAll(fs, ok(fs.lookup(ok(fs.lookup(ok(fs.lookup(root, 'e')), 'moved')), 'inner')))).toBe('I');
      expect(fs.rename(root, 'nope', root, 'x')).toBe(ENOENT);
      expect(fs.rename(root, 'b', e, 'b2')).toBeUndefined();
      expect(names(fs, e)).toEqual(['b2', 'moved']);
    });

    withFs('rename: the outcomes of replacing directories', (fs, root) => {
      const d = ok(fs.mkdir(root, 'd', 0o755));
      const sub = ok(fs.mkdir(d, 'sub', 0o755));
      makeFile(fs, root, 'f', 'F');
      ok(fs.mkdir(root, 'empty', 0o755));
      const full = ok(fs.mkdir(root, 'full', 0o755));
      makeFile(fs, full, 'x', '');
      expect(fs.rename(root, 'd', sub, 'loop')).toBe(EINVAL);
      expect(fs.rename(root, 'f', root, 'empty')).toBe(EISDIR);
      expect(fs.rename(root, 'd', root, 'f')).toBe(ENOTDIR);
      expect(fs.rename(root, 'd', root, 'full')).toBe(ENOTEMPTY);
      expect(fs.rename(root, 'd', root, 'empty')).toBeUndefined();
      expect(names(fs, root)).toEqual(['empty', 'f', 'full']);
      expect(names(fs, ok(fs.lookup(root, 'empty')))).toEqual(['sub']);
    });

    withFs('rename of one hard link over another is a no-op', (fs, root) => {
      const a = makeFile(fs, root, 'a', 'A');
      expect(fs.link(a, root, 'b')).toBeUndefined();
      expect(fs.rename(root, 'a', root, 'b')).toBeUndefined();
      expect(names(fs, root)).toEqual(['a', 'b']);
    });

    withFs('setTimes sets atime and mtime (ns); undefined leaves one unchanged', (fs, root) => {
      const f = makeFile(fs, root, 'f', 'x');
      const t1 = 1_600_000_000n * 1_000_000_000n;
      const t2 = 1_650_000_000n * 1_000_000_000n;
      expect(fs.setTimes(f, t1, t2)).toBeUndefined();
      expect(ok(fs.stat(f))).toMatchObject({ atime: t1, mtime: t2 });
      expect(fs.setTimes(f, undefined, t1)).toBeUndefined();
      expect(ok(fs.stat(f))).toMatchObject({ atime: t1, mtime: t1 });
      const d = ok(fs.mkdir(root, 'd', 0o755));
      expect(fs.setTimes(d, t2, t2)).toBeUndefined();
      expect(ok(fs.stat(ok(fs.lookup(root, 'd')))).mtime).toBe(t2);
    });

    withFs('sync succeeds on files and directories', (fs, root) => {
      const f = makeFile(fs, root, 'f', 'x');
      expect(fs.sync(f)).toBeUndefined();
      expect(fs.sync(root)).toBeUndefined();
    });

    withFs('release keeps the node usable', (fs, root) => {
      const f = makeFile(fs, root, 'f', 'abc');
      fs.release?.(f);
      expect(readAll(fs, f)).toBe('abc');
      fs.release?.(f);
      expect(fs.write(f, 0, enc('x'))).toBe(1);
      expect(readAll(fs, ok(fs.lookup(root, 'f')))).toBe('xbc');
    });
  });
}

/** `make` gives a writable and a read-only view of one fresh, empty tree. */
export function readonlyMountFsSuite(name: string, make: () => { rw: Fs; ro: Fs; cleanup?(): void | Promise<void> } | Promise<{ rw: Fs; ro: Fs; cleanup?(): void | Promise<void> }>): void {
  describe(`MountFs read-only conformance: ${name}`, () => {
    it('reads what the writable view wrote and refuses every mutation with EROFS', async () => {
      const { rw, ro, cleanup } = await make();
      try {
        const d = ok(rw.mkdir(rw.root(), 'd', 0o755));
        makeFile(rw, d, 'f', 'content');
        ok(rw.symlink('f', d, 'l'));
        expect(ro.readonly).toBe(true);
        const rd = ok(ro.lookup(ro.root(), 'd'));
        const rf = ok(ro.lookup(rd, 'f'));
        expect(readAll(ro, rf)).toBe('content');
        expect(ro.readlink(ok(ro.lookup(rd, 'l')))).toBe('f');
        expect(ro.write(rf, 0, enc('X'))).toBe(EROFS);
        expect(ro.truncate(rf, 0)).toBe(EROFS);
        expect(ro.setTimes(rf, 0n, 0n)).toBe(EROFS);
        expect(ro.createFile(rd, 'new', 0o644)).toBe(EROFS);
        expect(ro.mkdir(rd, 'new', 0o755)).toBe(EROFS);
        expect(ro.symlink('x', rd, 'new')).toBe(EROFS);
        expect(ro.link(rf, rd, 'new')).toBe(EROFS);
        expect(ro.unlink(rd, 'f')).toBe(EROFS);
        expect(ro.rmdir(ro.root(), 'd')).toBe(EROFS);
        expect(ro.rename(rd, 'f', rd, 'g')).toBe(EROFS);
        expect(readAll(ro, rf)).toBe('content');
        expect(names(ro, rd)).toEqual(['f', 'l']);
        // The writable view still writes, and the read-only one sees it.
        expect(rw.write(ok(rw.lookup(d, 'f')), 0, enc('C'))).toBe(1);
        expect(readAll(ro, rf)).toBe('Content');
      } finally {
        await cleanup?.();
      }
    });
  });
}
