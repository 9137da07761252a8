/**
 * Test fixtures: real layer tars (packed with modern-tar) indexed the way images are,
 * and a dump of an overlay's merged tree for comparisons. Used by tests only.
 */
import { packTar, type TarEntry } from 'modern-tar';
import { indexLayer } from '../layer-import.js';
import type { LayerIndex } from '../layer-index.js';
import { DirNode, FileNode, type Node, type Overlay } from '../overlay.js';

export type EntrySpec =
  | string
  | Uint8Array
  | { dir: true; mode?: number }
  | { file: string | Uint8Array; mode?: number; uid?: number; gid?: number }
  | { symlink: string }
  | { hardlink: string };

/** A layer made of `entries` in order, packed as a real tar and indexed as images are. */
export async function layerOf(entries: [string, EntrySpec][], name = 'test-layer'): Promise<LayerIndex> {
  const tar = await packTar(
    entries.map(([n, s]): TarEntry => {
      if (typeof s === 'object' && !(s instanceof Uint8Array) && 'file' in s) {
        const body = typeof s.file === 'string' ? new TextEncoder().encode(s.file) : s.file;
        return {
          header: { name: n, type: 'file', size: body.length, mode: s.mode ?? 0o644, uid: s.uid ?? 0, gid: s.gid ?? 0, mtime: new Date(1_700_000_000_000), uname: '', gname: '' },
          body,
        };
      }
      return tarEntry(n, s);
    }),
  );
  return indexLayer(tar, name);
}

function tarEntry(name: string, spec: EntrySpec): TarEntry {
  const base = { mtime: new Date(1_700_000_000_000), uname: '', gname: '' };
  if (typeof spec === 'string' || spec instanceof Uint8Array) {
    const body = typeof spec === 'string' ? new TextEncoder().encode(spec) : spec;
    return { header: { ...base, name, type: 'file', size: body.length, mode: 0o644 }, body };
  }
  if ('dir' in spec) return { header: { ...base, name: name.endsWith('/') ? name : `${name}/`, type: 'directory', size: 0, mode: spec.mode ?? 0o755 } };
  if ('symlink' in spec) return { header: { ...base, name, type: 'symlink', size: 0, linkname: spec.symlink, mode: 0o777 } };
  if ('hardlink' in spec) return { header: { ...base, name, type: 'link', size: 0, linkname: spec.hardlink, mode: 0o644 } };
  throw new Error('unreachable');
}

/**
 * The merged tree as sorted lines `path kind mode content|target #linkgroup`, for
 * comparing two trees. Hard links show as the same group number.
 */
export function dumpTree(overlay: Overlay, options: { modes?: boolean } = {}): string[] {
  const lines: string[] = [];
  const groups = new Map<Node, number>();
  const walk = (dir: DirNode, prefix: string): void => {
    const listing = overlay.readdir(dir);
    if (!Array.isArray(listing)) throw new Error(`readdir ${prefix} failed`);
    for (const { name } of listing) {
      const node = overlay.lookup(dir, name) as Node;
      const path = prefix + name;
      const st = overlay.stat(node);
      const mode = options.modes === false ? '' : ` ${st.mode.toString(8)}`;
      if (node instanceof DirNode) {
        lines.push(`${path}/ dir${mode}`);
        walk(node, `${path}/`);
      } else if (node instanceof FileNode) {
        let g = groups.get(node);
        const first = g === undefined;
        if (g === undefined) groups.set(node, (g = groups.size));
        const text = new TextDecoder().decode(overlay.contentOf(node));
        lines.push(`${path} file${mode} ${JSON.stringify(text)}${first ? '' : ` =${g}`}`);
      } else {
        lines.push(`${path} symlink -> ${node.target}`);
      }
    }
  };
  walk(overlay.root, '/');
  return lines;
}
