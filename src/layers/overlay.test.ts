import { describe, expect, it } from 'vitest';
import { diffEntries, diffLayer } from './changeset.js';
import { EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, Errno } from './errno.js';
import { indexLayer } from './layer-import.js';
import type { LayerIndex } from './layer-index.js';
import { DirNode, FileNode, Overlay, type Node } from './overlay.js';
import { dumpTree, layerOf } from './testing/layers.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function ok<T>(value: T | Errno): T {
  if (value instanceof Errno) throw new Error(`unexpected ${value.code}`);
  return value;
}

function readAll(o: Overlay, path: string): string {
  const node = ok(o.resolve(o.root, path));
  return new TextDecoder().decode(o.contentOf(node as FileNode));
}

function writeFile(o: Overlay, path: string, data: string): FileNode {
  const node = ok(o.open(o.root, path, { create: true, truncate: true })) as FileNode;
  ok(o.write(node, 0, text(data)));
  return node;
}

async function base(): Promise<LayerIndex[]> {
  const l0 = await layerOf([
    ['etc/', { dir: true }],
    ['etc/passwd', 'root:x:0:0\n'],
    ['etc/hosts', '127.0.0.1 localhost\n'],
    ['usr/', { dir: true }],
    ['usr/lib/', { dir: true }],
    ['usr/lib/a.so', 'A'],
    ['usr/lib/b.so', 'B'],
    ['bin/', { dir: true }],
    ['bin/sh', { file: '#!sh', mode: 0o755 }],
    ['bin/ash', { hardlink: 'bin/sh' }],
    ['opt/', { dir: true }],
    ['opt/old', 'old'],
    ['var/', { dir: true }],
    ['var/x', 'file-in-l0'],
  ]);
  const l1 = await layerOf([
    ['etc/', { dir: true }],
    ['etc/.wh.hosts', ''],
    ['etc/motd', 'hi'],
    ['opt/', { dir: true }],
    ['opt/.wh..wh..opq', ''],
    ['opt/new', 'new'],
    ['var', 'var is a file now'],
    ['lib', { symlink: 'usr/lib' }],
  ]);
  return [l0, l1];
}

describe('overlay: reading a stack of layers', () => {
  it('merges directories, honours whiteouts, opaque dirs and replacements', async () => {
    const o = new Overlay(await base());
    expect(dumpTree(o, { modes: false })).toEqual([
      '/bin/ dir',
      '/bin/ash file "#!sh"',
      '/bin/sh file "#!sh" =0',
      '/etc/ dir',
      '/etc/motd file "hi"',
      '/etc/passwd file "root:x:0:0\\n"',
      '/lib symlink -> usr/lib',
      '/opt/ dir',
      '/opt/new file "new"',
      '/usr/ dir',
      '/usr/lib/ dir',
      '/usr/lib/a.so file "A"',
      '/usr/lib/b.so file "B"',
      '/var file "var is a file now"',
    ]);
    expect(o.resolve(o.root, 'etc/hosts')).toBe(ENOENT);
    expect(o.resolve(o.root, 'opt/old')).toBe(ENOENT);
    expect(o.resolve(o.root, 'var/x')).toBe(ENOTDIR);
    expect(readAll(o, 'lib/a.so')).toBe('A');
  });

  it('a hard link in a layer is one node with nlink 2', async () => {
    const o = new Overlay(await base());
    const sh = ok(o.resolve(o.root, '/bin/sh'));
    const ash = ok(o.resolve(o.root, '/bin/ash'));
    expect(sh).toBe(ash);
    expect(o.stat(sh).nlink).toBe(2);
    expect(o.stat(sh).mode).toBe(0o755);
  });

  it('resolves symlinks inside the root, never outside it', async () => {
    const layer = await layerOf([
      ['secret', 'inside'],
      ['abs', { symlink: '/secret' }],
      ['d/', { dir: true }],
      ['d/up', { symlink: '../../../../secret' }],
      ['d/root', { symlink: '/' }],
      ['loop1', { symlink: 'loop2' }],
      ['loop2', { symlink: 'loop1' }],
    ]).catch(() => undefined);
    // A relative symlink climbing above the root is refused at import; build it in the upper instead.
    const o = new Overlay(layer ? [layer] : []);
    if (!layer) {
      writeFile(o, 'secret', 'inside');
      ok(o.symlink('/secret', o.root, 'abs'));
      ok(o.mkdir(o.root, 'd'));
      ok(o.symlink('/', o.root, 'd/root'));
      ok(o.symlink('loop2', o.root, 'loop1'));
      ok(o.symlink('loop1', o.root, 'loop2'));
    }
    ok(o.symlink('../../../../secret', o.root, 'd/up2'));
    expect(readAll(o, 'abs')).toBe('inside');
    expect(readAll(o, 'd/up2')).toBe('inside');
    expect(readAll(o, 'd/root/d/root/secret')).toBe('inside');
    expect(readAll(o, '../../../secret')).toBe('inside');
    expect(readAll(o, '/d/../../secret')).toBe('inside');
    expect(o.resolve(o.root, 'loop1')).toBe(ELOOP);
    expect(o.resolve(o.root, 'loop1', false)).not.toBeInstanceOf(Errno);
  });

  it('reports name and path limits', () => {
    const o = new Overlay([]);
    expect(o.open(o.root, 'x'.repeat(256), { create: true })).toBe(ENAMETOOLONG);
    expect(o.resolve(o.root, `${'a/'.repeat(2100)}b`)).toBe(ENAMETOOLONG);
    expect(o.open(o.root, 'x'.repeat(255), { create: true })).toBeInstanceOf(FileNode);
  });
});

describe('overlay: writing', () => {
  it('copies up on first write and leaves the layers and other overlays untouched', async () => {
    const layers = await base();
    const a = new Overlay(layers);
    const b = new Overlay(layers);
    const passwd = ok(a.open(a.root, 'etc/passwd')) as FileNode;
    ok(a.write(passwd, 0, text('ROOT')));
    expect(readAll(a, 'etc/passwd')).toBe('ROOT:x:0:0\n');
    expect(readAll(b, 'etc/passwd')).toBe('root:x:0:0\n');
    expect(readAll(new Overlay(layers), 'etc/passwd')).toBe('root:x:0:0\n');
  });

  it('an open node sees writes made through another name, across copy-up, rename and unlink', async () => {
    const o = new Overlay(await base());
    const viaAsh = ok(o.open(o.root, 'bin/ash'));
    const viaSh = ok(o.open(o.root, 'bin/sh'));
    ok(o.write(viaSh, 0, text('#!SH')));
    expect(new TextDecoder().decode(o.contentOf(viaAsh as FileNode))).toBe('#!SH');
    expect(o.rename(o.root, 'bin/ash', o.root, 'ash2')).toBeUndefined();
    expect(o.unlink(o.root, 'bin/sh')).toBeUndefined();
    expect(readAll(o, 'ash2')).toBe('#!SH');
    expect(o.stat(viaAsh).nlink).toBe(1);
    // The unlinked name is gone; the node still reads.
    expect(o.resolve(o.root, 'bin/sh')).toBe(ENOENT);
    const buf = new Uint8Array(4);
    expect(o.read(viaSh, 0, buf)).toBe(4);
  });

  it('returns the errno each POSIX call gives', async () => {
    const o = new Overlay(await base());
    expect(o.mkdir(o.root, 'etc')).toBe(EEXIST);
    expect(o.mkdir(o.root, 'nope/x')).toBe(ENOENT);
    expect(o.mkdir(o.root, 'etc/passwd/x')).toBe(ENOTDIR);
    expect(o.open(o.root, 'etc/passwd', { create: true, exclusive: true })).toBe(EEXIST);
    expect(o.open(o.root, 'etc', { create: true })).toBe(EISDIR);
    expect(o.open(o.root, 'etc/passwd', { directory: true })).toBe(ENOTDIR);
    expect(o.open(o.root, 'lib', { follow: false })).toBe(ELOOP);
    expect(o.open(o.root, 'newdir/', { create: true })).toBe(EISDIR);
    expect(o.unlink(o.root, 'etc')).toBe(EISDIR);
    expect(o.unlink(o.root, 'etc/passwd/')).toBe(ENOTDIR);
    expect(o.rmdir(o.root, 'etc')).toBe(ENOTEMPTY);
    expect(o.rmdir(o.root, 'etc/passwd')).toBe(ENOTDIR);
    expect(o.rmdir(o.root, 'etc/.')).toBe(EINVAL);
    expect(o.rename(o.root, 'usr', o.root, 'usr/lib/x')).toBe(EINVAL);
    expect(o.rename(o.root, 'usr', o.root, 'etc')).toBe(ENOTEMPTY);
    expect(o.rename(o.root, 'usr', o.root, 'var')).toBe(ENOTDIR);
    expect(o.rename(o.root, 'var', o.root, 'usr')).toBe(EISDIR);
    expect(o.rename(o.root, 'missing', o.root, 'x')).toBe(ENOENT);
    expect(o.link(o.root, 'etc', o.root, 'etc2')).toBe(EPERM);
    expect(o.link(o.root, 'etc/passwd', o.root, 'etc/motd')).toBe(EEXIST);
    expect(o.write(o.root, 0, text('x'))).toBe(EISDIR);
    expect(o.readlink(o.root)).toBe(EINVAL);
    // None of the failures changed anything.
    expect(dumpTree(o)).toEqual(dumpTree(new Overlay(o.layers)));
  });

  it('rmdir of an emptied lower directory leaves a whiteout; mkdir there is opaque', async () => {
    const o = new Overlay(await base());
    ok(o.unlink(o.root, 'usr/lib/a.so'));
    ok(o.unlink(o.root, 'usr/lib/b.so'));
    expect(o.rmdir(o.root, 'usr/lib')).toBeUndefined();
    expect(o.resolve(o.root, 'usr/lib')).toBe(ENOENT);
    ok(o.mkdir(o.root, 'usr/lib'));
    expect(o.readdir(ok(o.resolve(o.root, 'usr/lib')))).toEqual([]);
    const names = diffEntries(o).map((e) => e.header.name);
    expect(names).toContain('usr/lib/');
    expect(names).toContain('usr/lib/.wh..wh..opq');
  });

  it('renames a lower directory with its contents, and the diff carries them', async () => {
    const layers = await base();
    const o = new Overlay(layers);
    const lib = ok(o.resolve(o.root, 'usr/lib'));
    expect(o.rename(o.root, 'usr/lib', o.root, 'newlib')).toBeUndefined();
    expect(ok(o.resolve(o.root, 'newlib'))).toBe(lib);
    expect(readAll(o, 'newlib/a.so')).toBe('A');
    expect(o.resolve(o.root, 'usr/lib')).toBe(ENOENT);
    // The symlink /lib -> usr/lib now dangles, as it would on any filesystem.
    expect(o.resolve(o.root, 'lib/a.so')).toBe(ENOENT);
    const applied = new Overlay([...layers, indexLayer(await diffLayer(o), 'diff')]);
    expect(dumpTree(applied)).toEqual(dumpTree(o));
  });

  it('truncating a lower file to zero copies nothing', async () => {
    const big = new Uint8Array(8 * 1024 * 1024).fill(1);
    const o = new Overlay([await layerOf([['big', big]])]);
    const node = ok(o.open(o.root, 'big', { truncate: true })) as FileNode;
    expect(o.stat(node).size).toBe(0);
    expect(node.content?.ownedBytes).toBe(0);
  });

  it('creating through a dangling symlink creates its target, inside the root', () => {
    const o = new Overlay([]);
    ok(o.mkdir(o.root, 'd'));
    ok(o.symlink('/d/target', o.root, 'd/link'));
    const node = ok(o.open(o.root, 'd/link', { create: true })) as FileNode;
    ok(o.write(node, 0, text('via link')));
    expect(readAll(o, '/d/target')).toBe('via link');
  });

  it('keeps hard links one file through the diff', async () => {
    const layers = await base();
    const o = new Overlay(layers);
    ok(o.link(o.root, 'etc/passwd', o.root, 'passwd.bak'));
    const applied = new Overlay([...layers, indexLayer(await diffLayer(o), 'diff')]);
    expect(dumpTree(applied)).toEqual(dumpTree(o));
    const w = ok(applied.open(applied.root, 'passwd.bak')) as FileNode;
    ok(applied.write(w, 0, text('R')));
    expect(readAll(applied, 'etc/passwd')).toBe('Root:x:0:0\n');
  });

  it('uses the injected clock for new nodes and changes', () => {
    let now = 5_000_000_000n;
    const o = new Overlay([], { clock: () => now });
    const f = writeFile(o, 'f', 'x');
    expect(o.stat(f).mtime).toBe(5_000_000_000n);
    now = 9_000_000_000n;
    ok(o.write(f, 1, text('y')));
    expect(o.stat(f).mtime).toBe(9_000_000_000n);
    expect(o.stat(o.root).mtime).toBe(5_000_000_000n);
    o.setTimes(f, 1n, 2n);
    expect([o.stat(f).atime, o.stat(f).mtime]).toEqual([1n, 2n]);
  });

  it('lists directories merged and sorted, and readdir reflects changes', async () => {
    const o = new Overlay(await base());
    const etc = ok(o.resolve(o.root, 'etc')) as DirNode;
    expect((ok(o.readdir(etc)) as readonly { name: string }[]).map((d) => d.name)).toEqual(['motd', 'passwd']);
    writeFile(o, 'etc/a', '1');
    ok(o.unlink(o.root, 'etc/motd'));
    expect((ok(o.readdir(etc)) as readonly { name: string }[]).map((d) => d.name)).toEqual(['a', 'passwd']);
    const nodes: Node[] = [];
    for (const d of ok(o.readdir(etc)) as readonly { name: string }[]) nodes.push(o.lookup(etc, d.name) as Node);
    expect(new Set(nodes.map((n) => n.ino)).size).toBe(2);
  });
});
