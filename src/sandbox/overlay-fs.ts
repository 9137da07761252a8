/**
 * The image's overlay (layers/overlay.ts) as a `MountFs`: the root filesystem of a
 * container. Nodes are the overlay's own nodes, so identity, hard links and open-file
 * semantics are the overlay's.
 */
import { EINVAL, EISDIR, ENOENT, ENOTDIR, Errno } from '../layers/errno.js';
import { DirNode, type Node, type Overlay } from '../layers/overlay.js';
import type { Dirent, MountFs, NodeKind, Stat } from './vfs.js';

export class OverlayFs implements MountFs<Node> {
  readonly readonly: boolean;
  constructor(
    readonly overlay: Overlay,
    options: { readonly?: boolean } = {},
  ) {
    this.readonly = options.readonly ?? false;
  }
  root(): Node {
    return this.overlay.root;
  }
  lookup(dir: Node, name: string): Node | Errno {
    if (!(dir instanceof DirNode)) return ENOTDIR;
    return this.overlay.lookup(dir, name) ?? ENOENT;
  }
  parent(dir: Node): Node | undefined {
    return dir === this.overlay.root ? undefined : (dir.parent ?? this.overlay.root);
  }
  key(node: Node): unknown {
    return node;
  }
  kind(node: Node): NodeKind {
    return node.kind;
  }
  stat(node: Node): Stat {
    return this.overlay.stat(node);
  }
  readlink(node: Node): string | Errno {
    return this.overlay.readlink(node);
  }
  readdir(dir: Node): readonly Dirent[] | Errno {
    return this.overlay.readdir(dir);
  }
  read(file: Node, pos: number, dst: Uint8Array): number | Errno {
    return this.overlay.read(file, pos, dst);
  }
  write(file: Node, pos: number, src: Uint8Array): number | Errno {
    return this.overlay.write(file, pos, src);
  }
  truncate(file: Node, size: number): Errno | undefined {
    return this.overlay.truncate(file, size);
  }
  setTimes(node: Node, atime: bigint | undefined, mtime: bigint | undefined): Errno | undefined {
    this.overlay.setTimes(node, atime, mtime);
    return undefined;
  }
  createFile(dir: Node, name: string, mode: number): Node | Errno {
    return dir instanceof DirNode ? this.overlay.createFile(dir, name, mode) : ENOTDIR;
  }
  mkdir(dir: Node, name: string, mode: number): Node | Errno {
    return dir instanceof DirNode ? this.overlay.mkdirAt(dir, name, mode) : ENOTDIR;
  }
  symlink(target: string, dir: Node, name: string): Node | Errno {
    return dir instanceof DirNode ? this.overlay.symlinkAt(target, dir, name) : ENOTDIR;
  }
  link(node: Node, dir: Node, name: string): Errno | undefined {
    return dir instanceof DirNode ? this.overlay.linkAt(node, dir, name) : ENOTDIR;
  }
  unlink(dir: Node, name: string): Errno | undefined {
    return dir instanceof DirNode ? this.overlay.unlinkAt(dir, name) : ENOTDIR;
  }
  rmdir(dir: Node, name: string): Errno | undefined {
    return dir instanceof DirNode ? this.overlay.rmdirAt(dir, name) : ENOTDIR;
  }
  rename(fromDir: Node, fromName: string, toDir: Node, toName: string): Errno | undefined {
    if (!(fromDir instanceof DirNode) || !(toDir instanceof DirNode)) return ENOTDIR;
    return this.overlay.renameAt(fromDir, fromName, toDir, toName);
  }
  sync(file: Node): Errno | undefined {
    return file.kind === 'dir' ? undefined : file.kind === 'file' ? undefined : EINVAL;
  }
}

/** EISDIR re-exported for adapters that need the same outcome set. */
export const OVERLAY_ERRNOS = { EISDIR } as const;
