// PathFs as a host bind mount: escape attempts through the container's namespace (vfs.ts),
// with a secret placed next to the bind directory on the host. Every attempt must fail
// or stay inside the container, and the secret's inode must never be opened, read or
// written (a spy on the host fs checks every descriptor).
import * as nodeFs from 'node:fs';
import { fstatSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EINVAL, ENOENT, EXDEV, Errno } from '../layers/errno.js';
import { Overlay } from '../layers/overlay.js';
import { OverlayFs } from './overlay-fs.js';
import { PathFs, hostErrno, type PathNode, type SyncFs } from './path-fs.js';
import { makeFile, ok, readAll } from './testing/mountfs-suite.js';
import { Vfs, type VNode } from './vfs.js';

const SECRET = 'TOP SECRET';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** node:fs, recording the inode behind every descriptor opened, read or written. */
function spyFs(): { fs: SyncFs; opened: bigint[]; read: bigint[]; written: bigint[]; opens: () => number } {
  const opened: bigint[] = [];
  const read: bigint[] = [];
  const written: bigint[] = [];
  let opens = 0;
  const ino = (fd: number): bigint => fstatSync(fd, { bigint: true }).ino;
  const fs: SyncFs = {
    ...nodeFs,
    constants: nodeFs.constants,
    lstatSync: nodeFs.lstatSync,
    openSync: (path, flags, mode) => {
      opens++;
      const fd = nodeFs.openSync(path, flags, mode);
      opened.push(ino(fd));
      return fd;
    },
    readSync: (fd, buf, off, len, pos) => {
      read.push(ino(fd));
      return nodeFs.readSync(fd, buf, off, len, pos);
    },
    writeSync: (fd, buf, off, len, pos) => {
      written.push(ino(fd));
      return nodeFs.writeSync(fd, buf, off, len, pos);
    },
  };
  return { fs, opened, read, written, opens: () => opens };
}

describe('PathFs', () => {
  let host: string;
  beforeEach(() => {
    host = mkdtempSync(join(tmpdir(), 'skiff-bind-'));
  });
  afterEach(() => rmSync(host, { recursive: true, force: true }));

  it('reads and writes through one host descriptor, opened once', () => {
    const spy = spyFs();
    const fs = new PathFs(spy.fs, host);
    const f = makeFile(fs, fs.root(), 'f', 'abc') as PathNode;
    for (let i = 0; i < 10; i++) expect(fs.write(f, 3 + i, enc('x'))).toBe(1);
    expect(readAll(fs, f)).toBe('abcxxxxxxxxxx');
    expect(spy.opens()).toBe(1);
    const again = ok(fs.lookup(fs.root(), 'f'));
    for (let i = 0; i < 5; i++) fs.read(again, 0, new Uint8Array(3));
    expect(spy.opens()).toBe(2);
    expect(fs.openDescriptors).toBe(2);
    fs.dispose();
    expect(fs.openDescriptors).toBe(0);
  });

  it('maps host errors in one table; a thrown non-host error is a bug and propagates', () => {
    expect(hostErrno(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(ENOENT);
    expect(hostErrno(Object.assign(new Error('x'), { code: 'EDQUOT' })).code).toBe('ENOSPC');
    expect(hostErrno(Object.assign(new Error('x'), { code: 'ESOMETHING' })).code).toBe('EIO');
    expect(() => hostErrno(new TypeError('bug'))).toThrow(TypeError);
  });

  it('hides special files (opening a FIFO or a device could block the serving thread)', async () => {
    writeFileSync(join(host, 'plain'), 'p');
    // node:fs cannot make a FIFO; a unix socket is a special file it can.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(host, 'sock'), resolve));
    try {
      const fs = new PathFs(nodeFs, host);
      expect(lstatSync(join(host, 'sock')).isSocket()).toBe(true);
      expect(ok(fs.readdir(fs.root())).map((d) => d.name)).toEqual(['plain']);
      expect(fs.lookup(fs.root(), 'sock')).toBe(ENOENT);
    } finally {
      server.close();
    }
  });
});

describe('bind mount escape attempts through the VFS', () => {
  let top: string;
  let bind: string;
  let secretIno: bigint;
  let spy: ReturnType<typeof spyFs>;
  let vfs: Vfs;
  let pfs: PathFs;

  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'skiff-escape-'));
    bind = join(top, 'bind');
    mkdirSync(bind);
    mkdirSync(join(top, 'secretdir'));
    writeFileSync(join(top, 'secret'), SECRET);
    writeFileSync(join(top, 'secretdir', 'inner'), SECRET);
    secretIno = lstatSync(join(top, 'secret'), { bigint: true }).ino;
    writeFileSync(join(bind, 'file'), 'inside');
    mkdirSync(join(bind, 'deep', 'sub'), { recursive: true });
    // Symlinks made on the host before mounting.
    symlinkSync(join(top, 'secret'), join(bind, 'abs'));
    symlinkSync('../secret', join(bind, 'rel'));
    symlinkSync('..', join(bind, 'updir'));
    symlinkSync('deep/../../secret', join(bind, 'deeprel'));
    symlinkSync(join(top, 'secretdir'), join(bind, 'absdir'));
    // The container's root: an overlay with a decoy /secret and the mount point.
    const overlay = new Overlay([]);
    const mnt = overlay.mkdirAt(overlay.root, 'mnt', 0o755);
    if (mnt instanceof Errno) throw new Error(mnt.code);
    const decoy = overlay.createFile(overlay.root, 'secret', 0o644);
    if (decoy instanceof Errno) throw new Error(decoy.code);
    overlay.write(decoy, 0, enc('decoy'));
    spy = spyFs();
    pfs = new PathFs(spy.fs, bind);
    vfs = new Vfs(new OverlayFs(overlay), [{ path: '/mnt', fs: pfs }]);
  });

  afterEach(() => {
    // The secret is intact, and its inode was never opened, read or written.
    expect(readFileSync(join(top, 'secret'), 'utf8')).toBe(SECRET);
    expect(readdirSync(join(top, 'secretdir'))).toEqual(['inner']);
    expect(readFileSync(join(top, 'secretdir', 'inner'), 'utf8')).toBe(SECRET);
    expect(lstatSync(join(top, 'secret')).nlink).toBe(1);
    expect(spy.opened).not.toContain(secretIno);
    expect(spy.read).not.toContain(secretIno);
    expect(spy.written).not.toContain(secretIno);
    pfs.dispose();
    rmSync(top, { recursive: true, force: true });
  });

  /** What the guest gets reading `path`: the content, or the errno. */
  const read = (path: string): string => {
    const v = vfs.resolve(vfs.root, path, true);
    if (v instanceof Errno) return v.code;
    if (vfs.kind(v) !== 'file') return vfs.kind(v);
    const st = ok(v.mount.fs.stat(v.node));
    const buf = new Uint8Array(st.size);
    const n = v.mount.fs.read(v.node, 0, buf);
    return n instanceof Errno ? n.code : new TextDecoder().decode(buf.subarray(0, n));
  };
  const mntRoot = (): VNode => ok(vfs.resolve(vfs.root, '/mnt', true));

  it('`..` from the mount root, and chains of them, stay in the container', () => {
    expect(read('/mnt/file')).toBe('inside');
    const up = vfs.parentOf(mntRoot()) as VNode;
    expect(up.mount).toBe(vfs.root.mount);
    expect(up.node).toBe(vfs.root.node);
    expect(read('/mnt/../secret')).toBe('decoy');
    expect(read('/mnt/../../../../../../secret')).toBe('decoy');
    expect(read('/mnt/deep/sub/../../../secret')).toBe('decoy');
    expect(read(`/mnt/${'../'.repeat(20)}${top.slice(1)}/secret`)).toBe('ENOENT');
    expect(read('/mnt/deep/../../bind/file')).toBe('ENOENT');
  });

  it('symlinks made on the host, absolute and relative, resolve inside the container', () => {
    expect(read('/mnt/abs')).toBe('ENOENT'); // <top>/secret, in the container's namespace
    expect(read('/mnt/rel')).toBe('decoy');
    expect(read('/mnt/updir/secret')).toBe('decoy');
    expect(read('/mnt/deeprel')).toBe('decoy');
    expect(read('/mnt/absdir/inner')).toBe('ENOENT');
    // Read as nodes, they are links, never their targets.
    const abs = ok(pfs.lookup(pfs.root(), 'abs'));
    expect(pfs.kind(abs)).toBe('symlink');
    expect(pfs.read(abs, 0, new Uint8Array(16))).toBe(EINVAL);
    expect(pfs.write(abs, 0, enc('x'))).toBe(EINVAL);
    expect(pfs.truncate(abs, 0)).toBe(EINVAL);
    expect(pfs.lookup(ok(pfs.lookup(pfs.root(), 'absdir')), 'inner')).toBe(Errno.of('ENOTDIR'));
  });

  it('symlinks the guest makes resolve inside the container; writes through them stay inside', () => {
    const root = mntRoot();
    ok(pfs.symlink('../secret', root.node as PathNode, 'made-rel'));
    ok(pfs.symlink(join(top, 'secret'), root.node as PathNode, 'made-abs'));
    ok(pfs.symlink('/', root.node as PathNode, 'made-root'));
    expect(read('/mnt/made-rel')).toBe('decoy');
    expect(read('/mnt/made-abs')).toBe('ENOENT');
    expect(read('/mnt/made-root/secret')).toBe('decoy');
    // Writing "through" them writes the container's own files.
    const target = ok(vfs.resolve(vfs.root, '/mnt/made-rel', true));
    expect(target.mount.fs).not.toBe(pfs);
    expect(target.mount.fs.write(target.node, 0, enc('DECOY'))).toBe(5);
    expect(read('/secret')).toBe('DECOY');
  });

  it('names are single components: `..`, `/` and NUL never reach the host', () => {
    const root = pfs.root();
    for (const bad of ['..', '../secret', '../../etc/passwd', 'a/b', '.', 'x\0y']) {
      expect(pfs.lookup(root, bad)).toBe(EINVAL);
      expect(pfs.createFile(root, bad, 0o644)).toBe(EINVAL);
      expect(pfs.mkdir(root, bad, 0o755)).toBe(EINVAL);
      expect(pfs.symlink('x', root, bad)).toBe(EINVAL);
      expect(pfs.unlink(root, bad)).toBe(EINVAL);
      expect(pfs.rmdir(root, bad)).toBe(EINVAL);
      expect(pfs.rename(root, 'file', root, bad)).toBe(EINVAL);
    }
    expect(readdirSync(top).sort()).toEqual(['bind', 'secret', 'secretdir']);
  });

  it('a file swapped for a symlink after lookup is refused, not followed', () => {
    const node = ok(pfs.lookup(pfs.root(), 'file'));
    renameSync(join(bind, 'file'), join(bind, 'file.orig'));
    symlinkSync(join(top, 'secret'), join(bind, 'file'));
    expect(pfs.read(node, 0, new Uint8Array(32))).toBeInstanceOf(Errno);
    expect(pfs.write(node, 0, enc('pwned'))).toBeInstanceOf(Errno);
    expect(pfs.truncate(node, 0)).toBeInstanceOf(Errno);
    expect(pfs.setTimes(node, 0n, 0n)).toBeInstanceOf(Errno);
    expect(pfs.stat(node)).toBe(ENOENT);
    expect(pfs.link(node, pfs.root(), 'grab')).toBe(ENOENT);
    expect(readdirSync(bind)).not.toContain('grab');
  });

  it('a file replaced by another after lookup is refused (inode check at open)', () => {
    const node = ok(pfs.lookup(pfs.root(), 'file'));
    const swapped = join(top, 'other-file');
    // Same name, another inode: what any swap of the file looks like to the descriptor check.
    writeFileSync(swapped, 'other');
    renameSync(swapped, join(bind, 'file'));
    expect(pfs.read(node, 0, new Uint8Array(32))).toBe(ENOENT);
    expect(pfs.write(node, 0, enc('x'))).toBe(ENOENT);
  });

  it('a directory swapped for a symlink after lookup is refused, not followed', () => {
    const deep = ok(pfs.lookup(pfs.root(), 'deep'));
    renameSync(join(bind, 'deep'), join(bind, 'deep.orig'));
    symlinkSync(join(top, 'secretdir'), join(bind, 'deep'));
    expect(pfs.lookup(deep, 'inner')).toBe(ENOENT);
    expect(pfs.readdir(deep)).toBe(ENOENT);
    expect(pfs.createFile(deep, 'planted', 0o644)).toBe(ENOENT);
    expect(pfs.mkdir(deep, 'planted', 0o755)).toBe(ENOENT);
    expect(pfs.symlink('x', deep, 'planted')).toBe(ENOENT);
    expect(pfs.unlink(deep, 'inner')).toBe(ENOENT);
    expect(pfs.rename(deep, 'inner', pfs.root(), 'stolen')).toBe(ENOENT);
    expect(pfs.rename(pfs.root(), 'file', deep, 'planted')).toBe(ENOENT);
    expect(pfs.link(ok(pfs.lookup(pfs.root(), 'file')), deep, 'planted')).toBe(ENOENT);
    expect(pfs.sync(deep)).toBe(ENOENT);
  });

  it('a swap the guest makes itself is caught even with cached checks (on-change)', () => {
    const cached = new PathFs(spy.fs, bind, { verify: 'on-change' });
    const root = cached.root();
    const deep = ok(cached.lookup(root, 'deep'));
    expect(cached.readdir(deep)).not.toBeInstanceOf(Errno);
    // Another container renames the directory away and plants a symlink in its place.
    expect(cached.rename(root, 'deep', root, 'deep2')).toBeUndefined();
    ok(cached.symlink(join(top, 'secretdir'), root, 'deep'));
    expect(cached.lookup(deep, 'inner')).toBe(ENOENT);
    expect(cached.createFile(deep, 'planted', 0o644)).toBe(ENOENT);
    expect(cached.readdir(deep)).toBe(ENOENT);
    cached.dispose();
  });

  it('hard links cannot reach outside; a link to a symlink is a symlink', () => {
    const root = pfs.root();
    const abs = ok(pfs.lookup(root, 'abs'));
    const r = pfs.link(abs, root, 'hl');
    if (r === undefined) {
      expect(lstatSync(join(bind, 'hl')).isSymbolicLink()).toBe(true);
      expect(read('/mnt/hl')).toBe('ENOENT');
    }
    // Linking across mounts is refused by the namespace.
    const decoy = ok(vfs.resolve(vfs.root, '/secret', false));
    expect(pfs.link(decoy.node as PathNode, root, 'x')).toBe(EXDEV);
    expect(vfs.rename(ok(vfs.resolveParent(vfs.root, '/mnt/file')), ok(vfs.resolveParent(vfs.root, '/stolen')))).toBe(EXDEV);
  });
});
