/**
 * Image archive and directory formats: reading an OCI image layout (a directory, or a
 * tar of one) or a `docker save` archive into an `ImageSource`, and writing either
 * archive format. Nothing here verifies blobs or layers: the image store does, before it
 * commits anything (image-store.ts). This module only knows where things are and what
 * they are called.
 *
 * Detection (`readArchive`): a tar with `oci-layout` and `index.json` is an OCI layout,
 * else one with `manifest.json` is a Docker archive. Docker ≥ 25 writes both; the OCI
 * reading is preferred then, as containerd does, and names still come out right because
 * Docker writes `io.containerd.image.name`.
 *
 * Names in an OCI layout's index.json, for each manifest entry:
 * 1. `io.containerd.image.name` (containerd and Docker ≥ 25 write the full name there);
 * 2. else `org.opencontainers.image.ref.name` if it contains `/`, `:` or `@`: a full
 *    reference (skopeo `oci:dir:web:latest`, and skiff's own saves);
 * 3. else the annotation is a bare tag (`latest`, as the image spec intends and
 *    `docker save` writes): combined with `baseName` as containerd's `ctr import
 *    --base-name` does (`web` + `latest` → `web:latest`); without a base name the image
 *    is loaded unnamed, as Docker loads an OCI layout with no image name.
 * Entries with the same name (or all unnamed ones) are one image whose entries are its
 * platform candidates (oci.ts `selectManifest`).
 *
 * Docker archives (`manifest.json`, the format of moby's image/tarexport): each item's
 * `Config` and `Layers` name files in the archive (symlinks between them, as older
 * Docker writes for repeated layers, are followed); names come from `RepoTags`. There is
 * no manifest in such an archive, so one is synthesised: an OCI manifest with the OCI
 * config media type and a layer media type per blob's compression magic, encoded
 * canonically (oci.ts). An image saved by skiff in this format therefore loads back with
 * the manifest digest it had, when it was made by `ImageStore.put`.
 *
 * Writing (`writeArchive`): `oci` is a pure OCI layout tar; `docker` is `manifest.json`
 * plus `blobs/sha256/<hex>` files (Docker ≥ 25's paths, readable by every Docker
 * version), without an index.json. Entries have fixed metadata (mtime 0, root, 0644),
 * so the same images give the same bytes.
 */
import { packTar, type TarEntry as PackEntry } from 'modern-tar';
import { type Info, type Provider, LayoutContentStore, OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION, checkLayoutFile } from './content-store.js';
import { sniffCompression } from './decompress.js';
import { type Digest, digestOf, encodedPart, isDigest } from './digest.js';
import { DigestMismatchError, InvalidImageError, InvalidLayerError, NotFoundError, SkiffError } from './errors.js';
import type { Files } from './files.js';
import {
  Annotation,
  type Descriptor,
  type ImageIndex,
  MediaType,
  descriptorFor,
  encodeIndex,
  encodeJSON,
  encodeManifest,
  ociLayerMediaType,
  parseIndex,
} from './oci.js';
import { InvalidReferenceError, familiarReference, formatReference, parseReference } from './reference.js';
import { readTar } from './tar.js';

/** One image a source offers: a name (or none) and the index entries to choose a platform from. */
export interface SourceImage {
  /** Full normalised reference (`docker.io/library/web:latest`), or undefined if unnamed. */
  readonly ref: string | undefined;
  readonly candidates: readonly Descriptor[];
}

/** What a load reads from. Blobs are *unverified*: the reader of a blob checks it against its descriptor. */
export interface ImageSource {
  readonly format: 'oci' | 'docker';
  /** Names the source in messages (`archive`, `layout directory`). */
  readonly name: string;
  readonly images: readonly SourceImage[];
  readonly blobs: Provider;
  /** Digests this module computed from the content itself (Docker archives): no need to hash them again. */
  readonly verified: ReadonlySet<Digest>;
}

export interface ReadOptions {
  /** Repository for bare-tag names in an OCI layout (see the module comment, rule 3). */
  readonly baseName?: string;
  /** Names the source in messages. Default `archive` / `layout directory`. */
  readonly name?: string;
}

/** An image to write: its manifest's descriptor and blobs, and the names to give it (full form). */
export interface ArchiveImage {
  readonly refs: readonly string[];
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export type ArchiveFormat = 'oci' | 'docker';

const INDEX_FILE = 'index.json';
const DOCKER_MANIFEST_FILE = 'manifest.json';
const MAX_LINK_HOPS = 16;

// ---------------------------------------------------------------------------------------
// Reading

/** Reads an OCI layout tar or a `docker save` tar held in memory. File data is not copied. */
export async function readArchive(bytes: Uint8Array, options: ReadOptions = {}): Promise<ImageSource> {
  const name = options.name ?? 'archive';
  const files = archiveFiles(bytes, name);
  const layoutFile = files.get(OCI_LAYOUT_FILE);
  const indexFile = files.get(INDEX_FILE);
  if (layoutFile !== undefined && indexFile !== undefined) {
    checkLayoutFile(layoutFile, `${name} ${OCI_LAYOUT_FILE}`);
    const index = parseIndex(indexFile, `${name} ${INDEX_FILE}`);
    const blobs = new MapProvider();
    for (const [path, data] of files) {
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
      if (m !== null) blobs.set(`sha256:${m[1] as string}`, data);
    }
    return { format: 'oci', name, images: ociImages(index, `${name} ${INDEX_FILE}`, options.baseName), blobs, verified: new Set() };
  }
  const manifestFile = files.get(DOCKER_MANIFEST_FILE);
  if (manifestFile !== undefined) return dockerSource(manifestFile, files, name);
  throw new InvalidImageError(
    name,
    `is neither an OCI image layout (${OCI_LAYOUT_FILE} and ${INDEX_FILE}) nor a docker save archive (${DOCKER_MANIFEST_FILE})`,
  );
}

/** Reads an OCI layout directory. Blobs are read on demand. */
export async function readLayoutDir(files: Files, options: ReadOptions = {}): Promise<ImageSource> {
  const name = options.name ?? 'layout directory';
  const layoutFile = await files.readFile(OCI_LAYOUT_FILE);
  if (layoutFile === undefined) throw new InvalidImageError(name, `has no ${OCI_LAYOUT_FILE} file: not an OCI image layout`);
  checkLayoutFile(layoutFile, `${name} ${OCI_LAYOUT_FILE}`);
  const indexFile = await files.readFile(INDEX_FILE);
  if (indexFile === undefined) throw new InvalidImageError(name, `has no ${INDEX_FILE} file: not an OCI image layout`);
  const index = parseIndex(indexFile, `${name} ${INDEX_FILE}`);
  return {
    format: 'oci',
    name,
    images: ociImages(index, `${name} ${INDEX_FILE}`, options.baseName),
    blobs: new LayoutContentStore(files),
    verified: new Set(),
  };
}

/**
 * The name an index.json entry gives its manifest (rules 1–3 of the module comment), in
 * full form, or undefined. Throws `InvalidImageError` for a name that is not a reference.
 */
export function layoutEntryName(d: Descriptor, source: string, field: string, baseName?: string): string | undefined {
  const parse = (value: string, key: string): string => {
    try {
      return formatReference(parseReference(value));
    } catch (e) {
      if (e instanceof InvalidReferenceError) throw new InvalidImageError(source, `${field}.annotations[${JSON.stringify(key)}]: ${e.message}`);
      throw e;
    }
  };
  const full = d.annotations?.[Annotation.containerdImageName];
  if (full !== undefined && full !== '') return parse(full, Annotation.containerdImageName);
  const refName = d.annotations?.[Annotation.refName];
  if (refName === undefined || refName === '') return undefined;
  if (/[/:@]/.test(refName)) return parse(refName, Annotation.refName);
  return baseName === undefined ? undefined : parse(`${baseName}:${refName}`, Annotation.refName);
}

function ociImages(index: ImageIndex, source: string, baseName: string | undefined): SourceImage[] {
  if (baseName !== undefined) {
    // Validate once, naming the option rather than an annotation.
    const r = parseReference(baseName);
    if (r.digest !== undefined || /:[^/]*$/.test(baseName)) {
      throw new InvalidReferenceError(baseName, 'a base name is a repository without tag or digest');
    }
  }
  const groups = new Map<string | undefined, Descriptor[]>();
  index.manifests.forEach((d, i) => {
    const ref = layoutEntryName(d, source, `manifests[${i}]`, baseName);
    const g = groups.get(ref);
    if (g === undefined) groups.set(ref, [d]);
    else g.push(d);
  });
  if (groups.size === 0) throw new InvalidImageError(source, 'manifests is empty: the layout holds no image');
  return [...groups].map(([ref, candidates]) => ({ ref, candidates }));
}

interface DockerItem {
  readonly Config: string;
  readonly RepoTags: readonly string[];
  readonly Layers: readonly string[];
}

function parseDockerManifest(bytes: Uint8Array, source: string): DockerItem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new InvalidImageError(source, `is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new InvalidImageError(source, 'must be a JSON array of images');
  if (doc.length === 0) throw new InvalidImageError(source, 'is empty: the archive holds no image');
  return doc.map((item: unknown, i): DockerItem => {
    const f = `[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new InvalidImageError(source, `${f} must be an object`);
    const o = item as Record<string, unknown>;
    if (typeof o.Config !== 'string') throw new InvalidImageError(source, `${f}.Config must be a string (the config file's path)`);
    const strings = (v: unknown, field: string, optional: boolean): string[] => {
      if ((v === undefined || v === null) && optional) return [];
      if (!Array.isArray(v)) throw new InvalidImageError(source, `${f}.${field} must be an array of strings`);
      return v.map((s, j) => {
        if (typeof s !== 'string') throw new InvalidImageError(source, `${f}.${field}[${j}] must be a string`);
        return s;
      });
    };
    return { Config: o.Config, RepoTags: strings(o.RepoTags, 'RepoTags', true), Layers: strings(o.Layers, 'Layers', false) };
  });
}

function dockerSource(manifestFile: Uint8Array, files: ReadonlyMap<string, Uint8Array>, name: string): ImageSource {
  const source = `${name} ${DOCKER_MANIFEST_FILE}`;
  const items = parseDockerManifest(manifestFile, source);
  const blobs = new MapProvider();
  const verified = new Set<Digest>();
  const images: SourceImage[] = [];

  /** A file of the archive as a blob; a `blobs/sha256/<hex>` path must match its content. */
  const blob = (path: string, field: string): { digest: Digest; data: Uint8Array } => {
    const clean = cleanPath(path);
    const data = clean === undefined ? undefined : files.get(clean);
    if (data === undefined) throw new InvalidImageError(source, `${field} ${JSON.stringify(path)} is not a file in the archive`);
    const digest = digestOf(data);
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(clean as string);
    if (m !== null && digest !== `sha256:${m[1] as string}`) {
      throw new DigestMismatchError(`${name}: ${clean}`, `sha256:${m[1] as string}`, digest);
    }
    blobs.set(digest, data);
    verified.add(digest);
    return { digest, data };
  };

  items.forEach((item, i) => {
    const config = blob(item.Config, `[${i}].Config`);
    const layers = item.Layers.map((p, j) => {
      const l = blob(p, `[${i}].Layers[${j}]`);
      return descriptorFor(ociLayerMediaType(sniffCompression(l.data)), l.data);
    });
    const manifestBytes = encodeManifest({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: descriptorFor(MediaType.ociConfig, config.data),
      layers,
    });
    const manifest = descriptorFor(MediaType.ociManifest, manifestBytes);
    blobs.set(manifest.digest, manifestBytes);
    verified.add(manifest.digest);
    const refs = item.RepoTags.map((t, j) => {
      try {
        return formatReference(parseReference(t));
      } catch (e) {
        if (e instanceof InvalidReferenceError) throw new InvalidImageError(source, `[${i}].RepoTags[${j}]: ${e.message}`);
        throw e;
      }
    });
    if (refs.length === 0) images.push({ ref: undefined, candidates: [manifest] });
    for (const ref of refs) images.push({ ref, candidates: [manifest] });
  });
  return { format: 'docker', name, images, blobs, verified };
}

/** `a/./b/`, `./a` → `a/b`, `a`; undefined for paths that climb out or are absolute. */
function cleanPath(p: string): string | undefined {
  const out: string[] = [];
  if (p.startsWith('/')) return undefined;
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.pop() === undefined) return undefined;
      continue;
    }
    out.push(c);
  }
  return out.length === 0 ? undefined : out.join('/');
}

/**
 * The regular files of an archive by clean path, symlinks and hard links resolved to
 * their targets' data (last entry of a name wins, as extraction would). Data are views
 * into `bytes`.
 */
function archiveFiles(bytes: Uint8Array, name: string): Map<string, Uint8Array> {
  const data = new Map<string, Uint8Array>();
  const links = new Map<string, string>();
  try {
    for (const e of readTar(bytes, name, { maxPathBytes: 4096 })) {
      const path = cleanPath(e.name);
      if (path === undefined) continue;
      if (e.type === 'file') {
        data.set(path, bytes.subarray(e.dataOffset, e.dataOffset + e.size));
        links.delete(path);
      } else if (e.type === 'symlink' || e.type === 'hardlink') {
        const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
        const target = cleanPath(e.type === 'symlink' && !e.linkname.startsWith('/') ? dir + e.linkname : e.linkname);
        if (target !== undefined) links.set(path, target);
        data.delete(path);
      }
    }
  } catch (e) {
    if (e instanceof InvalidLayerError) throw new InvalidImageError(name, `is not a valid tar archive: ${e.message}`);
    throw e;
  }
  for (const [path, first] of links) {
    let target = first;
    for (let hops = 0; hops < MAX_LINK_HOPS && !data.has(target); hops++) {
      const next = links.get(target);
      if (next === undefined) break;
      target = next;
    }
    const d = data.get(target);
    if (d !== undefined) data.set(path, d);
  }
  return data;
}

/** A read-only Provider over blobs held in memory. */
class MapProvider implements Provider {
  private readonly blobs = new Map<Digest, Uint8Array>();
  set(digest: Digest, data: Uint8Array): void {
    this.blobs.set(digest, data);
  }
  async info(digest: Digest): Promise<Info | undefined> {
    const b = this.blobs.get(digest);
    return b === undefined ? undefined : { digest, size: b.length };
  }
  async read(digest: Digest): Promise<Uint8Array> {
    const b = this.blobs.get(digest);
    if (b === undefined) throw new NotFoundError(`blob ${digest} not found`);
    return b;
  }
}

// ---------------------------------------------------------------------------------------
// Writing

const EPOCH = new Date(0);

/**
 * The index.json entry of a named manifest: both names, so that skopeo (`oci:dir:web:latest`,
 * ref.name) and containerd/Docker (`io.containerd.image.name`) find it.
 */
export function layoutEntry(manifest: Descriptor, fullRef: string | undefined): Descriptor {
  const { annotations: _drop, ...rest } = manifest;
  if (fullRef === undefined) return rest;
  return {
    ...rest,
    annotations: {
      [Annotation.containerdImageName]: fullRef,
      [Annotation.refName]: familiarReference(parseReference(fullRef)),
    },
  };
}

/** The index.json of an image layout listing `entries`. */
export function encodeLayoutIndex(entries: readonly Descriptor[]): Uint8Array {
  return encodeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries });
}

/** Writes `images` as an archive of `format`, reading their blobs from `blobs`. */
export async function writeArchive(images: readonly ArchiveImage[], blobs: Provider, format: ArchiveFormat): Promise<Uint8Array> {
  const entries: PackEntry[] = [dir('blobs/'), dir('blobs/sha256/')];
  const written = new Set<Digest>();
  const addBlob = async (d: Descriptor): Promise<void> => {
    if (written.has(d.digest)) return;
    if (!isDigest(d.digest)) throw new SkiffError('UNSUPPORTED', `blob ${d.digest}: only sha256 digests can be saved`);
    written.add(d.digest);
    entries.push(file(`blobs/sha256/${encodedPart(d.digest)}`, await blobs.read(d.digest)));
  };
  for (const img of images) {
    if (format === 'oci') await addBlob(img.manifest);
    await addBlob(img.config);
    for (const l of img.layers) await addBlob(l);
  }
  const enc = new TextEncoder();
  if (format === 'oci') {
    const manifests: Descriptor[] = [];
    for (const img of images) {
      if (img.refs.length === 0) manifests.push(layoutEntry(img.manifest, undefined));
      for (const r of img.refs) manifests.push(layoutEntry(img.manifest, r));
    }
    entries.push(file(INDEX_FILE, encodeLayoutIndex(manifests)));
    entries.push(file(OCI_LAYOUT_FILE, enc.encode(`{"imageLayoutVersion":"${OCI_LAYOUT_VERSION}"}`)));
  } else {
    const items = images.map(
      (img) =>
        new Map<string, unknown>([
          ['Config', `blobs/sha256/${encodedPart(img.config.digest)}`],
          ['RepoTags', img.refs.length === 0 ? null : img.refs.map((r) => familiarReference(parseReference(r)))],
          ['Layers', img.layers.map((l) => `blobs/sha256/${encodedPart(l.digest)}`)],
        ]),
    );
    entries.push(file(DOCKER_MANIFEST_FILE, encodeJSON(items)));
  }
  return packTar(entries);
}

function dir(name: string): PackEntry {
  return { header: { name, type: 'directory', size: 0, mode: 0o755, mtime: EPOCH, uid: 0, gid: 0 } };
}

function file(name: string, body: Uint8Array): PackEntry {
  return { header: { name, type: 'file', size: body.length, mode: 0o644, mtime: EPOCH, uid: 0, gid: 0 }, body };
}
