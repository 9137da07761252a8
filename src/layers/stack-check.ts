/**
 * Validation of an image's layers together, bottom first: the rules that one layer's
 * index (layer-import.ts) cannot check alone because they depend on the layers below.
 *
 * `checkStack(layers)` throws an `InvalidLayerError` naming the offending layer and
 * entry, or returns. It reads the indexes only (never mutates them) and costs one walk
 * of every layer, each step a lookup in the merged view below (lower-stack.ts).
 *
 * Rules, for every layer N:
 * - No entry of N may have a parent path that, in the merged view of layers 0..N-1,
 *   goes through a symlink that N does not replace. An extractor writing `evil/passwd`
 *   onto a lower `evil -> /` writes through the link; the overlay would instead show a
 *   new directory `evil`. The two readings disagree, and the first is the breakout this
 *   rule exists for. N replaces the symlink, and its entries under it are fine, when N
 *   has an entry of its own for the directory (an explicit directory), whites the
 *   symlink's name out, or makes the directory holding it opaque. A directory N creates
 *   only implicitly (as the parent of its entries) does not replace it, even if opaque.
 *   Whiteout markers count as entries (removing `evil/x` through `evil -> /` is as bad).
 * - Every cross-layer hard link of N (`LayerHardlink`) must resolve, through
 *   directories only, to a regular file in the merged view of layers 0..N-1.
 */
import { InvalidLayerError } from './errors.js';
import type { LayerDir, LayerIndex } from './layer-index.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './layer-index.js';
import { lookupChild, resolveHardlink, rootStack, type DirStack, type LowerChild } from './lower-stack.js';

/** Validates `layers` (bottom first) as one image. See the module comment for the rules. */
export function checkStack(layers: readonly LayerIndex[]): void {
  for (let n = 0; n < layers.length; n++) {
    const layer = layers[n] as LayerIndex;
    const below = rootStack(layers, n);
    walk(layers, n, layer.root, layer.root.opaque || below.length === 0 ? undefined : below, '');
  }
}

/**
 * Walks directory `dir` of layer `n` at `path` (no leading slash, '' for the root).
 * `lower` is the merged directory below it, undefined when nothing below shows through.
 */
function walk(layers: readonly LayerIndex[], n: number, dir: LayerDir, lower: DirStack | undefined, path: string): void {
  const layer = layers[n] as LayerIndex;
  const prefix = path === '' ? '' : `${path}/`;
  for (const [name, child] of dir.children) {
    const childPath = prefix + name;
    if (child.kind === 'hardlink') {
      const resolved = resolveHardlink(layers, n, child.target);
      if (resolved.kind !== 'file') {
        throw new InvalidLayerError(layer.name, childPath, `hard link target ${JSON.stringify(child.target)} not found below this layer (or not a regular file)`);
      }
      continue;
    }
    if (child.kind !== 'dir') continue;
    const below: LowerChild | undefined = lower !== undefined && !dir.whiteouts.has(name) ? lookupChild(layers, lower, name) : undefined;
    if (below?.kind === 'symlink' && !child.explicit) {
      const entry = firstEntryUnder(child, childPath);
      throw new InvalidLayerError(
        layer.name,
        entry,
        `a parent of this entry is a symlink in a lower layer (${childPath} -> ${below.node.target} in layer ${layers[below.layer]?.name ?? below.layer}); ` +
          'add a directory entry for it to replace the symlink',
      );
    }
    walk(layers, n, child, below?.kind === 'dir' && !child.opaque ? below.stack : undefined, childPath);
  }
}

/** A path of an entry (node or marker) under an implicit directory, for messages. */
function firstEntryUnder(dir: LayerDir, path: string): string {
  for (const [name, child] of dir.children) {
    if (child.kind === 'dir' && !child.explicit) return firstEntryUnder(child, `${path}/${name}`);
    return `${path}/${name}`;
  }
  for (const name of dir.whiteouts) return `${path}/${WHITEOUT_PREFIX}${name}`;
  if (dir.opaque) return `${path}/${OPAQUE_MARKER}`;
  return path;
}
