/**
 * Lazy merging of a stack of read-only layers, with the OCI changeset rules:
 *
 * - A name present in a higher layer hides the same name below, unless both are
 *   directories, in which case their children merge.
 * - A non-directory below a directory is hidden; a directory below a non-directory too.
 * - A whiteout `.wh.<name>` hides the name in every layer below (the same layer's own
 *   entry of that name, if any, still shows: spec "Whiteouts").
 * - An opaque directory (`.wh..wh..opq`) hides every lower directory at its path.
 *
 * Nothing here flattens the layers: a merged directory is a `DirStack`, the list of
 * layer directories that contribute to it, top first, and each lookup costs
 * O(layers in that stack). This is the contract the overlay and the stack checker share.
 */
import type { LayerDir, LayerFile, LayerIndex, LayerNode, LayerSymlink } from './layer-index.js';

export interface StackDir {
  /** Position of the layer in the image, 0 = bottom. */
  readonly layer: number;
  readonly dir: LayerDir;
}

/** The directories of one merged directory, top layer first. Never empty for an existing dir. */
export type DirStack = readonly StackDir[];

export type LowerChild =
  | { readonly kind: 'none' }
  | { readonly kind: 'dir'; readonly stack: DirStack }
  | { readonly kind: 'file'; readonly node: LayerFile; readonly layer: number }
  | { readonly kind: 'symlink'; readonly node: LayerSymlink; readonly layer: number }
  /** A cross-layer hard link whose target does not resolve to a regular file below it. */
  | { readonly kind: 'broken'; readonly layer: number; readonly target: string };

const NONE: LowerChild = { kind: 'none' };

/** The root directory stack of `layers` (bottom first), or those below `belowLayer`. */
export function rootStack(layers: readonly LayerIndex[], belowLayer = layers.length): DirStack {
  const stack: StackDir[] = [];
  for (let i = Math.min(belowLayer, layers.length) - 1; i >= 0; i--) {
    const root = (layers[i] as LayerIndex).root;
    stack.push({ layer: i, dir: root });
    if (root.opaque) break;
  }
  return stack;
}

/** The directory whose metadata the merged directory shows: the top explicit one. */
export function stackMeta(stack: DirStack): LayerDir {
  for (const s of stack) if (s.dir.explicit) return s.dir;
  return (stack[0] as StackDir).dir;
}

/**
 * Looks `name` up in the merged directory `stack`. `layers` is needed only to resolve
 * hard links that point into lower layers. Pure: never mutates the layers.
 */
export function lookupChild(layers: readonly LayerIndex[], stack: DirStack, name: string): LowerChild {
  let dirs: StackDir[] | undefined;
  for (const { layer, dir } of stack) {
    const e: LayerNode | undefined = dir.children.get(name);
    if (e !== undefined) {
      if (e.kind === 'dir') {
        (dirs ??= []).push({ layer, dir: e });
        if (e.opaque || dir.whiteouts.has(name)) break;
        continue;
      }
      if (dirs !== undefined) break;
      if (e.kind === 'hardlink') return resolveHardlink(layers, layer, e.target);
      return e.kind === 'file' ? { kind: 'file', node: e, layer } : { kind: 'symlink', node: e, layer };
    }
    if (dir.whiteouts.has(name)) break;
  }
  return dirs === undefined ? NONE : { kind: 'dir', stack: dirs };
}

/** Names visible in the merged directory `stack`, in no particular order. */
export function listChildren(stack: DirStack): Set<string> {
  const names = new Set<string>();
  const hidden = new Set<string>();
  for (const { dir } of stack) {
    for (const name of dir.children.keys()) if (!hidden.has(name)) names.add(name);
    for (const name of dir.whiteouts) hidden.add(name);
    // A name seen in a higher layer hides whatever lower layers have under it; `names`
    // already holds it, so lower entries of the same name add nothing.
  }
  return names;
}

/**
 * Resolves a hard link of layer `layer` to `target` (a normalised path without leading
 * slash) in the layers below it. Parent components must be directories: a hard link
 * is a literal path and never goes through a symlink.
 */
export function resolveHardlink(layers: readonly LayerIndex[], layer: number, target: string): LowerChild {
  const parts = target.split('/');
  let stack = rootStack(layers, layer);
  for (let i = 0; i < parts.length; i++) {
    const child = lookupChild(layers, stack, parts[i] as string);
    if (i === parts.length - 1) {
      if (child.kind === 'file') return child;
      break;
    }
    if (child.kind !== 'dir') break;
    stack = child.stack;
  }
  return { kind: 'broken', layer, target };
}
