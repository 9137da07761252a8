/**
 * Turning an overlay back into tar: the upper tree as an OCI layer (a *changeset*,
 * `skiff diff` / `skiff commit`), or the whole merged tree as one tar (`skiff export`).
 *
 * The layer written by `diffLayer` is what the OCI image spec calls a changeset:
 * added and changed paths as ordinary entries, deleted paths as whiteout files
 * `.wh.<name>`, a directory that hides everything below it with `.wh..wh..opq`.
 * Applying it onto the same lower layers gives exactly the overlay's merged tree
 * (the property test in changeset.test.ts checks this against a reference model).
 *
 * Output is deterministic: entries in name order (whiteouts of a directory first, then
 * its entries), times in whole seconds, no user or group names, a second name of a file
 * written as a hard link to the first. The same tree always gives the same digest.
 */
import { packTar, type TarEntry, type TarHeader } from 'modern-tar';
import { Errno } from './errno.js';
import { indexLayer } from './layer-import.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerDir, type LayerFile, type LayerIndex, type LayerNode } from './layer-index.js';
import { DirNode, FileNode, type Node, type Overlay } from './overlay.js';

export interface ChangeEntry {
  readonly header: TarHeader;
  readonly body?: Uint8Array;
}

/** The upper tree of `overlay` as changeset entries, parents before children. */
export function diffEntries(overlay: Overlay): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  const seen = new Map<Node, string>();
  walkUpper(overlay, overlay.root, '', out, seen);
  return out;
}

/** The whole merged tree of `overlay` as tar entries (no whiteouts), as `docker export` writes it. */
export function treeEntries(overlay: Overlay): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  const seen = new Map<Node, string>();
  walkFull(overlay, overlay.root, '', out, seen);
  return out;
}

/** The changeset of `overlay` as an uncompressed OCI layer tar. */
export async function diffLayer(overlay: Overlay): Promise<Uint8Array> {
  return pack(diffEntries(overlay));
}

/** The merged tree of `overlay` as one tar. */
export async function exportTree(overlay: Overlay): Promise<Uint8Array> {
  return pack(treeEntries(overlay));
}

export async function pack(entries: readonly ChangeEntry[]): Promise<Uint8Array> {
  return packTar(entries.map((e): TarEntry => (e.body !== undefined ? { header: e.header, body: e.body } : { header: e.header })));
}

function walkUpper(overlay: Overlay, dir: DirNode, prefix: string, out: ChangeEntry[], seen: Map<Node, string>): void {
  const entries = [...overlay.upperEntries(dir)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, node] of entries) {
    if (node === null) out.push(whiteout(prefix + WHITEOUT_PREFIX + name));
  }
  for (const [name, node] of entries) {
    if (node === null) continue;
    const path = prefix + name;
    if (node instanceof DirNode) {
      out.push(entryOf(overlay, node, path, seen));
      if (node.redirected) {
        out.push(whiteout(`${path}/${OPAQUE_MARKER}`));
        walkFull(overlay, node, `${path}/`, out, seen);
      } else {
        if (node.opaque) out.push(whiteout(`${path}/${OPAQUE_MARKER}`));
        walkUpper(overlay, node, `${path}/`, out, seen);
      }
    } else {
      out.push(entryOf(overlay, node, path, seen));
    }
  }
}

function walkFull(overlay: Overlay, dir: DirNode, prefix: string, out: ChangeEntry[], seen: Map<Node, string>): void {
  const listing = overlay.readdir(dir);
  if (!Array.isArray(listing)) return;
  for (const { name } of listing) {
    const node = overlay.lookup(dir, name);
    if (node === undefined) continue;
    const path = prefix + name;
    out.push(entryOf(overlay, node, path, seen));
    if (node instanceof DirNode) walkFull(overlay, node, `${path}/`, out, seen);
  }
}

function entryOf(overlay: Overlay, node: Node, path: string, seen: Map<Node, string>): ChangeEntry {
  const st = overlay.stat(node);
  const base = {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    mtime: new Date(Number(st.mtime / 1_000_000_000n) * 1000),
    uname: '',
    gname: '',
  };
  if (node.kind === 'dir') return { header: { ...base, name: `${path}/`, type: 'directory', size: 0 } };
  // A hard link to a symlink is written as a second symlink with the same target: the
  // names resolve the same, and layer importers (ours included) expect hard links to
  // name regular files.
  if (node.kind === 'symlink') return { header: { ...base, name: path, type: 'symlink', size: 0, linkname: node.target } };
  const first = seen.get(node);
  if (first !== undefined) return { header: { ...base, name: path, type: 'link', size: 0, linkname: first } };
  seen.set(node, path);
  const body = overlay.contentOf(node as FileNode);
  return { header: { ...base, name: path, type: 'file', size: body.length }, body };
}

function whiteout(path: string): ChangeEntry {
  return { header: { name: path, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: new Date(0), uname: '', gname: '' } };
}

/**
 * Applies a changeset (a layer tar, as `diffLayer` writes it) onto `overlay`'s upper
 * tree: the inverse of `diffLayer`. Over the same lower layers, the merged tree after
 * `applyChangeset(fresh, await diffLayer(o))` is `o`'s merged tree (names, kinds,
 * contents, modes, owners, mtimes, symlink targets and hard-link groups). This is how a
 * restarted container gets back the upper it had (its layers are shared; its upper
 * travels as a changeset). The tar is indexed with `indexLayer`, so its rules (and its
 * refusal of unsafe entries, thrown as `InvalidLayerError`) apply.
 *
 * Whiteouts remove what is there (recursively); an opaque directory first loses every
 * entry the lower layers give it. Returns the first errno an overlay operation
 * returned (then the overlay holds part of the changeset), or undefined.
 */
export function applyChangeset(overlay: Overlay, tar: Uint8Array): Errno | undefined {
  const layer = indexLayer(tar, 'changeset');
  try {
    applyDir(overlay, layer, overlay.root, layer.root, new Map());
  } catch (e) {
    if (e instanceof Errno) return e;
    throw e;
  }
  return undefined;
}

function ok<T>(r: T | Errno | undefined): T | undefined {
  if (r instanceof Errno) throw r;
  return r;
}

function applyDir(overlay: Overlay, layer: LayerIndex, dir: DirNode, from: LayerDir, files: Map<LayerFile, Node>): void {
  if (from.opaque) {
    const listing = ok(overlay.readdir(dir)) as readonly { name: string }[];
    for (const { name } of [...listing]) removeTree(overlay, dir, name);
  }
  for (const name of from.whiteouts) if (overlay.lookup(dir, name) !== undefined) removeTree(overlay, dir, name);
  for (const [name, child] of from.children) applyNode(overlay, layer, dir, name, child, files);
}

function applyNode(overlay: Overlay, layer: LayerIndex, dir: DirNode, name: string, from: LayerNode, files: Map<LayerFile, Node>): void {
  const existing = overlay.lookup(dir, name);
  if (from.kind === 'dir') {
    let node = existing;
    if (node !== undefined && node.kind !== 'dir') {
      removeTree(overlay, dir, name);
      node = undefined;
    }
    node ??= ok(overlay.mkdirAt(dir, name, from.mode));
    const sub = node as DirNode;
    applyDir(overlay, layer, sub, from, files);
    setMeta(overlay, sub, from);
    return;
  }
  if (existing !== undefined) removeTree(overlay, dir, name);
  if (from.kind === 'symlink') {
    const link = ok(overlay.symlinkAt(from.target, dir, name)) as Node;
    setMeta(overlay, link, from);
    return;
  }
  if (from.kind === 'hardlink') {
    // A link to a file of the lower layers (the changeset does not hold it).
    const target = ok(overlay.resolve(overlay.root, from.target, false)) as Node;
    ok(overlay.linkAt(target, dir, name));
    return;
  }
  const first = files.get(from);
  if (first !== undefined) {
    ok(overlay.linkAt(first, dir, name));
    return;
  }
  const file = ok(overlay.createFile(dir, name, from.mode)) as FileNode;
  if (from.size > 0) ok(overlay.write(file, 0, layer.bytes.subarray(from.offset, from.offset + from.size)));
  setMeta(overlay, file, from);
  files.set(from, file);
}

function setMeta(overlay: Overlay, node: Node, from: { mode: number; uid: number; gid: number; mtime: bigint }): void {
  if (node.kind !== 'symlink') overlay.chmod(node, from.mode);
  overlay.chown(node, from.uid, from.gid);
  overlay.setTimes(node, from.mtime, from.mtime);
}

/** `rm -rf` of `name` in `dir`. */
function removeTree(overlay: Overlay, dir: DirNode, name: string): void {
  const node = overlay.lookup(dir, name);
  if (node === undefined) return;
  if (node instanceof DirNode) {
    const listing = ok(overlay.readdir(node)) as readonly { name: string }[];
    for (const { name: child } of [...listing]) removeTree(overlay, node, child);
    ok(overlay.rmdirAt(dir, name));
  } else ok(overlay.unlinkAt(dir, name));
}
