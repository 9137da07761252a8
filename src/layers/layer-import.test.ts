import { packTar } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { InvalidLayerError } from './errors.js';
import { indexLayer } from './layer-import.js';
import { FileNode, Overlay } from './overlay.js';
import type { LayerDir, LayerFile, LayerIndex, LayerLimits, LayerNode } from './layer-index.js';
import { rawTar, type RawEntry } from './testing/tar-fixtures.js';

const LAYER = 'sha256:layer-under-test';

function index(entries: readonly (RawEntry | Uint8Array)[], limits?: Partial<LayerLimits>): LayerIndex {
  return indexLayer(rawTar(entries), LAYER, limits);
}

/** The node at `path` (no leading slash), or undefined. */
function at(layer: LayerIndex, path: string): LayerNode | undefined {
  let node: LayerNode = layer.root;
  for (const c of path.split('/')) {
    if (node.kind !== 'dir') return undefined;
    const next: LayerNode | undefined = node.children.get(c);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

function dirAt(layer: LayerIndex, path: string): LayerDir {
  const d = path === '' ? layer.root : at(layer, path);
  expect(d?.kind).toBe('dir');
  return d as LayerDir;
}

/** Indexing must fail with `code`, the message naming the layer and the entry `entry`. */
function refused(entries: readonly (RawEntry | Uint8Array)[], code: string, entry: string, reason: RegExp, limits?: Partial<LayerLimits>): void {
  let caught: unknown;
  try {
    index(entries, limits);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidLayerError);
  const err = caught as InvalidLayerError;
  expect(err.code).toBe(code);
  expect(err.layer).toBe(LAYER);
  expect(err.entry).toBe(entry);
  expect(err.message).toContain(`layer ${LAYER}, entry ${JSON.stringify(entry)}`);
  expect(err.message).toMatch(reason);
}

describe('indexLayer', () => {
  it('builds the tree, referencing file content in the input bytes', async () => {
    const tar = await packTar([
      { header: { name: 'usr/', type: 'directory', size: 0, mode: 0o755, uid: 0 } },
      { header: { name: 'usr/bin/', type: 'directory', size: 0, mode: 0o711, uid: 2 } },
      { header: { name: 'usr/bin/tool', size: 6, mode: 0o4755 }, body: 'binary' },
      { header: { name: 'usr/share/doc/README', size: 4, mode: 0o644 }, body: 'read' },
      { header: { name: 'usr/bin/alias', type: 'symlink', size: 0, linkname: 'tool' } },
    ]);
    const layer = indexLayer(tar, LAYER);
    expect(layer.name).toBe(LAYER);
    expect(layer.bytes).toBe(tar);
    expect(layer.entryCount).toBe(5);
    expect(layer.contentSize).toBe(10);
    const tool = at(layer, 'usr/bin/tool') as LayerFile;
    expect(tool).toMatchObject({ kind: 'file', mode: 0o4755, size: 6, nlink: 1 });
    expect(new TextDecoder().decode(tar.subarray(tool.offset, tool.offset + tool.size))).toBe('binary');
    expect(dirAt(layer, 'usr/bin')).toMatchObject({ mode: 0o711, uid: 2, explicit: true });
    expect(at(layer, 'usr/bin/alias')).toMatchObject({ kind: 'symlink', target: 'tool' });
    // usr/share and usr/share/doc have no entries of their own (as in `umoci repack` layers).
    expect(dirAt(layer, 'usr/share')).toMatchObject({ explicit: false, mode: 0o755, uid: 0, mtime: 0n });
    expect(dirAt(layer, 'usr/share/doc').explicit).toBe(false);
    expect(layer.root.explicit).toBe(false);
  });

  it('normalises paths: ./, repeated and trailing slashes, . components', () => {
    const layer = index([
      { name: './a//b/./c/', type: '5', mode: 0o700 },
      { name: 'a/b/c//file', data: 'x' },
    ]);
    expect(dirAt(layer, 'a/b/c').mode).toBe(0o700);
    expect(at(layer, 'a/b/c/file')?.kind).toBe('file');
    expect([...layer.root.children.keys()]).toEqual(['a']);
  });

  it.each(['./', '.', '/'])('takes the root metadata from the root entry %j', (name) => {
    const layer = index([{ name, type: '5', mode: 0o700, uid: 5, mtime: 9 }, { name: 'f' }]);
    expect(layer.root).toMatchObject({ mode: 0o700, uid: 5, mtime: 9_000_000_000n, explicit: true });
    expect(layer.root.children.has('f')).toBe(true);
  });

  it('carries xattrs and pax mtimes to the nodes', () => {
    const layer = index([{ name: 'f', pax: { mtime: '10.25', 'SCHILY.xattr.user.k': 'v' } }]);
    expect(at(layer, 'f')).toMatchObject({ mtime: 10_250_000_000n, xattrs: { 'user.k': 'v' } });
  });

  it('loads a umoci-style layer: no parent entries, no end-of-archive blocks, no final padding', () => {
    const tar = rawTar(
      [
        { name: 'deep/er/path/file', data: 'one' },
        { name: 'deep/other', data: 'two!' },
      ],
      { eof: 0, padLast: false },
    );
    const layer = indexLayer(tar, LAYER);
    expect(layer.entryCount).toBe(2);
    expect(layer.contentSize).toBe(7);
    const other = at(layer, 'deep/other') as LayerFile;
    expect(other.offset + other.size).toBe(tar.length);
  });

  describe('paths', () => {
    it('refuses an absolute path', () => refused([{ name: '/etc/passwd' }], 'INVALID_LAYER', '/etc/passwd', /absolute name/));
    it('refuses a .. component', () => refused([{ name: 'a/../../etc/passwd' }], 'INVALID_LAYER', 'a/../../etc/passwd', /"\.\." component/));
    it('refuses a lone ..', () => refused([{ name: '..', type: '5' }], 'INVALID_LAYER', '..', /"\.\." component/));
    it('refuses an empty name', () => refused([{ name: '' }], 'INVALID_LAYER', '', /empty name/));
    it('refuses a NUL byte', () => refused([{ name: 'a', pax: { path: 'a\0b' } }], 'INVALID_LAYER', 'a\0b', /NUL/));
    it('refuses a root entry that is not a directory', () => refused([{ name: './', type: '0' }], 'INVALID_LAYER', './', /root directory is a file/));
  });

  describe('whiteouts', () => {
    it('records .wh.<name> in the parent, creating the parent implicitly', () => {
      const layer = index([{ name: 'etc/.wh.passwd' }, { name: '.wh.tmp' }]);
      expect([...dirAt(layer, 'etc').whiteouts]).toEqual(['passwd']);
      expect(dirAt(layer, 'etc').explicit).toBe(false);
      expect(dirAt(layer, 'etc').children.size).toBe(0);
      expect([...layer.root.whiteouts]).toEqual(['tmp']);
      expect(layer.entryCount).toBe(2);
    });

    it('marks the parent opaque for .wh..wh..opq', () => {
      const layer = index([{ name: 'var/', type: '5' }, { name: 'var/.wh..wh..opq' }, { name: 'var/new' }]);
      expect(dirAt(layer, 'var')).toMatchObject({ opaque: true, explicit: true });
      expect(dirAt(layer, 'var').children.has('new')).toBe(true);
    });

    it('keeps an entry of the whited-out name in the same layer', () => {
      const layer = index([{ name: '.wh.a' }, { name: 'a', data: 'new' }]);
      expect(layer.root.whiteouts.has('a')).toBe(true);
      expect(at(layer, 'a')?.kind).toBe('file');
    });

    it('accepts a whited-out name of 255 bytes (the marker is longer)', () => {
      const long = 'n'.repeat(255);
      expect(index([{ name: 'x', pax: { path: `.wh.${long}` } }]).root.whiteouts.has(long)).toBe(true);
    });

    it.each([
      ['.wh.', /invalid whiteout marker/],
      ['dir/.wh..', /invalid whiteout marker/],
      ['.wh...', /invalid whiteout marker/],
      ['.wh..wh.plnk', /unknown whiteout marker/],
      ['d/.wh..wh.', /unknown whiteout marker/],
    ])('refuses the marker %j', (name, reason) => refused([{ name }], 'INVALID_LAYER', name, reason));

    it('refuses a whiteout marker that is not a regular file', () => {
      refused([{ name: '.wh.dir', type: '5' }], 'INVALID_LAYER', '.wh.dir', /must be a regular file, not a dir/);
      refused([{ name: 'a/.wh.x', type: '2', linkname: 'y' }], 'INVALID_LAYER', 'a/.wh.x', /must be a regular file, not a symlink/);
    });

    it('refuses the same marker twice', () => {
      refused([{ name: '.wh.a' }, { name: './.wh.a' }], 'INVALID_LAYER', './.wh.a', /duplicate whiteout/);
      refused([{ name: 'd/.wh..wh..opq' }, { name: 'd/.wh..wh..opq' }], 'INVALID_LAYER', 'd/.wh..wh..opq', /duplicate opaque/);
    });
  });

  describe('types', () => {
    it.each([
      ['3', 'dev/tty'],
      ['4', 'dev/sda'],
      ['6', 'run/fifo'],
    ])('refuses type %s (%s) as UNSUPPORTED', (type, name) => refused([{ name, type }], 'UNSUPPORTED', name, /device and fifo entries are not supported/));
  });

  describe('duplicates', () => {
    it('refuses the same file twice', () => refused([{ name: 'a' }, { name: './a' }], 'INVALID_LAYER', './a', /duplicate entry/));

    it('refuses a symlink over a file', () =>
      refused([{ name: 'a' }, { name: 'a', type: '2', linkname: 'b' }], 'INVALID_LAYER', 'a', /duplicate entry/));

    it('refuses a file over a directory', () => refused([{ name: 'd/', type: '5' }, { name: 'd' }], 'INVALID_LAYER', 'd', /duplicate entry/));

    it('refuses a file at a path earlier entries used as a directory', () =>
      refused([{ name: 'd/f' }, { name: 'd' }], 'INVALID_LAYER', 'd', /earlier entries use as a directory/));

    it('accepts a directory repeated, taking the later metadata', () => {
      const layer = index([
        { name: 'd/', type: '5', mode: 0o700 },
        { name: 'd/f' },
        { name: 'd', type: '5', mode: 0o750, uid: 3 },
      ]);
      expect(dirAt(layer, 'd')).toMatchObject({ mode: 0o750, uid: 3, explicit: true });
      expect(dirAt(layer, 'd').children.has('f')).toBe(true);
    });

    it('fills in an implicit directory from a later entry', () => {
      const layer = index([{ name: 'd/e/f' }, { name: 'd/e/', type: '5', mode: 0o701 }]);
      expect(dirAt(layer, 'd/e')).toMatchObject({ explicit: true, mode: 0o701 });
      expect(dirAt(layer, 'd').explicit).toBe(false);
      expect(dirAt(layer, 'd/e').children.has('f')).toBe(true);
    });
  });

  describe('parents', () => {
    it('refuses an entry under a file', () =>
      refused([{ name: 'f' }, { name: 'f/child' }], 'INVALID_LAYER', 'f/child', /parent of this entry, "f", is not a directory/));

    it('refuses an entry through a symlink of the same layer', () =>
      refused(
        [
          { name: 'evil', type: '2', linkname: '/' },
          { name: 'evil/etc/passwd', data: 'root::0:0::/:/bin/sh' },
        ],
        'INVALID_LAYER',
        'evil/etc/passwd',
        /parent of this entry, "evil", is a symlink in this layer/,
      ));

    it('ignores a whiteout under a symlink or file of the same layer, never applying it through the link', () => {
      // umoci repack writes these when it replaces a directory by a file or a symlink.
      const layer = index([
        { name: 'etc/passwd', data: 'keep' },
        { name: 'd', type: '2', linkname: 'etc' },
        { name: 'd/.wh.passwd' },
        { name: 'f', data: 'file' },
        { name: 'f/.wh.sub' },
      ]);
      expect((at(layer, 'etc') as LayerDir).whiteouts.size).toBe(0);
      expect(at(layer, 'etc/passwd')).toMatchObject({ kind: 'file' });
      expect(at(layer, 'd')).toMatchObject({ kind: 'symlink', target: 'etc' });
      expect(at(layer, 'f')).toMatchObject({ kind: 'file' });
    });

    it('still refuses a regular entry through a symlink of the same layer', () =>
      refused(
        [
          { name: 'd', type: '2', linkname: 'etc' },
          { name: 'd/passwd', data: 'x' },
        ],
        'INVALID_LAYER',
        'd/passwd',
        /is a symlink in this layer/,
      ));
  });

  describe('hard links', () => {
    it('gives a link to an earlier file of the layer the same object', () => {
      const layer = index([
        { name: 'bin/', type: '5' },
        { name: 'bin/busybox', data: 'elf', mode: 0o755 },
        { name: 'bin/sh', type: '1', linkname: './bin/busybox' },
        { name: 'bin/ls', type: '1', linkname: 'bin/sh' },
      ]);
      const busybox = at(layer, 'bin/busybox') as LayerFile;
      expect(at(layer, 'bin/sh')).toBe(busybox);
      expect(at(layer, 'bin/ls')).toBe(busybox);
      expect(busybox.nlink).toBe(3);
      expect(busybox.paths).toEqual(['bin/busybox', 'bin/sh', 'bin/ls']);
      expect(layer.contentSize).toBe(3);
      expect(layer.entryCount).toBe(4);
    });

    it('counts two names as nlink 2', () => {
      const layer = index([{ name: 'a', data: 'x' }, { name: 'b', type: '1', linkname: 'a' }]);
      expect(at(layer, 'a')).toMatchObject({ nlink: 2, paths: ['a', 'b'] });
    });

    it('keeps a link to a path not in this layer as a LayerHardlink', () => {
      const layer = index([{ name: 'usr/bin/new', type: '1', linkname: 'usr//bin/./old' }]);
      expect(at(layer, 'usr/bin/new')).toEqual({ kind: 'hardlink', target: 'usr/bin/old' });
      expect(layer.contentSize).toBe(0);
    });

    it('links to a LayerHardlink by its lower target', () => {
      const layer = index([{ name: 'b', type: '1', linkname: 'lower' }, { name: 'c', type: '1', linkname: 'b' }]);
      expect(at(layer, 'c')).toEqual({ kind: 'hardlink', target: 'lower' });
    });

    it('refuses an absolute target', () => refused([{ name: 'l', type: '1', linkname: '/etc/shadow' }], 'INVALID_LAYER', 'l', /absolute hard link target/));
    it('refuses a .. target', () => refused([{ name: 'l', type: '1', linkname: 'a/../../etc/shadow' }], 'INVALID_LAYER', 'l', /"\.\." component/));
    it('refuses an empty target', () => refused([{ name: 'l', type: '1', linkname: '' }], 'INVALID_LAYER', 'l', /empty hard link target/));
    it('refuses a link to itself', () => refused([{ name: 'l', type: '1', linkname: './l' }], 'INVALID_LAYER', 'l', /to itself/));
    it('refuses a link to a directory', () =>
      refused([{ name: 'd/', type: '5' }, { name: 'l', type: '1', linkname: 'd' }], 'INVALID_LAYER', 'l', /is a directory/));
    it('refuses a link to a symlink', () =>
      refused([{ name: 's', type: '2', linkname: 'x' }, { name: 'l', type: '1', linkname: 's' }], 'INVALID_LAYER', 'l', /is a symlink/));
    it('refuses a target through a non-directory', () =>
      refused([{ name: 's', type: '2', linkname: '/etc' }, { name: 'l', type: '1', linkname: 's/shadow' }], 'INVALID_LAYER', 'l', /goes through a symlink/));
  });

  describe('symlinks', () => {
    it('accepts absolute targets and relative ones that stay inside', () => {
      const layer = index([
        { name: 'etc/localtime', type: '2', linkname: '/usr/share/zoneinfo/UTC' },
        { name: 'usr/lib/libc.so', type: '2', linkname: '../../lib/libc.so.6' },
        { name: 'dots', type: '2', linkname: '/../../x' },
      ]);
      expect(at(layer, 'etc/localtime')).toMatchObject({ kind: 'symlink', target: '/usr/share/zoneinfo/UTC' });
      expect(at(layer, 'usr/lib/libc.so')).toMatchObject({ target: '../../lib/libc.so.6' });
    });

    it('accepts a relative target that climbs above the root: it resolves inside the root', () => {
      const layer = index([
        { name: 'etc/passwd', data: 'in-root' },
        { name: 'a/b', type: '2', linkname: '../../../etc/passwd' },
        { name: 'up', type: '2', linkname: '..' },
      ]);
      expect(at(layer, 'a/b')).toMatchObject({ kind: 'symlink', target: '../../../etc/passwd' });
      const o = new Overlay([layer]);
      const via = o.resolve(o.root, 'a/b');
      expect(via).toBeInstanceOf(FileNode);
      expect(new TextDecoder().decode(o.contentOf(via as FileNode))).toBe('in-root');
      expect(o.resolve(o.root, 'up/up/etc/passwd')).toBe(via);
    });

    it('refuses an empty target', () => refused([{ name: 's', type: '2', linkname: '' }], 'INVALID_LAYER', 's', /empty symlink target/));
  });

  describe('limits', () => {
    it('caps the entry count', () =>
      refused([{ name: 'a' }, { name: 'b' }, { name: 'c' }], 'LIMIT_EXCEEDED', 'c', /more than 2 entries/, { maxEntries: 2 }));

    it('caps the depth', () => refused([{ name: 'a/b/c/d' }], 'LIMIT_EXCEEDED', 'a/b/c/d', /deeper than 3/, { maxDepth: 3 }));

    it('caps the path bytes', () => refused([{ name: 'aaaa/bbbb/cc' }], 'LIMIT_EXCEEDED', 'aaaa/bbbb/cc', /longer than 11 bytes/, { maxPathBytes: 11 }));

    it('counts path bytes in UTF-8', () => {
      expect(() => index([{ name: 'é'.repeat(5) }], { maxPathBytes: 10 })).not.toThrow();
      refused([{ name: 'é'.repeat(6) }], 'LIMIT_EXCEEDED', 'é'.repeat(6), /longer than 10 bytes/, { maxPathBytes: 10 });
    });

    it('caps the name bytes', () => refused([{ name: 'ok/toolongname' }], 'LIMIT_EXCEEDED', 'ok/toolongname', /name is longer than 8 bytes/, { maxNameBytes: 8 }));

    it('caps hard link targets like names', () =>
      refused([{ name: 'l', type: '1', linkname: 'a/b/c/d' }], 'LIMIT_EXCEEDED', 'l', /hard link target: the path is deeper than 3/, { maxDepth: 3 }));
  });

  it('indexes a 100k-entry layer in one linear pass', () => {
    // Timing is reported by hand (see the report), never asserted.
    const entries: RawEntry[] = [];
    for (let d = 0; d < 1000; d++) {
      entries.push({ name: `dir${d}/`, type: '5' });
      for (let f = 0; f < 99; f++) entries.push({ name: `dir${d}/sub/file${f}`, data: f % 10 === 0 ? 'x' : undefined });
    }
    const layer = indexLayer(rawTar(entries), LAYER);
    expect(layer.entryCount).toBe(100_000);
    expect(layer.root.children.size).toBe(1000);
    expect(dirAt(layer, 'dir999/sub').children.size).toBe(99);
    expect(layer.contentSize).toBe(10_000);
  });
});
