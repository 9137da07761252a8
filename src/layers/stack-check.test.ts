import { describe, expect, it } from 'vitest';
import { InvalidLayerError } from './errors.js';
import { indexLayer } from './layer-import.js';
import type { LayerIndex } from './layer-index.js';
import { checkStack } from './stack-check.js';
import { rawTar, type RawEntry } from './testing/tar-fixtures.js';

const layer = (name: string, entries: readonly RawEntry[]): LayerIndex => indexLayer(rawTar(entries), name);

function refused(layers: LayerIndex[], layerName: string, entry: string, reason: RegExp): void {
  let caught: unknown;
  try {
    checkStack(layers);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidLayerError);
  const err = caught as InvalidLayerError;
  expect(err.code).toBe('INVALID_LAYER');
  expect(err.layer).toBe(layerName);
  expect(err.entry).toBe(entry);
  expect(err.message).toContain(`layer ${layerName}, entry ${JSON.stringify(entry)}`);
  expect(err.message).toMatch(reason);
}

describe('checkStack', () => {
  it('accepts an ordinary stack', () => {
    const base = layer('base', [
      { name: 'etc/', type: '5' },
      { name: 'etc/passwd', data: 'root' },
      { name: 'bin/', type: '5' },
      { name: 'bin/sh', data: 'elf' },
      { name: 'lib', type: '2', linkname: 'usr/lib' },
      { name: 'usr/lib/libc.so', data: 'libc' },
    ]);
    const app = layer('app', [
      { name: 'etc/passwd', data: 'root\napp' },
      { name: 'etc/.wh.shadow' },
      { name: 'app/run', data: 'x' },
    ]);
    expect(() => checkStack([base, app])).not.toThrow();
    expect(() => checkStack([])).not.toThrow();
  });

  describe('entries through a lower symlink', () => {
    it.each([
      ['evil', '/'],
      ['evil', '/etc'],
      ['evil', 'etc'],
      ['a/b/evil', '../..'],
    ])('refuses %s -> %s in layer 1 below %s/passwd in layer 2', (link, target) => {
      const l1 = layer('layer-1', [{ name: link, type: '2', linkname: target }, { name: 'etc/', type: '5' }]);
      const l2 = layer('layer-2', [{ name: `${link}/passwd`, data: 'root::0:0::/:/bin/sh' }]);
      refused([l1, l2], 'layer-2', `${link}/passwd`, new RegExp(`a parent of this entry is a symlink in a lower layer \\(${link} -> .* in layer layer-1\\)`));
    });

    it('refuses a file through a top-level evil -> ../.. too', () => {
      const l1 = layer('layer-1', [{ name: 'evil', type: '2', linkname: '../..' }]);
      const l2 = layer('layer-2', [{ name: 'evil/passwd', data: 'x' }]);
      refused([l1, l2], 'layer-2', 'evil/passwd', /symlink in a lower layer/);
    });

    it('refuses it through nested directories and several layers up', () => {
      const l1 = layer('l1', [{ name: 'a/b/', type: '5' }, { name: 'a/b/link', type: '2', linkname: '/' }]);
      const l2 = layer('l2', [{ name: 'other' }]);
      const l3 = layer('l3', [{ name: 'a/b/link/deeper/still/file' }]);
      refused([l1, l2, l3], 'l3', 'a/b/link/deeper/still/file', /symlink in a lower layer/);
    });

    it('refuses a whiteout or opaque marker through a lower symlink', () => {
      const l1 = layer('l1', [{ name: 'evil', type: '2', linkname: '/etc' }]);
      refused([l1, layer('l2', [{ name: 'evil/.wh.passwd' }])], 'l2', 'evil/.wh.passwd', /symlink in a lower layer/);
      refused([l1, layer('l2', [{ name: 'evil/.wh..wh..opq' }])], 'l2', 'evil/.wh..wh..opq', /symlink in a lower layer/);
    });

    it('accepts a directory entry that replaces the lower symlink, and entries under it', () => {
      const l1 = layer('l1', [{ name: 'evil', type: '2', linkname: '/' }]);
      const l2 = layer('l2', [
        { name: 'evil/', type: '5' },
        { name: 'evil/passwd', data: 'fine' },
      ]);
      const l3 = layer('l3', [{ name: 'evil/more/file' }]);
      expect(() => checkStack([l1, l2, l3])).not.toThrow();
    });

    it('accepts entries under a symlink the same layer whites out', () => {
      const l1 = layer('l1', [{ name: 'evil', type: '2', linkname: '/' }]);
      const l2 = layer('l2', [{ name: '.wh.evil' }, { name: 'evil/passwd' }]);
      expect(() => checkStack([l1, l2])).not.toThrow();
    });

    it('accepts entries under a symlink hidden by an opaque parent of this layer', () => {
      const l1 = layer('l1', [{ name: 'd/evil', type: '2', linkname: '/' }]);
      const l2 = layer('l2', [{ name: 'd/.wh..wh..opq' }, { name: 'd/evil/passwd' }]);
      expect(() => checkStack([l1, l2])).not.toThrow();
    });

    it('accepts entries under a symlink that an upper layer replaced, or a lower layer deleted', () => {
      const l1 = layer('l1', [{ name: 'evil', type: '2', linkname: '/' }]);
      const l2 = layer('l2', [{ name: 'evil/', type: '5' }]);
      expect(() => checkStack([l1, l2, layer('l3', [{ name: 'evil/passwd' }])])).not.toThrow();
      const gone = layer('gone', [{ name: '.wh.evil' }]);
      expect(() => checkStack([l1, gone, layer('l3', [{ name: 'evil/passwd' }])])).not.toThrow();
    });

    it('does not mind a symlink an entry merely sits next to', () => {
      const l1 = layer('l1', [{ name: 'usr/lib64', type: '2', linkname: 'lib' }]);
      const l2 = layer('l2', [{ name: 'usr/lib/x.so' }, { name: 'usr/lib64', type: '2', linkname: 'lib' }]);
      expect(() => checkStack([l1, l2])).not.toThrow();
    });
  });

  describe('cross-layer hard links', () => {
    it('resolves a link to a regular file below', () => {
      const l1 = layer('l1', [{ name: 'usr/bin/python3.12', data: 'elf' }]);
      const l2 = layer('l2', [{ name: 'usr/bin/python3', type: '1', linkname: 'usr/bin/python3.12' }]);
      expect(l2.root.children.get('usr')).toBeDefined();
      expect(() => checkStack([l1, l2])).not.toThrow();
    });

    it('refuses a link whose target is missing below', () => {
      const l1 = layer('l1', [{ name: 'other', data: 'x' }]);
      const l2 = layer('l2', [{ name: 'link', type: '1', linkname: 'missing' }]);
      refused([l1, l2], 'l2', 'link', /hard link target "missing" not found below this layer/);
    });

    it('refuses a link in the bottom layer to a path it lacks', () => {
      refused([layer('l0', [{ name: 'd/link', type: '1', linkname: 'nowhere' }])], 'l0', 'd/link', /not found below this layer/);
    });

    it('refuses a link to a directory or symlink below, or through a symlink below', () => {
      const l1 = layer('l1', [
        { name: 'dir/', type: '5' },
        { name: 'sym', type: '2', linkname: 'dir' },
        { name: 'dir/file', data: 'x' },
      ]);
      refused([l1, layer('l2', [{ name: 'a', type: '1', linkname: 'dir' }])], 'l2', 'a', /not found below/);
      refused([l1, layer('l2', [{ name: 'b', type: '1', linkname: 'sym' }])], 'l2', 'b', /not found below/);
      refused([l1, layer('l2', [{ name: 'c', type: '1', linkname: 'sym/file' }])], 'l2', 'c', /not found below/);
    });

    it('refuses a link to a file that a layer in between deleted', () => {
      const l1 = layer('l1', [{ name: 'f', data: 'x' }]);
      const l2 = layer('l2', [{ name: '.wh.f' }]);
      const l3 = layer('l3', [{ name: 'g', type: '1', linkname: 'f' }]);
      refused([l1, l2, l3], 'l3', 'g', /not found below/);
      expect(() => checkStack([l1, l3])).not.toThrow();
    });
  });
});
