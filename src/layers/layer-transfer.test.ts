import { describe, expect, it } from 'vitest';
import { rawTar } from './testing/tar-fixtures.js';
import { dumpTree, layerOf } from './testing/layers.js';
import { indexLayer } from './layer-import.js';
import type { LayerFile, LayerIndex } from './layer-index.js';
import { decodeLayerIndex, encodeLayerIndex } from './layer-transfer.js';
import { Overlay } from './overlay.js';

const roundTrip = (l: LayerIndex): LayerIndex => {
  const { meta, bytes } = encodeLayerIndex(l);
  // Through structured clone, as between threads.
  return decodeLayerIndex(structuredClone({ meta, bytes }));
};

describe('layer transfer', () => {
  it('a stack decoded from the wire mounts to the same tree', async () => {
    const lower = await layerOf([
      ['etc/', { dir: true, mode: 0o750 }],
      ['etc/passwd', { file: 'root:x:0:0\n', mode: 0o600, uid: 1, gid: 2 }],
      ['etc/hosts', 'localhost\n'],
      ['etc/hosts.bak', { hardlink: 'etc/hosts' }],
      ['bin/sh', { symlink: '/bin/busybox' }],
      ['bin/busybox', { file: 'elf', mode: 0o755 }],
      ['var/lib/x', 'x'],
      ['opt/a/b', 'b'],
    ], 'sha256:lower');
    const upper = await layerOf([
      ['etc/.wh.hosts.bak', ''],
      ['var/.wh..wh..opq', ''],
      ['var/new', 'new'],
      ['opt/a/c', 'c'],
      ['link2', { hardlink: 'etc/passwd' }],
    ], 'sha256:upper');
    const layers = [lower, upper];
    const decoded = layers.map(roundTrip);
    expect(dumpTree(new Overlay(decoded))).toEqual(dumpTree(new Overlay(layers)));
    for (const [i, d] of decoded.entries()) {
      const l = layers[i] as LayerIndex;
      expect(d.name).toBe(l.name);
      expect(d.entryCount).toBe(l.entryCount);
      expect(d.contentSize).toBe(l.contentSize);
      expect(d.root).toEqual(l.root);
    }
  });

  it('keeps hard links one file object, implicit dirs implicit, xattrs and times', () => {
    const tar = rawTar([
      { name: 'a/f', data: 'hi', mtime: 1_700_000_001, pax: { 'SCHILY.xattr.user.k': 'v' } },
      { name: 'a/g', type: '1', linkname: 'a/f' },
      { name: 'up', type: '1', linkname: 'lower/file' },
    ]);
    const l = indexLayer(tar, 'x');
    const d = roundTrip(l);
    const a = d.root.children.get('a');
    expect(a?.kind).toBe('dir');
    if (a?.kind !== 'dir') return;
    expect(a.explicit).toBe(false);
    const f = a.children.get('f') as LayerFile;
    expect(a.children.get('g')).toBe(f);
    expect(f.nlink).toBe(2);
    expect(f.paths).toEqual(['a/f', 'a/g']);
    expect(f.mtime).toBe(1_700_000_001_000_000_000n);
    expect(f.xattrs).toEqual({ 'user.k': 'v' });
    expect(d.root.children.get('up')).toEqual({ kind: 'hardlink', target: 'lower/file' });
    expect(d.root).toEqual(l.root);
  });

  it('shares the bytes, and sends only the tree', async () => {
    const l = await layerOf([['big', new Uint8Array(100_000)]]);
    const { meta, bytes } = encodeLayerIndex(l);
    expect(bytes).toBe(l.bytes);
    expect(meta.length).toBeLessThan(200);
    expect(meta.byteOffset).toBe(0);
    expect(meta.buffer.byteLength).toBe(meta.length);
  });

  it('refuses a meta it did not write', () => {
    expect(() => decodeLayerIndex({ meta: new Uint8Array([0x80]), bytes: new Uint8Array(0) })).toThrow(/format/);
  });
});
