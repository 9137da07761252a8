/**
 * A changeset as `docker diff` lists it: each path the changeset adds (`A`), changes
 * (`C`, including every directory whose entries changed) or deletes (`D`), relative to
 * the lower layers it applies to, sorted by path. A deleted or replaced directory is
 * listed once, not with its children; an added directory is listed with everything in it.
 */
import { indexLayer } from './layer-import.js';
import type { LayerDir, LayerIndex } from './layer-index.js';
import { listChildren, lookupChild, rootStack, type DirStack } from './lower-stack.js';

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  readonly kind: ChangeKind;
  /** Absolute path in the container, e.g. `/etc/motd`. */
  readonly path: string;
}

/** The changes `changeset` (an OCI layer tar) makes to `lowers` (bottom first). */
export function listChanges(lowers: readonly LayerIndex[], changeset: Uint8Array): Change[] {
  const layer = indexLayer(changeset, 'changeset');
  const out: Change[] = [];
  walk(lowers, rootStack(lowers), layer.root, '', false, out);
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/**
 * `below`: the lower directory stack at this path (undefined: none). `replaced`: an
 * ancestor is opaque, so nothing of the lowers shows under it.
 */
function walk(lowers: readonly LayerIndex[], below: DirStack | undefined, dir: LayerDir, prefix: string, replaced: boolean, out: Change[]): void {
  const hides = replaced || dir.opaque;
  const lowerNames = below === undefined || below.length === 0 ? new Set<string>() : listChildren(below);
  for (const name of lowerNames) {
    if (dir.children.has(name)) continue;
    if (hides || dir.whiteouts.has(name)) out.push({ kind: 'D', path: `${prefix}/${name}` });
  }
  for (const [name, child] of dir.children) {
    const path = `${prefix}/${name}`;
    const lower = below === undefined ? { kind: 'none' as const } : lookupChild(lowers, below, name);
    const existed = lower.kind !== 'none' && lower.kind !== 'broken';
    out.push({ kind: existed ? 'C' : 'A', path });
    if (child.kind === 'dir') walk(lowers, lower.kind === 'dir' ? lower.stack : undefined, child, path, hides || dir.whiteouts.has(name), out);
  }
}
