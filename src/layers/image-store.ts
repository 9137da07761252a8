/**
 * The image store: named images over a content store, kept as an OCI image layout, so
 * the store's home directory is one that skopeo and umoci read (`skopeo inspect
 * oci:$DIR:web:latest`).
 *
 * Words: an *image* is a manifest (with its config and layer blobs) in the content store.
 * A *ref* is a name for an image: a tagged reference (`web:latest`, stored in full as
 * `docker.io/library/web:latest`). The *ref table* is the layout's `index.json`: one
 * entry per ref, annotated with `io.containerd.image.name` (the full ref) and
 * `org.opencontainers.image.ref.name` (the familiar ref), plus one entry without names for
 * each image loaded without one. Every blob is reachable from an index.json entry; a blob
 * that stops being reachable is deleted (mark & sweep) by the operation that dropped it.
 * (A crash between a load's blob commits and its index.json write leaves unreachable
 * blobs; the next sweep deletes them.)
 *
 * Lifecycle:
 *   1. `const store = await ImageStore.open(files)` over a layout directory (`NodeFiles`
 *      of `~/.skiff`, or `MemoryFiles`); creates `oci-layout` and `index.json` if new.
 *   2. Images come in by `load(archiveBytes | layoutFiles)` (a `docker save` or OCI
 *      layout tar, or an OCI layout directory), or by `put({ config, layers, ref })` from a
 *      commit or a build. A load validates everything before it commits anything:
 *        a. the source's names and platform candidates are read (layout.ts); a Wasm
 *           manifest is chosen from each index (oci.ts `selectManifest`);
 *        b. every blob used is checked against its descriptor (DigestMismatchError, or
 *           its subclass SizeMismatchError), manifests and configs are parsed strictly;
 *        c. every layer is decompressed (capped at `limits.maxLayerBytes`), its sha256
 *           must equal the config's `rootfs.diff_ids` entry at its position (same count,
 *           same order), it is indexed (`indexLayer`), and the stack of each image passes
 *           `checkStack`;
 *        d. only then are the blobs committed to the content store, and the refs are
 *           written last (one atomic write of index.json).
 *      A load that fails at any step leaves the store exactly as it was.
 *   3. `list()`, `get(ref | digest)` read the ref table; `layers(image)` gives the
 *      `LayerIndex` stack an overlay runs on (decompressed and indexed once per diffID,
 *      then cached in memory for the store's lifetime; `load` does not fill the cache).
 *   4. `tag(src, dst)` adds or moves a ref; `remove(ref | digest)` drops refs and then
 *      sweeps unreachable blobs. A ref moved away from an image that has no other ref
 *      (by `tag`, `load` or `put`) deletes that image too: skiff keeps no dangling images.
 *   5. `save(refs, { format })` writes an OCI layout tar or a `docker save` tar.
 *
 * Names in loaded OCI layouts follow layout.ts (`io.containerd.image.name`, a full
 * `ref.name`, or a bare tag combined with `baseName`). One image is kept per name: the
 * platform chosen at load; the index it came from is not stored.
 *
 * Concurrency: within one store object, mutations (load's commit, put, tag, remove) run
 * one at a time and never during a read of blobs (`get`, `save`, `layers`); the
 * long part of a load (verification) runs outside the lock. Between processes sharing a
 * directory nothing is locked: index.json is replaced atomically (last writer wins) and
 * re-read by every operation, but a sweep may delete blobs another process has
 * committed and not yet named. Do not write blobs into `content` directly: the next sweep
 * deletes what no ref reaches.
 *
 * Errors: lookups that find nothing return `undefined` (`get`); operations on a ref that
 * does not exist throw `NotFoundError`; bad input throws the typed errors of errors.ts.
 */
import { type ContentStore, type Manager, type Provider, LayoutContentStore, SizeMismatchError, writeBlob } from './content-store.js';
import { decompressLayer, gzipLayer, sniffCompression } from './decompress.js';
import { type Digest, digestOf, isDigest } from './digest.js';
import { DigestMismatchError, InvalidImageError, NotFoundError, SkiffError } from './errors.js';
import type { Files } from './files.js';
import { indexLayer } from './layer-import.js';
import { type LayerIndex, type LayerLimits, defaultLayerLimits } from './layer-index.js';
import {
  type ArchiveFormat,
  type ArchiveImage,
  encodeLayoutIndex,
  layoutEntry,
  readArchive,
  readLayoutDir,
  writeArchive,
} from './layout.js';
import {
  Annotation,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  MediaType,
  chainIDs,
  descriptorFor,
  encodeConfig,
  encodeManifest,
  isIndexMediaType,
  parseConfig,
  parseIndex,
  parseManifest,
  platformString,
  selectManifest,
} from './oci.js';
import { type Reference, InvalidReferenceError, familiarReference, formatReference, parseReference } from './reference.js';
import { checkStack } from './stack-check.js';

/** A resolved image. */
export interface Image {
  /** The ref it was found by, familiar form (`web:latest`); undefined when found by digest. */
  readonly ref: string | undefined;
  /** The manifest's descriptor; `digest` is the image's digest. */
  readonly descriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
}

/** One row of `list()`, and what `load` reports per image loaded. */
export interface ImageSummary {
  /** Familiar form (`web:latest`), or undefined for an unnamed image. */
  readonly ref: string | undefined;
  /** The manifest digest. */
  readonly digest: Digest;
}

export interface LoadProgress {
  /** `verify`: hashing, decompressing and indexing; `commit`: writing blobs to the store. */
  readonly phase: 'verify' | 'commit';
  /** Bytes of blobs done in this phase, of `total`. */
  readonly done: number;
  readonly total: number;
}

export interface LoadOptions {
  /** Repository for OCI layout entries named by a bare tag (`latest`); see layout.ts. */
  readonly baseName?: string;
  /** Called as bytes of blobs are verified and committed. */
  readonly onProgress?: (progress: LoadProgress) => void;
}

export interface SaveOptions {
  /** `oci` (default): an OCI image layout tar. `docker`: a `docker save` archive. */
  readonly format?: ArchiveFormat;
}

/** A layer for `put`: a new layer tar, or a layer blob already in the store (a base image's). */
export type LayerInput =
  | {
      /** The uncompressed layer tar; stored as it is (the blob *is* the tar) unless `gzip`. */
      readonly tar: Uint8Array;
      readonly gzip?: boolean;
    }
  | {
      /** A layer descriptor of an image in this store, e.g. from `get(base).manifest.layers`. */
      readonly descriptor: Descriptor;
      readonly diffID: Digest;
    };

/** The parts of a new image, for `put`. */
export interface NewImage {
  /** Without `rootfs`: `put` computes the diffIDs from the layers. */
  readonly config: Omit<ImageConfig, 'rootfs'>;
  /** Bottom first. */
  readonly layers: readonly LayerInput[];
  /** Name to give it; without one the image is kept unnamed. */
  readonly ref?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RemoveResult {
  /** Refs removed, familiar form. */
  readonly untagged: readonly string[];
  /** Blobs deleted by the sweep. */
  readonly deleted: readonly Digest[];
}

export interface ImageStoreOptions {
  /** Limits applied to every layer loaded, put or indexed. */
  readonly limits?: Partial<LayerLimits>;
}

const INDEX_FILE = 'index.json';
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;

/** One index.json entry, with the name the store keys it by. */
interface Entry {
  readonly descriptor: Descriptor;
  /** Full ref, or undefined for unnamed (or foreign, unparseable) entries. */
  readonly name: string | undefined;
}

/** A manifest chosen and verified, with its config. */
interface Resolved {
  readonly descriptor: Descriptor;
  readonly manifestBytes: Uint8Array;
  readonly manifest: ImageManifest;
  readonly configBytes: Uint8Array;
  readonly config: ImageConfig;
}

export class ImageStore {
  /** The store's blobs, for readers (an unpacker, a push, disk usage). Write only through this class. */
  readonly content: Provider & Pick<Manager, 'list'>;
  private readonly blobs: ContentStore;
  private readonly limits: LayerLimits;
  private readonly lock = new RWLock();
  private readonly layerCache = new Map<Digest, Promise<LayerIndex>>();
  /** chainIDs of stacks that passed checkStack. */
  private readonly checkedStacks = new Set<Digest>();

  private constructor(
    private readonly files: Files,
    blobs: ContentStore,
    options: ImageStoreOptions,
  ) {
    this.blobs = blobs;
    this.content = blobs;
    this.limits = { ...defaultLayerLimits, ...options.limits };
  }

  /** Opens the image store in the layout directory `files`, creating the layout if it is new. */
  static async open(files: Files, options: ImageStoreOptions = {}): Promise<ImageStore> {
    const blobs = await LayoutContentStore.open(files);
    const store = new ImageStore(files, blobs, options);
    if ((await files.readFile(INDEX_FILE)) === undefined) await files.writeFile(INDEX_FILE, encodeLayoutIndex([]));
    else await store.readEntries();
    return store;
  }

  /** Every image, in index.json order: one row per ref, one per unnamed image. */
  async list(): Promise<ImageSummary[]> {
    const entries = await this.readEntries();
    return entries.map((e) => ({ ref: familiar(e.name), digest: e.descriptor.digest }));
  }

  /**
   * The image a ref (`web`, `web:v2`, `web@sha256:…`) or a manifest digest (`sha256:…`)
   * names, or `undefined`. A digest finds any image manifest in the store, named or not.
   */
  async get(refOrDigest: string): Promise<Image | undefined> {
    return this.lock.read(() => this.getUnlocked(refOrDigest));
  }

  /** Gives the image `src` (ref or digest) the ref `dst`, moving `dst` if it named another image. */
  async tag(src: string, dst: string): Promise<Image> {
    const dstRef = tagRef(dst);
    return this.lock.write(async () => {
      const image = await this.getUnlocked(src);
      if (image === undefined) throw new NotFoundError(`image ${src} not found`);
      const entries = await this.readEntries();
      const next = setRef(entries, formatReference(dstRef), image.descriptor);
      await this.writeEntries(next);
      await this.sweepIfDropped(entries, next);
      return { ...image, ref: familiarReference(dstRef) };
    });
  }

  /**
   * Removes a ref, or with a digest (or `name@digest`) every ref of that image, then
   * deletes the blobs no remaining ref reaches. `NotFoundError` if nothing matched.
   */
  async remove(refOrDigest: string): Promise<RemoveResult> {
    return this.lock.write(async () => {
      const entries = await this.readEntries();
      let keep: Entry[];
      if (isDigest(refOrDigest)) {
        keep = entries.filter((e) => e.descriptor.digest !== refOrDigest);
      } else {
        const ref = parseReference(refOrDigest);
        keep =
          ref.digest !== undefined
            ? entries.filter((e) => e.descriptor.digest !== ref.digest)
            : entries.filter((e) => e.name !== formatReference(ref));
      }
      if (keep.length === entries.length) throw new NotFoundError(`image ${refOrDigest} not found`);
      const untagged = entries.filter((e) => !keep.includes(e) && e.name !== undefined).map((e) => familiar(e.name) as string);
      await this.writeEntries(keep);
      return { untagged, deleted: await this.sweep(keep) };
    });
  }

  /**
   * Loads the images of a `docker save` or OCI layout tar (bytes), or of an OCI layout
   * directory (`Files`). All or nothing: see the lifecycle, step 2. Returns one row per
   * name loaded (one per unnamed image).
   */
  async load(source: Uint8Array | Files, options: LoadOptions = {}): Promise<ImageSummary[]> {
    const src =
      source instanceof Uint8Array
        ? await readArchive(source, { baseName: options.baseName })
        : await readLayoutDir(source, { baseName: options.baseName });
    const progress = options.onProgress ?? (() => undefined);

    // Steps a–b: choose and verify manifests and configs.
    const staged = new Map<Digest, Uint8Array>();
    const byDigest = new Map<Digest, Resolved>();
    const named: { name: string | undefined; image: Resolved }[] = [];
    for (const img of src.images) {
      const r = await this.resolveFrom(src.blobs, img.candidates, src.name, src.verified);
      if (!byDigest.has(r.descriptor.digest)) byDigest.set(r.descriptor.digest, r);
      named.push({ name: img.ref, image: r });
      staged.set(r.descriptor.digest, r.manifestBytes);
      staged.set(r.manifest.config.digest, r.configBytes);
    }

    // Step c: layers. Each blob is verified, decompressed and indexed once.
    const layerBlobs = new Map<Digest, Descriptor>();
    for (const r of byDigest.values()) {
      if (r.config.rootfs.diff_ids.length !== r.manifest.layers.length) {
        throw new InvalidImageError(
          `${src.name}: config ${r.manifest.config.digest}`,
          `rootfs.diff_ids has ${r.config.rootfs.diff_ids.length} entries but manifest ${r.descriptor.digest} has ${r.manifest.layers.length} layers`,
        );
      }
      for (const l of r.manifest.layers) layerBlobs.set(l.digest, l);
    }
    const total = [...layerBlobs.values()].reduce((n, l) => n + l.size, 0);
    let done = 0;
    progress({ phase: 'verify', done, total });
    const layers = new Map<Digest, LayerIndex>(); // by blob digest; index.name is the diffID
    const byDiffID = new Map<Digest, LayerIndex>();
    for (const l of layerBlobs.values()) {
      const bytes = await readVerified(src.blobs, l, `${src.name}: layer ${l.digest}`, src.verified);
      const tar = await decompressLayer(bytes, l.mediaType, l.digest, this.limits.maxLayerBytes);
      // A plain tar's diffID is its (verified) digest: no second hash.
      const diffID = sniffCompression(bytes) === 'none' ? l.digest : digestOf(tar);
      const index = byDiffID.get(diffID) ?? indexLayer(tar, diffID, this.limits);
      byDiffID.set(diffID, index);
      layers.set(l.digest, index);
      staged.set(l.digest, bytes);
      done += l.size;
      progress({ phase: 'verify', done, total });
    }
    for (const r of byDigest.values()) {
      const stack = r.manifest.layers.map((l, i) => {
        const index = layers.get(l.digest) as LayerIndex;
        const claimed = r.config.rootfs.diff_ids[i] as Digest;
        if (index.name !== claimed) {
          throw new DigestMismatchError(
            `${src.name}: image ${r.descriptor.digest} layer ${i} (${l.digest}) uncompressed, against config rootfs.diff_ids[${i}]`,
            claimed,
            index.name,
          );
        }
        return index;
      });
      checkStack(stack);
    }

    // Step d: commit blobs, then refs.
    await this.lock.write(async () => {
      const commitTotal = [...staged.values()].reduce((n, b) => n + b.length, 0);
      let committed = 0;
      progress({ phase: 'commit', done: 0, total: commitTotal });
      const added: Digest[] = [];
      try {
        for (const [digest, bytes] of staged) {
          if ((await this.blobs.info(digest)) === undefined) {
            await writeBlob(this.blobs, bytes, { digest, size: bytes.length });
            added.push(digest);
          }
          committed += bytes.length;
          progress({ phase: 'commit', done: committed, total: commitTotal });
        }
        const entries = await this.readEntries();
        let next = entries;
        for (const { name, image } of named) {
          next = name === undefined ? addUnnamed(next, image.descriptor) : setRef(next, name, image.descriptor);
        }
        await this.writeEntries(next);
        await this.sweepIfDropped(entries, next);
      } catch (e) {
        for (const d of added) await this.blobs.delete(d).catch(() => undefined);
        throw e;
      }
    });
    for (const r of byDigest.values()) this.markChecked(r.config.rootfs.diff_ids);
    return named.map(({ name, image }) => ({ ref: familiar(name), digest: image.descriptor.digest }));
  }

  /**
   * Writes the images named by `refs` (refs or digests) as one archive. Images named by a
   * ref carry that name; images named by digest are saved unnamed. `NotFoundError` for
   * a ref that names nothing.
   */
  async save(refs: readonly string[], options: SaveOptions = {}): Promise<Uint8Array> {
    return this.lock.read(async () => {
      const images = new Map<Digest, { image: Image; refs: string[] }>();
      for (const r of refs) {
        const image = await this.getUnlocked(r);
        if (image === undefined) throw new NotFoundError(`image ${r} not found`);
        const e = images.get(image.descriptor.digest) ?? { image, refs: [] };
        images.set(image.descriptor.digest, e);
        if (image.ref !== undefined) {
          const full = normalize(image.ref);
          if (!e.refs.includes(full)) e.refs.push(full);
        }
      }
      const archive: ArchiveImage[] = [...images.values()].map(({ image, refs: names }) => ({
        refs: names,
        manifest: { mediaType: image.descriptor.mediaType, digest: image.descriptor.digest, size: image.descriptor.size },
        config: image.manifest.config,
        layers: image.manifest.layers,
      }));
      return writeArchive(archive, this.blobs, options.format ?? 'oci');
    });
  }

  /**
   * The image's layers, bottom first, each decompressed, checked against its diffID and
   * indexed, and the stack checked. Cached by diffID for the store's lifetime.
   */
  async layers(image: Image): Promise<LayerIndex[]> {
    const diffIDs = image.config.rootfs.diff_ids;
    if (diffIDs.length !== image.manifest.layers.length) {
      throw new InvalidImageError(`image ${image.descriptor.digest}`, 'config rootfs.diff_ids and manifest layers differ in count');
    }
    const stack = await this.lock.read(() => Promise.all(image.manifest.layers.map((l, i) => this.layerIndex(l, diffIDs[i] as Digest))));
    const top = chainIDs(diffIDs).at(-1);
    if (top !== undefined && !this.checkedStacks.has(top)) {
      checkStack(stack);
      this.checkedStacks.add(top);
    }
    return stack;
  }

  /**
   * Stores a new image: the new layer blobs (uncompressed unless `gzip`), the config with
   * `rootfs` filled in, and an OCI manifest; then names it `ref` (moving the ref if it
   * named another image). New layers are indexed and the whole stack checked first.
   */
  async put(image: NewImage): Promise<Image> {
    const ref = image.ref === undefined ? undefined : tagRef(image.ref);
    const blobs = new Map<Digest, Uint8Array>();
    const existing: Descriptor[] = [];
    const layers: Descriptor[] = [];
    const diffIDs: Digest[] = [];
    const stack: LayerIndex[] = [];
    const fresh = new Map<Digest, LayerIndex>();
    for (const l of image.layers) {
      if ('tar' in l) {
        const diffID = digestOf(l.tar);
        const blob = l.gzip === true ? gzipLayer(l.tar) : l.tar;
        const d = descriptorFor(l.gzip === true ? MediaType.ociLayerGzip : MediaType.ociLayer, blob);
        const index =
          fresh.get(diffID) ??
          (await this.layerCache.get(diffID)) ??
          indexLayer(await decompressLayer(l.tar, MediaType.ociLayer, diffID, this.limits.maxLayerBytes), diffID, this.limits);
        fresh.set(diffID, index);
        blobs.set(d.digest, blob);
        layers.push(d);
        diffIDs.push(diffID);
        stack.push(index);
      } else {
        existing.push(l.descriptor);
        layers.push(l.descriptor);
        diffIDs.push(l.diffID);
        stack.push(await this.lock.read(() => this.layerIndex(l.descriptor, l.diffID)));
      }
    }
    checkStack(stack);
    const config: ImageConfig = { ...image.config, rootfs: { type: 'layers', diff_ids: diffIDs } };
    const configBytes = encodeConfig(config);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: descriptorFor(MediaType.ociConfig, configBytes),
      layers,
      ...(image.annotations !== undefined && Object.keys(image.annotations).length > 0 ? { annotations: image.annotations } : {}),
    };
    const manifestBytes = encodeManifest(manifest);
    const descriptor = descriptorFor(MediaType.ociManifest, manifestBytes);
    blobs.set(manifest.config.digest, configBytes);
    blobs.set(descriptor.digest, manifestBytes);

    await this.lock.write(async () => {
      for (const d of existing) {
        if ((await this.blobs.info(d.digest)) === undefined) throw new NotFoundError(`layer blob ${d.digest} is not in the store`);
      }
      const added: Digest[] = [];
      try {
        for (const [digest, bytes] of blobs) {
          if ((await this.blobs.info(digest)) === undefined) {
            await writeBlob(this.blobs, bytes, { digest, size: bytes.length });
            added.push(digest);
          }
        }
        const entries = await this.readEntries();
        const next = ref === undefined ? addUnnamed(entries, descriptor) : setRef(entries, formatReference(ref), descriptor);
        await this.writeEntries(next);
        await this.sweepIfDropped(entries, next);
      } catch (e) {
        for (const d of added) await this.blobs.delete(d).catch(() => undefined);
        throw e;
      }
    });
    for (const [diffID, index] of fresh) if (!this.layerCache.has(diffID)) this.layerCache.set(diffID, Promise.resolve(index));
    this.markChecked(diffIDs);
    return { ref: ref === undefined ? undefined : familiarReference(ref), descriptor, manifest, config };
  }

  // -------------------------------------------------------------------------------------

  private async getUnlocked(refOrDigest: string): Promise<Image | undefined> {
    const entries = await this.readEntries();
    let entry: Entry | undefined;
    let ref: Reference | undefined;
    if (isDigest(refOrDigest)) {
      entry = entries.find((e) => e.descriptor.digest === refOrDigest);
      if (entry === undefined) return this.imageByDigest(refOrDigest);
      return this.resolveEntry(entry, undefined);
    }
    try {
      ref = parseReference(refOrDigest);
    } catch (e) {
      // `sha256:<short>` and the like: not a ref, and no digest of ours.
      if (e instanceof InvalidReferenceError && refOrDigest.startsWith('sha256:')) return undefined;
      throw e;
    }
    if (ref.digest !== undefined) {
      entry = entries.find((e) => e.descriptor.digest === ref.digest);
      return entry === undefined ? this.imageByDigest(ref.digest) : this.resolveEntry(entry, undefined);
    }
    const name = formatReference(ref);
    entry = entries.find((e) => e.name === name);
    return entry === undefined ? undefined : this.resolveEntry(entry, familiarReference(ref));
  }

  /** A manifest blob of the store by digest, if there is one and it is an image manifest. */
  private async imageByDigest(digest: Digest): Promise<Image | undefined> {
    const info = await this.blobs.info(digest);
    if (info === undefined || info.size > MAX_JSON_BYTES) return undefined;
    const bytes = await this.blobs.read(digest);
    if (bytes[0] !== 0x7b) return undefined; // not a JSON object
    let mediaType: unknown;
    try {
      mediaType = (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown }).mediaType;
    } catch {
      return undefined;
    }
    if (mediaType !== MediaType.ociManifest && mediaType !== MediaType.dockerManifest) return undefined;
    return this.resolveEntry({ descriptor: { mediaType, digest, size: info.size }, name: undefined }, undefined);
  }

  private async resolveEntry(entry: Entry, ref: string | undefined): Promise<Image> {
    const r = await this.resolveFrom(this.blobs, [entry.descriptor], 'image store', new Set());
    return { ref, descriptor: r.descriptor, manifest: r.manifest, config: r.config };
  }

  /**
   * Chooses a manifest among `candidates` (recursing into indexes), verifies and parses
   * it and its config. Throws UNSUPPORTED when no candidate is a Wasm image.
   */
  private async resolveFrom(
    blobs: Provider,
    candidates: readonly Descriptor[],
    source: string,
    verified: ReadonlySet<Digest>,
    depth = 0,
  ): Promise<Resolved> {
    const chosen = selectManifest(candidates);
    if (chosen === undefined) {
      const found = candidates.map((c) => `${c.digest.slice(0, 19)}… (${platformString(c.platform)})`).join(', ');
      throw new SkiffError(
        'UNSUPPORTED',
        `${source}: no Wasm image to choose (want platform wasip1/wasm or wasi/wasm, or a single manifest without a platform); found ${found || 'nothing'}`,
      );
    }
    if (chosen.size > MAX_JSON_BYTES) {
      throw new SkiffError('LIMIT_EXCEEDED', `${source}: ${chosen.digest} is ${chosen.size} bytes, more than the ${MAX_JSON_BYTES} allowed for a manifest or index`);
    }
    const bytes = await readVerified(blobs, chosen, `${source}: ${isIndexMediaType(chosen.mediaType) ? 'index' : 'manifest'} ${chosen.digest}`, verified);
    if (isIndexMediaType(chosen.mediaType)) {
      if (depth >= MAX_INDEX_DEPTH) throw new InvalidImageError(`${source}: index ${chosen.digest}`, `indexes nest more than ${MAX_INDEX_DEPTH} deep`);
      const index = parseIndex(bytes, `${source}: index ${chosen.digest}`);
      return this.resolveFrom(blobs, index.manifests, `${source}: index ${chosen.digest}`, verified, depth + 1);
    }
    const manifest = parseManifest(bytes, `${source}: manifest ${chosen.digest}`);
    if (manifest.mediaType !== undefined && manifest.mediaType !== chosen.mediaType) {
      throw new InvalidImageError(
        `${source}: manifest ${chosen.digest}`,
        `mediaType ${JSON.stringify(manifest.mediaType)} differs from its descriptor's ${JSON.stringify(chosen.mediaType)}`,
      );
    }
    const c = manifest.config;
    if (c.size > MAX_JSON_BYTES) {
      throw new SkiffError('LIMIT_EXCEEDED', `${source}: config ${c.digest} is ${c.size} bytes, more than the ${MAX_JSON_BYTES} allowed`);
    }
    const configBytes = await readVerified(blobs, c, `${source}: config ${c.digest}`, verified);
    const config = parseConfig(configBytes, `${source}: config ${c.digest}`);
    const descriptor: Descriptor = {
      mediaType: chosen.mediaType,
      digest: chosen.digest,
      size: chosen.size,
      ...(chosen.platform !== undefined ? { platform: chosen.platform } : {}),
    };
    return { descriptor, manifestBytes: bytes, manifest, configBytes, config };
  }

  private markChecked(diffIDs: readonly Digest[]): void {
    const top = chainIDs(diffIDs).at(-1);
    if (top !== undefined) this.checkedStacks.add(top);
  }

  private layerIndex(layer: Descriptor, diffID: Digest): Promise<LayerIndex> {
    let p = this.layerCache.get(diffID);
    if (p === undefined) {
      p = (async () => {
        const bytes = await readVerified(this.blobs, layer, `layer ${layer.digest}`, new Set([layer.digest]));
        const tar = await decompressLayer(bytes, layer.mediaType, layer.digest, this.limits.maxLayerBytes);
        const actual = digestOf(tar);
        if (actual !== diffID) throw new DigestMismatchError(`layer ${layer.digest} uncompressed, against its diffID`, diffID, actual);
        return indexLayer(tar, diffID, this.limits);
      })();
      this.layerCache.set(diffID, p);
      p.catch(() => this.layerCache.delete(diffID));
    }
    return p;
  }

  private async readEntries(): Promise<Entry[]> {
    const bytes = await this.files.readFile(INDEX_FILE);
    if (bytes === undefined) return [];
    const index = parseIndex(bytes, `image store ${INDEX_FILE}`);
    return index.manifests.map((descriptor) => ({ descriptor, name: storeEntryName(descriptor) }));
  }

  private async writeEntries(entries: readonly Entry[]): Promise<void> {
    await this.files.writeFile(INDEX_FILE, encodeLayoutIndex(entries.map((e) => e.descriptor)));
  }

  private async sweepIfDropped(before: readonly Entry[], after: readonly Entry[]): Promise<void> {
    const kept = new Set(after.map((e) => e.descriptor.digest));
    if (before.some((e) => !kept.has(e.descriptor.digest))) await this.sweep(after);
  }

  /**
   * Mark & sweep: deletes every blob no entry reaches (through indexes, manifests,
   * configs and layers). If a reachable index or manifest cannot be read or parsed,
   * nothing is deleted: a blob we cannot see into may hold references we would break.
   */
  private async sweep(entries: readonly Entry[]): Promise<Digest[]> {
    const marked = new Set<Digest>();
    const visit = async (d: Descriptor, depth: number): Promise<boolean> => {
      if (marked.has(d.digest)) return true;
      marked.add(d.digest);
      const isIndex = isIndexMediaType(d.mediaType);
      if (!isIndex && d.mediaType !== MediaType.ociManifest && d.mediaType !== MediaType.dockerManifest) return true;
      if ((await this.blobs.info(d.digest)) === undefined) return true; // absent: nothing below to keep
      try {
        const bytes = await this.blobs.read(d.digest);
        if (isIndex) {
          if (depth >= MAX_INDEX_DEPTH) return false;
          for (const m of parseIndex(bytes, `index ${d.digest}`).manifests) if (!(await visit(m, depth + 1))) return false;
        } else {
          const m = parseManifestLoose(bytes);
          if (m === undefined) return false;
          for (const c of m) marked.add(c);
        }
        return true;
      } catch {
        return false;
      }
    };
    for (const e of entries) if (!(await visit(e.descriptor, 0))) return [];
    const deleted: Digest[] = [];
    for (const info of await this.blobs.list()) {
      if (!marked.has(info.digest) && (await this.blobs.delete(info.digest))) deleted.push(info.digest);
    }
    return deleted;
  }
}

/** The blobs a manifest references (config and layers), without the strict media-type checks. */
function parseManifestLoose(bytes: Uint8Array): Digest[] | undefined {
  const doc = JSON.parse(new TextDecoder().decode(bytes)) as { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
  const out: Digest[] = [];
  const add = (d: unknown): boolean => {
    if (!isDigest(d)) return false;
    out.push(d);
    return true;
  };
  if (!add(doc.config?.digest)) return undefined;
  if (!Array.isArray(doc.layers)) return undefined;
  for (const l of doc.layers) if (!add(l?.digest)) return undefined;
  return out;
}

/** The name the store keys an index.json entry by: lenient, since others (skopeo) may write entries. */
function storeEntryName(d: Descriptor): string | undefined {
  for (const key of [Annotation.containerdImageName, Annotation.refName]) {
    const v = d.annotations?.[key];
    if (v === undefined || v === '') continue;
    try {
      const r = parseReference(v);
      if (r.digest === undefined) return formatReference(r);
    } catch {
      // not a reference: a foreign entry, kept as it is and listed unnamed
    }
  }
  return undefined;
}

/**
 * Points `name` at `manifest` (in place of its old entry, if any, else appended); drops
 * other entries of that name and the unnamed entry of that image.
 */
function setRef(entries: readonly Entry[], name: string, manifest: Descriptor): Entry[] {
  const entry: Entry = { descriptor: layoutEntry(manifest, name), name };
  const at = entries.findIndex((e) => e.name === name);
  const next = entries.map((e, i) => (i === at ? entry : e));
  if (at === -1) next.push(entry);
  return next.filter((e) => e === entry || (e.name !== name && !(e.name === undefined && e.descriptor.digest === manifest.digest && isOurs(e))));
}

/** Records an unnamed image, unless the image already has an entry. */
function addUnnamed(entries: readonly Entry[], manifest: Descriptor): Entry[] {
  if (entries.some((e) => e.descriptor.digest === manifest.digest)) return [...entries];
  return [...entries, { descriptor: layoutEntry(manifest, undefined), name: undefined }];
}

/** An unnamed entry skiff wrote (no annotations), as opposed to a foreign one it cannot name. */
function isOurs(e: Entry): boolean {
  return e.descriptor.annotations === undefined;
}

/** A full ref for a tag target: a tagged name, no digest. */
function tagRef(input: string): Reference {
  const ref = parseReference(input);
  if (ref.digest !== undefined) throw new InvalidReferenceError(input, 'a name to give an image cannot contain a digest');
  return ref;
}

function familiar(name: string | undefined): string | undefined {
  return name === undefined ? undefined : familiarReference(parseReference(name));
}

function normalize(ref: string): string {
  return formatReference(parseReference(ref));
}

/** Reads a blob and checks it against its descriptor (size always; digest unless already verified). */
async function readVerified(blobs: Provider, d: Descriptor, what: string, verified: ReadonlySet<Digest>): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await blobs.read(d.digest);
  } catch (e) {
    if (e instanceof NotFoundError) throw new NotFoundError(`${what}: blob is missing`);
    throw e;
  }
  if (bytes.length !== d.size) throw new SizeMismatchError(what, d.size, bytes.length);
  if (!verified.has(d.digest)) {
    const actual = digestOf(bytes);
    if (actual !== d.digest) throw new DigestMismatchError(what, d.digest, actual);
  }
  return bytes;
}

/**
 * A readers–writer lock, first come first served: readers share, a writer is alone. A
 * waiting writer holds back later readers, so a stream of reads cannot starve it.
 */
class RWLock {
  private readers = 0;
  private writing = false;
  private readonly queue: { write: boolean; grant: () => void }[] = [];

  read<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(false, fn);
  }

  write<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(true, fn);
  }

  private async run<T>(write: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((grant) => {
      this.queue.push({ write, grant });
      this.pump();
    });
    try {
      return await fn();
    } finally {
      if (write) this.writing = false;
      else this.readers--;
      this.pump();
    }
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.writing) {
      const head = this.queue[0] as { write: boolean; grant: () => void };
      if (head.write) {
        if (this.readers > 0) return;
        this.writing = true;
      } else {
        this.readers++;
      }
      this.queue.shift();
      head.grant();
    }
  }
}
