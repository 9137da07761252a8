import { packTar, type TarEntry } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { SizeMismatchError } from './content-store.js';
import { gzipLayer } from './decompress.js';
import { type Digest, digestOf } from './digest.js';
import { DigestMismatchError, InvalidImageError, InvalidLayerError, NotFoundError, SkiffError } from './errors.js';
import { type Files, MemoryFiles } from './files.js';
import { type Image, ImageStore, type LoadProgress } from './image-store.js';
import type { LayerDir, LayerIndex } from './layer-index.js';
import { type Descriptor, MediaType, parseIndex } from './oci.js';

// ---------------------------------------------------------------------------------------
// Fixtures: layer tars with modern-tar, image documents as hand-written JSON.

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (v: unknown): Uint8Array => enc(JSON.stringify(v));
const EPOCH = new Date(0);
const WASM = { architecture: 'wasm', os: 'wasip1' };

type Spec = string | { symlink: string } | 'dir';

/** A layer tar: `{ 'etc/hello': 'hi', 'bin': 'dir', 'link': { symlink: 'etc' } }`. */
function layer(spec: Record<string, Spec>): Promise<Uint8Array> {
  const entries: TarEntry[] = Object.entries(spec).map(([name, s]) => {
    if (s === 'dir') return { header: { name: `${name}/`, type: 'directory', size: 0, mode: 0o755, mtime: EPOCH } };
    if (typeof s === 'object') return { header: { name, type: 'symlink', linkname: s.symlink, size: 0, mode: 0o777, mtime: EPOCH } };
    const body = enc(s);
    return { header: { name, type: 'file', size: body.length, mode: 0o644, mtime: EPOCH }, body };
  });
  return packTar(entries);
}

interface ImageOptions {
  /** Layer tars (uncompressed), bottom first. */
  layers: Uint8Array[];
  gzip?: boolean;
  /** Replaces parts of the config document. */
  config?: Record<string, unknown>;
  /** Edits the manifest document before it is stored. */
  manifest?: (m: Record<string, unknown>) => Record<string, unknown>;
  /** Replace the stored bytes of layer blob i (after the descriptor was computed). */
  corruptLayer?: number;
}

/** An OCI image layout under construction: blobs and index.json entries. */
class Layout {
  readonly blobs = new Map<Digest, Uint8Array>();
  readonly entries: Descriptor[] = [];

  blob(bytes: Uint8Array): Digest {
    const d = digestOf(bytes);
    this.blobs.set(d, bytes);
    return d;
  }

  /** Builds an image's blobs and returns its manifest descriptor (not yet listed). */
  image(o: ImageOptions): Descriptor {
    const layers = o.layers.map((tar, i) => {
      const blob = o.gzip === true ? gzipLayer(tar) : tar;
      const d = { mediaType: o.gzip === true ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: this.blob(blob), size: blob.length };
      if (o.corruptLayer === i) {
        const bad = blob.slice();
        bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
        this.blobs.set(d.digest, bad);
      }
      return d;
    });
    const configBytes = json({
      ...WASM,
      config: { Cmd: ['/app.wasm'] },
      rootfs: { type: 'layers', diff_ids: o.layers.map((t) => digestOf(t)) },
      ...o.config,
    });
    let manifest: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: this.blob(configBytes), size: configBytes.length },
      layers,
    };
    if (o.manifest) manifest = o.manifest(manifest);
    const bytes = json(manifest);
    return { mediaType: MediaType.ociManifest, digest: this.blob(bytes), size: bytes.length };
  }

  /** Lists a manifest (or index) in index.json. */
  entry(d: Descriptor, annotations?: Record<string, string>, platform?: { architecture: string; os: string }): this {
    this.entries.push({ ...d, ...(annotations ? { annotations } : {}), ...(platform ? { platform } : {}) });
    return this;
  }

  /** Stores a nested image index and returns its descriptor. */
  index(manifests: Descriptor[]): Descriptor {
    const bytes = json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });
    return { mediaType: MediaType.ociIndex, digest: this.blob(bytes), size: bytes.length };
  }

  private indexJSON(): Uint8Array {
    return json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: this.entries });
  }

  tar(): Promise<Uint8Array> {
    const files: TarEntry[] = [
      { header: { name: 'oci-layout', type: 'file', size: 30 }, body: '{"imageLayoutVersion":"1.0.0"}' },
      { header: { name: 'index.json', type: 'file', size: this.indexJSON().length }, body: this.indexJSON() },
      { header: { name: 'blobs/', type: 'directory', size: 0 } },
      { header: { name: 'blobs/sha256/', type: 'directory', size: 0 } },
    ];
    for (const [d, b] of this.blobs) files.push({ header: { name: `blobs/sha256/${d.slice(7)}`, type: 'file', size: b.length }, body: b });
    return packTar(files);
  }

  async files(): Promise<MemoryFiles> {
    const f = new MemoryFiles();
    await f.writeFile('oci-layout', enc('{"imageLayoutVersion":"1.0.0"}'));
    await f.writeFile('index.json', this.indexJSON());
    for (const [d, b] of this.blobs) await f.writeFile(`blobs/sha256/${d.slice(7)}`, b);
    return f;
  }
}

/** A classic `docker save` archive: `<id>/layer.tar`, `<hex>.json`, manifest.json. */
async function dockerArchive(
  items: { repoTags: string[] | null; layers: Uint8Array[]; config?: Record<string, unknown> }[],
  extra: TarEntry[] = [],
): Promise<Uint8Array> {
  const entries: TarEntry[] = [];
  const manifest = [];
  const seen = new Map<Digest, string>();
  for (const [n, item] of items.entries()) {
    const config = json({ ...WASM, rootfs: { type: 'layers', diff_ids: item.layers.map((l) => digestOf(l)) }, ...item.config });
    const configName = `${digestOf(config).slice(7)}.json`;
    entries.push({ header: { name: configName, type: 'file', size: config.length }, body: config });
    const layerNames = item.layers.map((l, i) => {
      const d = digestOf(l);
      const dir = `${d.slice(7, 23)}${n}${i}`;
      entries.push({ header: { name: `${dir}/`, type: 'directory', size: 0 } });
      const first = seen.get(d);
      // a repeated layer is a symlink to the first copy, as older Docker writes it
      if (first !== undefined) entries.push({ header: { name: `${dir}/layer.tar`, type: 'symlink', linkname: `../${first}`, size: 0 } });
      else {
        entries.push({ header: { name: `${dir}/layer.tar`, type: 'file', size: l.length }, body: l });
        seen.set(d, `${dir}/layer.tar`);
      }
      return `${dir}/layer.tar`;
    });
    manifest.push({ Config: configName, RepoTags: item.repoTags, Layers: layerNames });
  }
  const m = json(manifest);
  entries.push({ header: { name: 'manifest.json', type: 'file', size: m.length }, body: m }, ...extra);
  return packTar(entries);
}

/** A layer stack as a plain tree, for comparing images across stores. */
function tree(layers: LayerIndex[]): unknown[] {
  const dump = (l: LayerIndex, dir: LayerDir): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, n] of [...dir.children].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (n.kind === 'dir') out[name] = dump(l, n);
      else if (n.kind === 'file') out[name] = new TextDecoder().decode(l.bytes.subarray(n.offset, n.offset + n.size));
      else if (n.kind === 'symlink') out[name] = `-> ${n.target}`;
      else out[name] = `link ${n.target}`;
    }
    if (dir.whiteouts.size > 0) out['.whiteouts'] = [...dir.whiteouts].sort();
    if (dir.opaque) out['.opaque'] = true;
    return out;
  };
  return layers.map((l) => dump(l, l.root));
}

async function open(files: Files = new MemoryFiles(), limits?: { maxLayerBytes: number }): Promise<ImageStore> {
  return ImageStore.open(files, limits ? { limits } : {});
}

async function must(store: ImageStore, ref: string): Promise<Image> {
  const image = await store.get(ref);
  if (image === undefined) throw new Error(`${ref} not in the store`);
  return image;
}

async function snapshot(store: ImageStore, files: MemoryFiles): Promise<unknown> {
  return { list: await store.list(), content: await store.content.list(), index: await files.readFile('index.json') };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

// ---------------------------------------------------------------------------------------

describe('ImageStore: loading', () => {
  it('loads an OCI layout tar and serves the image, its config and its layers', async () => {
    const base = await layer({ etc: 'dir', 'etc/hello': 'hi', 'app.wasm': 'v1' });
    const top = await layer({ 'app.wasm': 'v2', '.wh.gone': '' });
    const l = new Layout();
    l.entry(l.image({ layers: [base, top], gzip: true }), { 'org.opencontainers.image.ref.name': 'web:latest' });
    const store = await open();
    const loaded = await store.load(await l.tar());
    expect(loaded).toEqual([{ ref: 'web:latest', digest: l.entries[0]?.digest }]);
    expect(await store.list()).toEqual(loaded);
    const img = await must(store, 'web');
    expect(img.ref).toBe('web:latest');
    expect(img.config.config?.Cmd).toEqual(['/app.wasm']);
    expect(img.manifest.layers.map((x) => x.mediaType)).toEqual([MediaType.ociLayerGzip, MediaType.ociLayerGzip]);
    expect(tree(await store.layers(img))).toEqual([{ etc: { hello: 'hi' }, 'app.wasm': 'v1' }, { 'app.wasm': 'v2', '.whiteouts': ['gone'] }]);
    expect((await store.get(img.descriptor.digest))?.descriptor.digest).toBe(img.descriptor.digest);
    expect(await store.get('other')).toBeUndefined();
  });

  it('writes index.json with both names, as skopeo and containerd read them', async () => {
    const files = new MemoryFiles();
    const store = await open(files);
    const l = new Layout();
    l.entry(l.image({ layers: [await layer({ a: '1' })] }), { 'org.opencontainers.image.ref.name': 'localhost:5000/team/web:1' });
    await store.load(await l.tar());
    const index = parseIndex((await files.readFile('index.json')) as Uint8Array, 'index.json');
    expect(index.manifests).toEqual([
      {
        mediaType: MediaType.ociManifest,
        digest: l.entries[0]?.digest,
        size: l.entries[0]?.size,
        annotations: { 'io.containerd.image.name': 'localhost:5000/team/web:1', 'org.opencontainers.image.ref.name': 'localhost:5000/team/web:1' },
      },
    ]);
    expect(await files.readFile('oci-layout')).toEqual(enc('{"imageLayoutVersion":"1.0.0"}'));
  });

  it('names layout entries: containerd name first, full ref.name, bare tag with baseName only', async () => {
    const l = new Layout();
    const a = l.image({ layers: [await layer({ a: '1' })] });
    const b = l.image({ layers: [await layer({ b: '1' })] });
    l.entry(a, { 'io.containerd.image.name': 'docker.io/library/alpha:1', 'org.opencontainers.image.ref.name': '1' });
    l.entry(b, { 'org.opencontainers.image.ref.name': 'latest' });
    const archive = await l.tar();

    const plain = await open();
    expect(await plain.load(archive)).toEqual([
      { ref: 'alpha:1', digest: a.digest },
      { ref: undefined, digest: b.digest },
    ]);
    expect(await plain.list()).toEqual([
      { ref: 'alpha:1', digest: a.digest },
      { ref: undefined, digest: b.digest },
    ]);

    const based = await open();
    expect(await based.load(archive, { baseName: 'team/beta' })).toEqual([
      { ref: 'alpha:1', digest: a.digest },
      { ref: 'team/beta:latest', digest: b.digest },
    ]);
    await expect(based.load(archive, { baseName: 'beta:v1' })).rejects.toThrow(/base name/);
  });

  it('chooses the Wasm manifest from an index, nested or at the top', async () => {
    const l = new Layout();
    const linux = l.image({ layers: [await layer({ linux: 'x' })], config: { architecture: 'amd64', os: 'linux' } });
    const wasm = l.image({ layers: [await layer({ wasm: 'x' })] });
    l.entry(l.index([{ ...linux, platform: { architecture: 'amd64', os: 'linux' } }, { ...wasm, platform: WASM }]), {
      'org.opencontainers.image.ref.name': 'multi:1',
    });
    l.entry(linux, { 'org.opencontainers.image.ref.name': 'flat:1' }, { architecture: 'amd64', os: 'linux' });
    l.entry(wasm, { 'org.opencontainers.image.ref.name': 'flat:1' }, { architecture: 'wasm', os: 'wasi' });
    const store = await open();
    expect(await store.load(await l.tar())).toEqual([
      { ref: 'multi:1', digest: wasm.digest },
      { ref: 'flat:1', digest: wasm.digest },
    ]);
    expect((await must(store, 'multi:1')).descriptor.platform).toEqual(WASM);
    // only the chosen platform's blobs are stored
    const linuxLayer = digestOf(await layer({ linux: 'x' }));
    expect((await store.content.info(linuxLayer))).toBeUndefined();
  });

  it('loads an OCI layout directory', async () => {
    const l = new Layout();
    l.entry(l.image({ layers: [await layer({ d: 'dir', 'd/f': 'x' })] }), { 'org.opencontainers.image.ref.name': 'dir:1' });
    const store = await open();
    expect(await store.load(await l.files())).toEqual([{ ref: 'dir:1', digest: l.entries[0]?.digest }]);
    expect(tree(await store.layers(await must(store, 'dir:1')))).toEqual([{ d: { f: 'x' } }]);
  });

  it('loads a classic docker save archive: symlinked layers, several tags, an untagged image', async () => {
    const base = await layer({ 'lib.txt': 'shared' });
    const app = await layer({ 'app.wasm': 'wasm' });
    const archive = await dockerArchive([
      { repoTags: ['web:latest', 'registry.io/web:1'], layers: [base, app], config: { config: { Entrypoint: ['/app.wasm'] } } },
      { repoTags: null, layers: [base] },
    ]);
    const store = await open();
    const loaded = await store.load(archive);
    expect(loaded.map((x) => x.ref)).toEqual(['web:latest', 'registry.io/web:1', undefined]);
    const img = await must(store, 'registry.io/web:1');
    expect(img.descriptor.mediaType).toBe(MediaType.ociManifest);
    expect(img.manifest.layers.map((x) => x.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    // uncompressed layers: the blob is the tar itself
    expect(img.manifest.layers.map((x) => x.digest)).toEqual([digestOf(base), digestOf(app)]);
    expect(img.config.config?.Entrypoint).toEqual(['/app.wasm']);
    expect(tree(await store.layers(img))).toEqual([{ 'lib.txt': 'shared' }, { 'app.wasm': 'wasm' }]);
    expect((await store.list()).length).toBe(3);
  });

  it('reports progress for verification and commit', async () => {
    const l = new Layout();
    l.entry(l.image({ layers: [await layer({ a: 'x'.repeat(5000) }), await layer({ b: 'y' })], gzip: true }), {
      'org.opencontainers.image.ref.name': 'p:1',
    });
    const seen: LoadProgress[] = [];
    await (await open()).load(await l.tar(), { onProgress: (p) => seen.push(p) });
    for (const phase of ['verify', 'commit'] as const) {
      const ps = seen.filter((p) => p.phase === phase);
      expect(ps.length).toBeGreaterThan(1);
      expect(ps.at(-1)?.done).toBe(ps.at(-1)?.total);
      expect(ps.map((p) => p.done)).toEqual([...ps.map((p) => p.done)].sort((a, b) => a - b));
    }
  });

  it('lets concurrent loads of the same archive both succeed', async () => {
    const l = new Layout();
    l.entry(l.image({ layers: [await layer({ c: '1' })] }), { 'org.opencontainers.image.ref.name': 'c:1' });
    const archive = await l.tar();
    const store = await open();
    await Promise.all([store.load(archive), store.load(archive)]);
    expect(await store.list()).toEqual([{ ref: 'c:1', digest: l.entries[0]?.digest }]);
  });
});

describe('ImageStore: save and load round trips', () => {
  async function source(): Promise<{ store: ImageStore; image: Image }> {
    const store = await open();
    const base = await store.put({ ref: 'base:1', config: { ...WASM }, layers: [{ tar: await layer({ bin: 'dir', 'bin/tool': 'tool' }), gzip: true }] });
    const image = await store.put({
      ref: 'web:latest',
      config: { ...WASM, config: { Cmd: ['/app.wasm'], Env: ['A=1'] }, history: [{ created_by: 'COPY app.wasm /' }] },
      layers: [
        { descriptor: base.manifest.layers[0] as Descriptor, diffID: base.config.rootfs.diff_ids[0] as Digest },
        { tar: await layer({ 'app.wasm': 'app', link: { symlink: 'bin/tool' }, '.wh.old': '' }) },
      ],
    });
    return { store, image };
  }

  for (const format of ['oci', 'docker'] as const) {
    it(`save as ${format} → load into a fresh store: same manifest digest, same layer trees`, async () => {
      const { store, image } = await source();
      const archive = await store.save(['web:latest'], { format });
      const fresh = await open();
      expect(await fresh.load(archive)).toEqual([{ ref: 'web:latest', digest: image.descriptor.digest }]);
      const again = await must(fresh, 'web:latest');
      expect(again.descriptor.digest).toBe(image.descriptor.digest);
      expect(again.config).toEqual(image.config);
      expect(tree(await fresh.layers(again))).toEqual(tree(await store.layers(image)));
      // and saving is deterministic
      expect(await fresh.save(['web:latest'], { format })).toEqual(archive);
    });
  }

  it('saves several images, by ref and by digest, sharing blobs once', async () => {
    const { store, image } = await source();
    const archive = await store.save(['web:latest', 'base:1', image.descriptor.digest]);
    const fresh = await open();
    const loaded = await fresh.load(archive);
    expect(loaded.map((x) => x.ref).sort()).toEqual(['base:1', 'web:latest']);
    expect((await fresh.content.info(image.manifest.layers[0]?.digest as Digest))?.size).toBe(image.manifest.layers[0]?.size);
    await expect(store.save(['nope:1'])).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('ImageStore: put, tag, remove', () => {
  it('stores a new uncompressed layer once: the blob is the tar', async () => {
    const store = await open();
    const tar = await layer({ f: 'content' });
    const img = await store.put({ ref: 'p', config: { ...WASM }, layers: [{ tar }] });
    expect(img.manifest.layers[0]).toEqual({ mediaType: MediaType.ociLayer, digest: digestOf(tar), size: tar.length });
    expect(img.config.rootfs.diff_ids).toEqual([digestOf(tar)]);
    expect(await store.content.read(digestOf(tar))).toEqual(tar);
    expect((await store.content.list()).length).toBe(3); // layer, config, manifest
    expect(await store.get('p:latest')).toMatchObject({ ref: 'p:latest', descriptor: img.descriptor });
    // layers are cached by diffID
    const [a] = await store.layers(img);
    const [b] = await store.layers((await store.get('p')) as Image);
    expect(a).toBe(b);
  });

  it('gzips on request and refuses a layer stack that breaks out', async () => {
    const store = await open();
    const img = await store.put({ config: { ...WASM }, layers: [{ tar: await layer({ f: 'x' }), gzip: true }] });
    expect(img.manifest.layers[0]?.mediaType).toBe(MediaType.ociLayerGzip);
    expect(await store.list()).toEqual([{ ref: undefined, digest: img.descriptor.digest }]);
    const evil = [{ tar: await layer({ evil: { symlink: '/' } }) }, { tar: await layer({ 'evil/passwd': 'x' }) }];
    await expect(store.put({ ref: 'evil', config: { ...WASM }, layers: evil })).rejects.toBeInstanceOf(InvalidLayerError);
    expect(await store.list()).toEqual([{ ref: undefined, digest: img.descriptor.digest }]);
  });

  it('tags, untags, and sweeps blobs no ref reaches', async () => {
    const store = await open();
    const shared = await layer({ shared: '1' });
    const a = await store.put({ ref: 'a:1', config: { ...WASM }, layers: [{ tar: shared }, { tar: await layer({ a: '1' }) }] });
    const b = await store.put({ ref: 'b:1', config: { ...WASM }, layers: [{ tar: shared }] });
    expect((await store.tag('a:1', 'a:2')).ref).toBe('a:2');
    expect((await store.tag(b.descriptor.digest, 'localhost:5000/b')).ref).toBe('localhost:5000/b:latest');
    expect((await store.list()).map((x) => x.ref)).toEqual(['a:1', 'b:1', 'a:2', 'localhost:5000/b:latest']);

    expect(await store.remove('a:1')).toEqual({ untagged: ['a:1'], deleted: [] });
    const r = await store.remove('a:2');
    expect(r.untagged).toEqual(['a:2']);
    expect(new Set(r.deleted)).toEqual(new Set([a.descriptor.digest, a.manifest.config.digest, a.manifest.layers[1]?.digest]));
    expect(await store.content.info(digestOf(shared))).toBeDefined();

    expect((await store.remove(b.descriptor.digest)).untagged).toEqual(['b:1', 'localhost:5000/b:latest']);
    expect(await store.content.list()).toEqual([]);
    await expect(store.remove('a:1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.tag('gone', 'x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.tag('x', `y@sha256:${'a'.repeat(64)}`)).rejects.toThrow(/cannot contain a digest/);
  });

  it('moving a ref deletes the image it named, if nothing else names it', async () => {
    const store = await open();
    const old = await store.put({ ref: 'web', config: { ...WASM }, layers: [{ tar: await layer({ v: '1' }) }] });
    const next = await store.put({ ref: 'web', config: { ...WASM }, layers: [{ tar: await layer({ v: '2' }) }] });
    expect(await store.list()).toEqual([{ ref: 'web:latest', digest: next.descriptor.digest }]);
    expect(await store.content.info(old.descriptor.digest)).toBeUndefined();
    expect(await store.content.info(old.manifest.layers[0]?.digest as Digest)).toBeUndefined();
  });

  it('keeps refs across reopening the directory', async () => {
    const files = new MemoryFiles();
    const img = await (await open(files)).put({ ref: 'keep:1', config: { ...WASM }, layers: [{ tar: await layer({ k: '1' }) }] });
    const again = await open(files);
    expect(await again.list()).toEqual([{ ref: 'keep:1', digest: img.descriptor.digest }]);
    expect(tree(await again.layers(await must(again, 'keep:1')))).toEqual([{ k: '1' }]);
  });
});

describe('ImageStore: a failed load leaves the store exactly as it was', () => {
  interface Case {
    what: string;
    archive: () => Promise<Uint8Array | Files>;
    error: (e: unknown) => void;
    limits?: { maxLayerBytes: number };
  }

  const named = (l: Layout, d: Descriptor, name = 'bad:1'): Layout => l.entry(d, { 'org.opencontainers.image.ref.name': name });
  const isA =
    (cls: abstract new (...a: never[]) => Error, code?: string, pattern?: RegExp) =>
    (e: unknown): void => {
      expect(e).toBeInstanceOf(cls);
      if (code !== undefined) expect((e as SkiffError).code).toBe(code);
      if (pattern !== undefined) expect((e as Error).message).toMatch(pattern);
    };

  const cases: Case[] = [
    {
      what: 'a layer blob whose digest does not match',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ shared: 'base' }), await layer({ x: '1' })], corruptLayer: 1 })).tar();
      },
      error: isA(DigestMismatchError, 'DIGEST_MISMATCH'),
    },
    {
      what: 'a blob whose size does not match its descriptor',
      archive: async () => {
        const l = new Layout();
        return named(
          l,
          l.image({
            layers: [await layer({ x: '1' })],
            manifest: (m) => ({ ...m, layers: (m.layers as Descriptor[]).map((d) => ({ ...d, size: d.size + 1 })) }),
          }),
        ).tar();
      },
      error: isA(SizeMismatchError, 'DIGEST_MISMATCH'),
    },
    {
      what: 'a manifest that does not parse',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ x: '1' })], manifest: (m) => ({ ...m, schemaVersion: 1 }) })).tar();
      },
      error: isA(InvalidImageError, 'INVALID_IMAGE', /schemaVersion must be 2/),
    },
    {
      what: 'a config that does not parse',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ x: '1' })], config: { os: 7 } })).tar();
      },
      error: isA(InvalidImageError, 'INVALID_IMAGE', /config sha256:.*os must be a string/),
    },
    {
      what: 'an index without a Wasm manifest',
      archive: async () => {
        const l = new Layout();
        const linux = l.image({ layers: [await layer({ x: '1' })] });
        return l.entry(linux, { 'org.opencontainers.image.ref.name': 'bad:1' }, { architecture: 'amd64', os: 'linux' }).tar();
      },
      error: isA(SkiffError, 'UNSUPPORTED', /no Wasm image.*linux\/amd64/),
    },
    {
      what: 'a gzip layer that is not gzip',
      archive: async () => {
        const l = new Layout();
        return named(
          l,
          l.image({
            layers: [await layer({ x: '1' })],
            manifest: (m) => ({ ...m, layers: (m.layers as Descriptor[]).map((d) => ({ ...d, mediaType: MediaType.ociLayerGzip })) }),
          }),
        ).tar();
      },
      error: isA(InvalidLayerError, 'INVALID_LAYER'),
    },
    {
      what: 'a layer over the decompression cap',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ big: 'z'.repeat(20_000) })], gzip: true })).tar();
      },
      limits: { maxLayerBytes: 8192 },
      error: isA(InvalidLayerError, 'LIMIT_EXCEEDED'),
    },
    {
      what: 'a layer tar with an unsafe entry',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ '../escape': 'x' })] })).tar();
      },
      error: isA(InvalidLayerError, 'INVALID_LAYER', /\.\./),
    },
    {
      what: 'diff_ids that do not match the layers',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ x: '1' })], config: { rootfs: { type: 'layers', diff_ids: [digestOf(enc('other'))] } } })).tar();
      },
      error: isA(DigestMismatchError, 'DIGEST_MISMATCH', /diff_ids\[0\]/),
    },
    {
      what: 'diff_ids of another count',
      archive: async () => {
        const l = new Layout();
        const t = await layer({ x: '1' });
        return named(l, l.image({ layers: [t], config: { rootfs: { type: 'layers', diff_ids: [digestOf(t), digestOf(t)] } } })).tar();
      },
      error: isA(InvalidImageError, 'INVALID_IMAGE', /2 entries but .* 1 layers/),
    },
    {
      what: 'a layer stack that breaks out through a symlink',
      archive: async () => {
        const l = new Layout();
        return named(l, l.image({ layers: [await layer({ evil: { symlink: '/' } }), await layer({ 'evil/passwd': 'x' })] })).tar();
      },
      error: isA(InvalidLayerError),
    },
    {
      what: 'a missing blob',
      archive: async () => {
        const l = new Layout();
        const d = l.image({ layers: [await layer({ x: 'missing' })] });
        l.blobs.delete(digestOf(await layer({ x: 'missing' })));
        return named(l, d).tar();
      },
      error: isA(NotFoundError, 'NOT_FOUND', /layer sha256:.*missing/),
    },
    {
      what: 'a good image followed by a bad one',
      archive: async () => {
        const l = new Layout();
        named(l, l.image({ layers: [await layer({ good: '1' })] }), 'good:1');
        return named(l, l.image({ layers: [await layer({ x: '1' })], corruptLayer: 0 })).tar();
      },
      error: isA(DigestMismatchError),
    },
    {
      what: 'a docker archive with a missing layer file',
      archive: async () => {
        const a = await dockerArchive([{ repoTags: ['bad:1'], layers: [await layer({ x: '1' })] }]);
        const m = json([{ Config: 'nope.json', RepoTags: ['bad:1'], Layers: [] }]);
        return packTar([{ header: { name: 'manifest.json', type: 'file', size: m.length }, body: m }, { header: { name: 'pad', type: 'file', size: a.length }, body: a }]);
      },
      error: isA(InvalidImageError, 'INVALID_IMAGE', /\[0\]\.Config "nope\.json" is not a file/),
    },
    {
      what: 'a docker archive with a bad RepoTag',
      archive: async () => dockerArchive([{ repoTags: ['Bad:1'], layers: [await layer({ x: '1' })] }]),
      error: isA(InvalidImageError, 'INVALID_IMAGE', /RepoTags\[0\].*lowercase/),
    },
    {
      what: 'bytes that are not an image archive',
      archive: async () => packTar([{ header: { name: 'readme', type: 'file', size: 2 }, body: 'hi' }]),
      error: isA(InvalidImageError, 'INVALID_IMAGE', /neither an OCI image layout .* nor a docker save archive/),
    },
    {
      what: 'a layout directory without index.json',
      archive: async () => {
        const f = new MemoryFiles();
        await f.writeFile('oci-layout', enc('{"imageLayoutVersion":"1.0.0"}'));
        return f;
      },
      error: isA(InvalidImageError, 'INVALID_IMAGE', /no index\.json/),
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.what}`, async () => {
      const files = new MemoryFiles();
      const store = await open(files, c.limits);
      // Something to keep: an image sharing a layer with the bad archives.
      await store.put({ ref: 'keep:1', config: { ...WASM }, layers: [{ tar: await layer({ shared: 'base' }) }] });
      const before = await snapshot(store, files);
      c.error(await errorOf(store.load(await c.archive())));
      expect(await snapshot(store, files)).toEqual(before);
    });
  }

  it('undoes the blobs it committed when a later commit fails', async () => {
    const files = new MemoryFiles();
    const store = await open(files);
    await store.put({ ref: 'keep:1', config: { ...WASM }, layers: [{ tar: await layer({ shared: 'base' }) }] });
    const before = await snapshot(store, files);
    const l = new Layout();
    named(l, l.image({ layers: [await layer({ a: '1' }), await layer({ b: '2' })] }), 'ok:1');
    const archive = await l.tar();
    let renames = 0;
    const rename = files.rename.bind(files);
    files.rename = async (from, to) => {
      if (++renames === 2) throw new Error('disk full');
      return rename(from, to);
    };
    await expect(store.load(archive)).rejects.toThrow('disk full');
    files.rename = rename;
    expect(await snapshot(store, files)).toEqual(before);
    expect(await files.list('ingest')).toEqual([]);
  });
});
