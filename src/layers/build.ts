/**
 * Images from code, and commit.
 *
 * `createImage` makes an ordinary OCI image from a base (an image in the store, or
 * scratch), file trees given as plain objects (one layer each) and a config. It is what
 * examples and tests use until `skiff build` exists, and what `skiff build` will sit on:
 * each tree is written into an overlay over the layers below it and the overlay's
 * changeset becomes the layer, so a tree can also delete (`null`) what a lower layer has.
 *
 * `commit` turns a container's overlay into a new image: the base image's layers plus the
 * overlay's changeset, with the config, history and diff_ids extended by one entry.
 *
 * Both are deterministic for the same inputs: file times come from `mtime` (default: the
 * epoch) and `created` is written only when given, so the same tree always gives the
 * same layer digest and, with the same config, the same image digest.
 */
import { diffLayer } from './changeset.js';
import { Errno } from './errno.js';
import type { Image, ImageStore, LayerInput } from './image-store.js';
import { SkiffError } from './errors.js';
import { indexLayer } from './layer-import.js';
import type { ContainerConfig, History, ImageConfig } from './oci.js';
import { DirNode, Overlay } from './overlay.js';

/** One entry of a file tree. A path ending in `/`, or `{ dir: true }`, is a directory. */
export type TreeValue =
  | string
  | Uint8Array
  /** Deletes what lower layers have at this path (written as a whiteout). */
  | null
  | { readonly content: string | Uint8Array; readonly mode?: number; readonly uid?: number; readonly gid?: number }
  | { readonly dir: true; readonly mode?: number; readonly uid?: number; readonly gid?: number }
  | { readonly symlink: string };

/** Paths (relative or absolute, `/` separated) to what they hold. Parents are made as needed. */
export type FileTree = Readonly<Record<string, TreeValue>>;

export interface ImageSpec {
  /** A ref or digest of an image in the store to build on; omitted or `scratch`: nothing. */
  readonly base?: string | Image;
  /** One layer per tree, bottom first. */
  readonly layers: readonly FileTree[];
  /** Container config (Entrypoint, Cmd, Env, WorkingDir, ExposedPorts, Volumes, Labels…), merged over the base's. */
  readonly config?: ContainerConfig;
  /** Default `wasip1`/`wasm`, the platform of Wasm images (`wasi`/`wasm` is the older name). */
  readonly os?: string;
  readonly architecture?: string;
  /** Name for the image in the store. */
  readonly ref?: string;
  /** Image creation time; written to config and history only when given. */
  readonly created?: Date;
  readonly author?: string;
  /** History `created_by` of each new layer (default `skiff createImage: layer N`). */
  readonly createdBy?: readonly string[];
  /** Modification time of every file written (default: the epoch). */
  readonly mtime?: Date;
}

export interface CommitOptions {
  readonly ref?: string;
  readonly comment?: string;
  readonly author?: string;
  /** Config fields to change (`docker commit --change`). */
  readonly config?: ContainerConfig;
  readonly created?: Date;
  readonly createdBy?: string;
}

/** Makes an image from a base and file trees; see the module comment. */
export async function createImage(store: ImageStore, spec: ImageSpec): Promise<Image> {
  const base = await resolveBase(store, spec.base);
  const lowers = base === undefined ? [] : await store.layers(base);
  const mtime = BigInt((spec.mtime ?? new Date(0)).getTime()) * 1_000_000n;
  const layers: LayerInput[] = base === undefined ? [] : baseLayers(base);
  const history: History[] = [...(base?.config.history ?? [])];
  const created = spec.created?.toISOString();
  for (const [i, tree] of spec.layers.entries()) {
    const overlay = new Overlay(lowers, { clock: () => mtime });
    writeTree(overlay, tree, `layer ${i}`);
    const tar = await diffLayer(overlay);
    layers.push({ tar });
    history.push({
      ...(created !== undefined ? { created } : {}),
      ...(spec.author !== undefined ? { author: spec.author } : {}),
      created_by: spec.createdBy?.[i] ?? `skiff createImage: layer ${i}`,
    });
    // The next tree is written over this layer too.
    lowers.push(indexLayer(tar, `layer ${i}`));
  }
  const config: Omit<ImageConfig, 'rootfs'> = {
    ...(created !== undefined ? { created } : {}),
    ...(spec.author !== undefined ? { author: spec.author } : {}),
    architecture: spec.architecture ?? base?.config.architecture ?? 'wasm',
    os: spec.os ?? base?.config.os ?? 'wasip1',
    config: mergeConfig(base?.config.config, spec.config),
    history,
  };
  return store.put({ config, layers, ...(spec.ref !== undefined ? { ref: spec.ref } : {}) });
}

/** Makes a new image of `base` plus the changes in `overlay` (which must be mounted on base's layers). */
export async function commit(store: ImageStore, overlay: Overlay, base: Image, options: CommitOptions = {}): Promise<Image> {
  const tar = await diffLayer(overlay);
  const created = (options.created ?? new Date()).toISOString();
  const history: History[] = [
    ...(base.config.history ?? []),
    {
      created,
      created_by: options.createdBy ?? 'skiff commit',
      ...(options.author !== undefined ? { author: options.author } : {}),
      ...(options.comment !== undefined ? { comment: options.comment } : {}),
    },
  ];
  const { rootfs: _rootfs, ...rest } = base.config;
  const config: Omit<ImageConfig, 'rootfs'> = {
    ...rest,
    created,
    ...(options.author !== undefined ? { author: options.author } : {}),
    config: mergeConfig(base.config.config, options.config),
    history,
  };
  return store.put({ config, layers: [...baseLayers(base), { tar }], ...(options.ref !== undefined ? { ref: options.ref } : {}) });
}

/**
 * Writes `tree` into `overlay` at its root: files (replacing what is there), directories,
 * symlinks, and deletions (`null`, recursive). Throws a typed error naming the path when
 * an entry cannot be written (e.g. a parent is a file).
 */
export function writeTree(overlay: Overlay, tree: FileTree, what = 'tree'): void {
  const fail = (path: string, e: Errno): never => {
    throw new SkiffError('INVALID_IMAGE', `${what}: cannot write ${JSON.stringify(path)}: ${e.code}`);
  };
  for (const rawPath of Object.keys(tree).sort()) {
    const value = tree[rawPath] as TreeValue;
    const isDirPath = rawPath.endsWith('/');
    const path = rawPath.replace(/^\/+|\/+$/g, '');
    if (path === '' || path.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new SkiffError('INVALID_IMAGE', `${what}: invalid path ${JSON.stringify(rawPath)} (want a/b/c, no . or ..)`);
    }
    if (value === null) {
      const r = removeAll(overlay, path);
      if (r instanceof Errno && r.code !== 'ENOENT') fail(rawPath, r);
      continue;
    }
    const parent = mkdirAll(overlay, path.split('/').slice(0, -1));
    if (parent instanceof Errno) fail(rawPath, parent);
    const existing = overlay.resolve(overlay.root, path, false);
    const wantDir = isDirPath || (typeof value === 'object' && 'dir' in value);
    if (!(existing instanceof Errno) && (existing.kind !== 'dir' || !wantDir)) {
      const r = removeAll(overlay, path);
      if (r instanceof Errno) fail(rawPath, r);
    }
    if (wantDir) {
      let dir = overlay.resolve(overlay.root, path, false);
      if (dir instanceof Errno) dir = overlay.mkdir(overlay.root, path);
      if (dir instanceof Errno) fail(rawPath, dir);
      const v = value as { mode?: number; uid?: number; gid?: number };
      if (typeof value === 'object' && v.mode !== undefined) overlay.chmod(dir as DirNode, v.mode);
      if (typeof value === 'object' && (v.uid !== undefined || v.gid !== undefined)) overlay.chown(dir as DirNode, v.uid ?? 0, v.gid ?? 0);
      continue;
    }
    if (typeof value === 'object' && 'symlink' in value) {
      const r = overlay.symlink(value.symlink, overlay.root, path);
      if (r instanceof Errno) fail(rawPath, r);
      continue;
    }
    const spec = typeof value === 'string' || value instanceof Uint8Array ? { content: value } : (value as { content: string | Uint8Array; mode?: number; uid?: number; gid?: number });
    const bytes = typeof spec.content === 'string' ? new TextEncoder().encode(spec.content) : spec.content;
    const node = overlay.open(overlay.root, path, { create: true, truncate: true, mode: spec.mode ?? 0o644 });
    if (node instanceof Errno) fail(rawPath, node);
    const n = node as Exclude<typeof node, Errno>;
    const w = overlay.write(n, 0, bytes);
    if (w instanceof Errno) fail(rawPath, w);
    if (spec.mode !== undefined) overlay.chmod(n, spec.mode);
    if (spec.uid !== undefined || spec.gid !== undefined) overlay.chown(n, spec.uid ?? 0, spec.gid ?? 0);
  }
}

/** `mkdir -p` of `parts` from the root; returns the last directory. */
export function mkdirAll(overlay: Overlay, parts: readonly string[]): DirNode | Errno {
  let dir: DirNode = overlay.root;
  for (const part of parts) {
    let next = overlay.lookup(dir, part);
    if (next === undefined) {
      const made = overlay.mkdir(dir, part);
      if (made instanceof Errno) return made;
      next = made;
    }
    if (next.kind === 'symlink') {
      const target = overlay.resolve(dir, part, true);
      if (target instanceof Errno) return target;
      next = target;
    }
    if (!(next instanceof DirNode)) return Errno.of('ENOTDIR');
    dir = next;
  }
  return dir;
}

/** `rm -rf` of `path` (relative to the root); ENOENT if nothing is there. */
export function removeAll(overlay: Overlay, path: string): Errno | undefined {
  const node = overlay.resolve(overlay.root, path, false);
  if (node instanceof Errno) return node;
  if (node instanceof DirNode) {
    const listing = overlay.readdir(node);
    if (listing instanceof Errno) return listing;
    for (const { name } of [...listing]) {
      const r = removeAll(overlay, `${path}/${name}`);
      if (r instanceof Errno) return r;
    }
    return overlay.rmdir(overlay.root, path);
  }
  return overlay.unlink(overlay.root, path);
}

async function resolveBase(store: ImageStore, base: string | Image | undefined): Promise<Image | undefined> {
  if (base === undefined || base === 'scratch') return undefined;
  if (typeof base !== 'string') return base;
  const image = await store.get(base);
  if (image === undefined) throw new SkiffError('NOT_FOUND', `base image ${JSON.stringify(base)} is not in the store (load or pull it first)`);
  return image;
}

function baseLayers(base: Image): LayerInput[] {
  return base.manifest.layers.map((descriptor, i) => ({ descriptor, diffID: base.config.rootfs.diff_ids[i] as (typeof base.config.rootfs.diff_ids)[number] }));
}

function mergeConfig(base: ContainerConfig | undefined, over: ContainerConfig | undefined): ContainerConfig {
  if (over === undefined) return { ...base };
  const env = new Map<string, string>();
  for (const e of [...(base?.Env ?? []), ...(over.Env ?? [])]) {
    const eq = e.indexOf('=');
    env.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  const merged: { -readonly [K in keyof ContainerConfig]: ContainerConfig[K] } = {
    ...base,
    ...over,
    ...(env.size > 0 ? { Env: [...env.values()] } : {}),
    ...(base?.ExposedPorts !== undefined || over.ExposedPorts !== undefined ? { ExposedPorts: { ...base?.ExposedPorts, ...over.ExposedPorts } } : {}),
    ...(base?.Volumes !== undefined || over.Volumes !== undefined ? { Volumes: { ...base?.Volumes, ...over.Volumes } } : {}),
    ...(base?.Labels !== undefined || over.Labels !== undefined ? { Labels: { ...base?.Labels, ...over.Labels } } : {}),
  };
  // Docker: setting Entrypoint resets the base's Cmd unless Cmd is given too.
  if (over.Entrypoint !== undefined && over.Cmd === undefined) delete merged.Cmd;
  return merged;
}
