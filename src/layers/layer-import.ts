/**
 * Importing one layer tar into a `LayerIndex` (the data model is in layer-index.ts).
 *
 * `indexLayer` reads the tar once (tar.ts), in linear time, and refuses a layer that is
 * malformed or unsafe with an `InvalidLayerError` naming the layer and the entry as the
 * tar spells it; a configured limit gives code LIMIT_EXCEEDED, a valid but unsupported
 * entry (a device, a fifo) code UNSUPPORTED. It is pure: the result references `bytes`
 * and copies no file data. Rules that need the layers below (a path through a lower
 * symlink, a hard link into a lower layer) are checked by stack-check.ts.
 *
 * Bad-input rules, per entry:
 * - Paths are normalised: `./`, `.` components, repeated and trailing `/` are dropped.
 *   `.`, `./` and `/` name the root directory, whose entry sets the root's metadata.
 *   Refused: any other absolute path (GNU tar strips the `/` with a warning; in a layer
 *   it is a sign of a broken or hostile writer), a `..` component, an empty name, a NUL.
 * - Duplicates: the same path twice is refused, except a directory repeated as a
 *   directory (tar appends do this; harmless), which takes the later metadata. A
 *   directory first created as the parent of earlier entries (no entry of its own, as in
 *   `umoci repack` layers) is filled in, not duplicated, by a later directory entry.
 * - A parent that is not a directory in this layer is refused; a parent that is a
 *   symlink in this layer is the classic extraction breakout and is refused too.
 * - Whiteouts: `.wh.<name>` whites out `name` in the parent directory (created
 *   implicitly), `.wh..wh..opq` makes the parent opaque; markers must be regular files
 *   (their size and metadata are ignored: writers differ). Refused: `.wh.`, `.wh..`,
 *   `.wh...`, any other `.wh..wh.*` (AUFS internals, not OCI), the same marker twice.
 * - Hard links: the target is normalised like a name; an absolute, `..` or empty target
 *   is refused, so is a link to itself or to a directory or symlink of this layer. A
 *   target that is an earlier regular file of this layer gives the same `LayerFile`
 *   (`nlink`, `paths`); a target not in this layer gives a `LayerHardlink` to resolve
 *   against the layers below (as extracting onto them would).
 * - Symlinks: absolute targets are fine (resolved inside the container's root); a
 *   relative target that lexically climbs above the root from the link's directory is
 *   refused; so is an empty target.
 * - Character and block devices and fifos are refused (UNSUPPORTED).
 * - Limits (LayerLimits): entries, path depth, path bytes, name bytes. The name limit
 *   applies to the whited-out name of a marker, not to the marker (`.wh.` + a 255-byte
 *   name is a valid marker).
 */
import { InvalidLayerError } from './errors.js';
import {
  defaultLayerLimits,
  implicitDir,
  OPAQUE_MARKER,
  WHITEOUT_PREFIX,
  type LayerDir,
  type LayerFile,
  type LayerHardlink,
  type LayerIndex,
  type LayerLimits,
  type LayerNode,
  type LayerSymlink,
} from './layer-index.js';
import { readTar, type TarEntry } from './tar.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };
type BuildDir = Writable<LayerDir>;

/** Parses and validates the uncompressed layer tar `bytes`. See the module comment. */
export function indexLayer(bytes: Uint8Array, name: string, limits?: Partial<LayerLimits>): LayerIndex {
  const lim: LayerLimits = { ...defaultLayerLimits, ...limits };
  const root = implicitDir() as BuildDir;
  let entryCount = 0;
  let contentSize = 0;
  // Directories by path: an index never replaces a directory, so this cannot go stale.
  const dirs = new Map<string, BuildDir>([['', root]]);

  const fail = (e: TarEntry, reason: string, code?: 'LIMIT_EXCEEDED' | 'UNSUPPORTED'): never => {
    throw new InvalidLayerError(name, e.name, reason, code);
  };

  for (const e of readTar(bytes, name, lim)) {
    if (++entryCount > lim.maxEntries) fail(e, `the layer has more than ${lim.maxEntries} entries`, 'LIMIT_EXCEEDED');
    if (e.type === 'char' || e.type === 'block' || e.type === 'fifo') {
      fail(e, 'device and fifo entries are not supported', 'UNSUPPORTED');
    }
    let path: string;
    let parentPath: string;
    let base: string;
    const slash = plainPathSlash(e.name, lim);
    if (slash >= -1) {
      // The usual case: already normal and within the limits.
      path = e.name;
      parentPath = slash === -1 ? '' : path.slice(0, slash);
      base = slash === -1 ? path : path.slice(slash + 1);
    } else {
      const parts = normalize(e.name, false, (r) => fail(e, r));
      checkLimits(parts, lim, (r) => fail(e, r, 'LIMIT_EXCEEDED'));
      if (parts.length === 0) {
        if (e.type !== 'dir') fail(e, `the root directory is a ${e.type} here`);
        setDirMeta(root, e);
        continue;
      }
      path = parts.join('/');
      base = parts[parts.length - 1] as string;
      parentPath = parts.slice(0, -1).join('/');
    }

    // A whiteout under a file or symlink of this same layer can hide nothing (the file
    // or symlink already hides everything below its path). umoci repack writes these
    // when it replaces a directory by a file or symlink; it is ignored, never applied
    // through the symlink.
    if (base.startsWith(WHITEOUT_PREFIX) && parentPath !== '' && underNonDirectory(root, parentPath)) {
      if (e.type !== 'file') fail(e, `a whiteout marker must be a regular file, not a ${e.type}`);
      continue;
    }

    let parent = dirs.get(parentPath);
    if (parent === undefined) {
      parent = walkParents(root, parentPath, (r) => fail(e, r));
      dirs.set(parentPath, parent);
    }

    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (e.type !== 'file') fail(e, `a whiteout marker must be a regular file, not a ${e.type}`);
      if (base === OPAQUE_MARKER) {
        if (parent.opaque) fail(e, 'duplicate opaque marker');
        parent.opaque = true;
        continue;
      }
      if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) fail(e, `unknown whiteout marker (only ${OPAQUE_MARKER} is defined)`);
      const target = base.slice(WHITEOUT_PREFIX.length);
      if (target === '' || target === '.' || target === '..') fail(e, `invalid whiteout marker (whites out ${JSON.stringify(target)})`);
      if (utf8Length(target) > lim.maxNameBytes) fail(e, `a name is longer than ${lim.maxNameBytes} bytes`, 'LIMIT_EXCEEDED');
      if (parent.whiteouts.has(target)) fail(e, 'duplicate whiteout marker');
      parent.whiteouts.add(target);
      continue;
    }

    const existing = parent.children.get(base);
    if (existing !== undefined) {
      if (e.type === 'dir' && existing.kind === 'dir') {
        setDirMeta(existing as BuildDir, e);
        continue;
      }
      if (existing.kind === 'dir' && !existing.explicit) fail(e, `this ${e.type} is at a path that earlier entries use as a directory`);
      fail(e, 'duplicate entry: this path appears twice in the layer');
    }

    let node: LayerNode;
    switch (e.type) {
      case 'dir': {
        const dir = implicitDir() as BuildDir;
        setDirMeta(dir, e);
        node = dir;
        break;
      }
      case 'file': {
        const file: LayerFile = { kind: 'file', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, xattrs: e.xattrs, offset: e.dataOffset, size: e.size, nlink: 1 };
        contentSize += e.size;
        node = file;
        break;
      }
      case 'symlink': {
        checkSymlinkTarget(e.linkname, (r) => fail(e, r));
        const link: LayerSymlink = { kind: 'symlink', mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, xattrs: e.xattrs, target: e.linkname };
        node = link;
        break;
      }
      case 'hardlink':
        node = hardlink(root, e, path, lim, fail);
        break;
      default:
        return fail(e, `unexpected entry type ${e.type}`);
    }
    parent.children.set(base, node);
  }

  return { name, bytes, root, entryCount, contentSize };
}

function setDirMeta(dir: BuildDir, e: TarEntry): void {
  dir.mode = e.mode;
  dir.uid = e.uid;
  dir.gid = e.gid;
  dir.mtime = e.mtime;
  dir.xattrs = e.xattrs;
  dir.explicit = true;
}

/**
 * Components of a tar path or hard link target. `.`, empty components and a trailing
 * slash drop out; `/` alone (any number of slashes) is the root when `isLink` is false.
 */
function normalize(raw: string, isLink: boolean, fail: (reason: string) => never): string[] {
  const what = isLink ? 'hard link target' : 'name';
  if (raw === '') fail(`empty ${what}`);
  if (raw.includes('\0')) fail(`the ${what} contains a NUL byte`);
  if (raw.charCodeAt(0) === 0x2f /* / */ && (isLink || !/^\/+$/.test(raw))) fail(`absolute ${what} (layer paths are relative to the root)`);
  const parts: string[] = [];
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') fail(`the ${what} has a ".." component`);
    parts.push(c);
  }
  return parts;
}

function checkLimits(parts: readonly string[], lim: LayerLimits, fail: (reason: string) => never): void {
  if (parts.length > lim.maxDepth) fail(`the path is deeper than ${lim.maxDepth} components`);
  let bytes = parts.length > 0 ? parts.length - 1 : 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const n = utf8Length(p);
    // A whiteout marker's own name may be longer than a name: the limit is on what it whites out.
    if (n > lim.maxNameBytes && !(i === parts.length - 1 && p.startsWith(WHITEOUT_PREFIX) && n - WHITEOUT_PREFIX.length <= lim.maxNameBytes)) {
      fail(`a name is longer than ${lim.maxNameBytes} bytes`);
    }
    bytes += n;
  }
  if (bytes > lim.maxPathBytes) fail(`the path is longer than ${lim.maxPathBytes} bytes`);
}

/** UTF-8 byte length of a string (exact; cheap for ASCII). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      i++; // a surrogate pair: 2 units, 4 bytes
      n += 2;
    } else n += 2;
  }
  return n;
}

/**
 * If `raw` is already a normal path within the limits (no leading or trailing or
 * repeated slash, no `.` or `..`, ASCII, short enough), the index of its last slash
 * (-1 if none); else -2, and the caller normalises it the slow way.
 */
function plainPathSlash(raw: string, lim: LayerLimits): number {
  const n = raw.length;
  if (n === 0 || n > lim.maxPathBytes) return -2;
  let depth = 1;
  let start = 0;
  let last = -1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? raw.charCodeAt(i) : 0x2f;
    if (c === 0x2f) {
      const len = i - start;
      if (len === 0 || len > lim.maxNameBytes) return -2;
      if (raw.charCodeAt(start) === 0x2e && (len === 1 || (len === 2 && raw.charCodeAt(start + 1) === 0x2e))) return -2;
      if (i < n) {
        depth++;
        last = i;
      }
      start = i + 1;
    } else if (c === 0 || c >= 0x80) return -2;
  }
  return depth > lim.maxDepth ? -2 : last;
}

/** True when a component of `dirPath` is already a non-directory in this layer. */
function underNonDirectory(root: BuildDir, dirPath: string): boolean {
  let dir: LayerNode = root;
  for (const c of dirPath.split('/')) {
    const child: LayerNode | undefined = (dir as BuildDir).children.get(c);
    if (child === undefined) return false;
    if (child.kind !== 'dir') return true;
    dir = child;
  }
  return false;
}

/** The directory at the normal path `dirPath`, creating implicit directories; refuses a non-directory on the way. */
function walkParents(root: BuildDir, dirPath: string, fail: (reason: string) => never): BuildDir {
  if (dirPath === '') return root;
  const parts = dirPath.split('/');
  let dir = root;
  for (let i = 0; i < parts.length; i++) {
    const c = parts[i] as string;
    const child = dir.children.get(c);
    if (child === undefined) {
      const made = implicitDir();
      dir.children.set(c, made);
      dir = made as BuildDir;
    } else if (child.kind === 'dir') {
      dir = child as BuildDir;
    } else {
      const at = JSON.stringify(parts.slice(0, i + 1).join('/'));
      fail(
        child.kind === 'symlink'
          ? `a parent of this entry, ${at}, is a symlink in this layer (writing through it could escape the root)`
          : `a parent of this entry, ${at}, is not a directory in this layer`,
      );
    }
  }
  return dir;
}

/**
 * A symlink's target is data: skiff resolves every symlink inside the container's root
 * (`..` at the root stays there), so a target that climbs "above" the root lands on the
 * root, as under chroot. Such targets are accepted, as Docker and containerd accept
 * them; refusing them would make a container that ran `ln -s ../x y` impossible to
 * commit. What is refused is writing *through* a symlink (see the parent checks).
 */
function checkSymlinkTarget(target: string, fail: (reason: string) => never): void {
  if (target === '') fail('empty symlink target');
  if (target.includes('\0')) fail('the symlink target contains a NUL byte');
}

function hardlink(
  root: BuildDir,
  e: TarEntry,
  path: string,
  lim: LayerLimits,
  fail: (e: TarEntry, reason: string, code?: 'LIMIT_EXCEEDED') => never,
): LayerFile | LayerHardlink {
  const parts = normalize(e.linkname, true, (r) => fail(e, r));
  if (parts.length === 0) fail(e, 'a hard link to the root directory');
  checkLimits(parts, lim, (r) => fail(e, `hard link target: ${r}`, 'LIMIT_EXCEEDED'));
  const target = parts.join('/');
  if (target === path) fail(e, 'a hard link to itself');
  let dir: LayerDir = root;
  for (let i = 0; i < parts.length; i++) {
    const c = parts[i] as string;
    if (c.startsWith(WHITEOUT_PREFIX)) fail(e, `hard link target ${JSON.stringify(target)} is a whiteout marker`);
    const child = dir.children.get(c);
    if (child === undefined) return { kind: 'hardlink', target }; // resolved against lower layers
    if (i < parts.length - 1) {
      if (child.kind !== 'dir') fail(e, `hard link target ${JSON.stringify(target)} goes through a ${child.kind} in this layer`);
      dir = child;
      continue;
    }
    if (child.kind === 'file') {
      child.nlink++;
      (child.paths ??= [target]).push(path);
      return child;
    }
    if (child.kind === 'hardlink') return { kind: 'hardlink', target: child.target };
    fail(e, `hard link target ${JSON.stringify(target)} is a ${child.kind === 'dir' ? 'directory' : 'symlink'}`);
  }
  return fail(e, 'unreachable');
}
