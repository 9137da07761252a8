import { describe, expect, it } from 'vitest';
import { commit, createImage, writeTree } from './build.js';
import { digestOf } from './digest.js';
import { SkiffError } from './errors.js';
import { MemoryFiles } from './files.js';
import { ImageStore } from './image-store.js';
import { FileNode, Overlay } from './overlay.js';
import { dumpTree } from './testing/layers.js';

const store = (): Promise<ImageStore> => ImageStore.open(new MemoryFiles());

describe('createImage', () => {
  it('makes an ordinary OCI image from file trees, a tree per layer, deletions as whiteouts', async () => {
    const s = await store();
    const image = await createImage(s, {
      ref: 'app:1',
      layers: [
        { 'app/main.wasm': new Uint8Array([0, 97, 115, 109]), 'etc/conf': 'a=1\n', 'tmp/': { dir: true, mode: 0o1777 }, 'bin/app': { symlink: '/app/main.wasm' } },
        { 'etc/conf': null, 'etc/conf.d/x': { content: 'x', mode: 0o600 } },
      ],
      config: { Entrypoint: ['/app/main.wasm'], Env: ['A=1'], ExposedPorts: { '80/tcp': {} } },
    });
    expect(image.ref).toBe('app:1');
    expect(image.config).toMatchObject({ os: 'wasip1', architecture: 'wasm', config: { Entrypoint: ['/app/main.wasm'], Env: ['A=1'] } });
    expect(image.manifest.layers).toHaveLength(2);
    expect(image.config.history).toHaveLength(2);
    // diff_ids are the sha256 of the uncompressed layers, which here are the blobs themselves.
    for (const [i, l] of image.manifest.layers.entries()) {
      expect(digestOf(await s.content.read(l.digest))).toBe(image.config.rootfs.diff_ids[i]);
    }
    const o = new Overlay(await s.layers(image));
    expect(dumpTree(o)).toEqual([
      '/app/ dir 755',
      '/app/main.wasm file 644 "\\u0000asm"',
      '/bin/ dir 755',
      '/bin/app symlink -> /app/main.wasm',
      '/etc/ dir 755',
      '/etc/conf.d/ dir 755',
      '/etc/conf.d/x file 600 "x"',
      '/tmp/ dir 1777',
    ]);
    // The second layer really carries a whiteout for the deleted file.
    const second = new TextDecoder('latin1').decode(await s.content.read((image.manifest.layers[1] as { digest: `sha256:${string}` }).digest));
    expect(second).toContain('etc/.wh.conf');
  });

  it('is deterministic: the same spec gives the same image digest', async () => {
    const spec = { layers: [{ 'a/b': 'c' }], config: { Cmd: ['x'] } };
    const a = await createImage(await store(), spec);
    const b = await createImage(await store(), spec);
    expect(a.descriptor.digest).toBe(b.descriptor.digest);
  });

  it('builds on a base image: its layers are reused, config merged, history extended', async () => {
    const s = await store();
    const base = await createImage(s, { ref: 'base', layers: [{ 'lib/x': 'x' }], config: { Env: ['A=1', 'B=2'], Cmd: ['run'] } });
    const child = await createImage(s, { base: 'base', ref: 'child', layers: [{ 'lib/y': 'y' }], config: { Env: ['B=3'], Entrypoint: ['/e'] } });
    expect(child.manifest.layers[0]).toEqual(base.manifest.layers[0]);
    expect(child.config.rootfs.diff_ids[0]).toBe(base.config.rootfs.diff_ids[0]);
    expect(child.config.history).toHaveLength(2);
    expect(child.config.config?.Env).toEqual(['A=1', 'B=3']);
    // A new Entrypoint resets the base's Cmd, as in Docker.
    expect(child.config.config?.Cmd).toBeUndefined();
    const o = new Overlay(await s.layers(child));
    expect(dumpTree(o, { modes: false })).toEqual(['/lib/ dir', '/lib/x file "x"', '/lib/y file "y"']);
  });

  it('refuses bad paths and a missing base with typed errors naming them', async () => {
    const s = await store();
    await expect(createImage(s, { layers: [{ '../x': 'no' }] })).rejects.toThrow(/invalid path "\.\.\/x"/);
    await expect(createImage(s, { base: 'nope:1', layers: [] })).rejects.toThrow(SkiffError);
    expect(() => writeTree(new Overlay([]), { f: 'file', 'f/g': 'under a file' })).toThrow(/cannot write "f\/g": ENOTDIR/);
    expect(await s.list()).toEqual([]);
  });
});

describe('commit', () => {
  it('adds the overlay changeset as one layer with history and diff_ids right', async () => {
    const s = await store();
    const base = await createImage(s, { ref: 'base', layers: [{ 'etc/a': 'a', 'etc/b': 'b' }] });
    const o = new Overlay(await s.layers(base));
    o.unlink(o.root, 'etc/a');
    const f = o.open(o.root, 'etc/b') as FileNode;
    o.write(f, 1, new TextEncoder().encode('!'));
    o.mkdir(o.root, 'new');
    const image = await commit(s, o, base, { ref: 'base:committed', comment: 'changed b', config: { Labels: { k: 'v' } } });
    expect(image.manifest.layers).toHaveLength(2);
    expect(image.config.rootfs.diff_ids).toHaveLength(2);
    expect(image.config.history?.at(-1)).toMatchObject({ created_by: 'skiff commit', comment: 'changed b' });
    expect(image.config.config?.Labels).toEqual({ k: 'v' });
    expect(digestOf(await s.content.read((image.manifest.layers[1] as { digest: `sha256:${string}` }).digest))).toBe(image.config.rootfs.diff_ids[1]);
    expect(dumpTree(new Overlay(await s.layers(image)))).toEqual(dumpTree(o));
    // The base is unchanged.
    expect(dumpTree(new Overlay(await s.layers(base)), { modes: false })).toEqual(['/etc/ dir', '/etc/a file "a"', '/etc/b file "b"']);
  });
});
