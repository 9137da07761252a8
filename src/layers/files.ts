/**
 * The file access the layout content store and the image store need, and nothing more:
 * whole-file reads, atomic whole-file writes, appends for streamed ingests, atomic
 * renames, removal and directory listing. It is injected (STYLE §7): `MemoryFiles` here,
 * `NodeFiles` (src/platform/node/files.ts) over a real directory, a browser (OPFS)
 * implementation later.
 *
 * Paths are relative to the implementation's base, `/`-separated, without `.`, `..` or
 * empty components (`checkPath`). Directories are implicit: writing, appending or
 * renaming to a path creates its parent directories, and nothing ever needs a `mkdir`.
 *
 * Contracts every implementation keeps (the content store's correctness rests on them):
 * - `writeFile` is atomic: a reader sees the old content or the new, never a mix, and
 *   after a crash the file holds one of them.
 * - `rename` atomically replaces `to`; once it resolves, `to` holds what was appended or
 *   written to `from`, durably where the platform has durability.
 * - A missing file is an expected outcome, returned as a value (`undefined`, `false`,
 *   `[]`), never thrown. Anything thrown is unexpected (permissions, disk full, I/O).
 */
import { SkiffError } from './errors.js';

export interface Files {
  /** The whole file, or `undefined` if there is no file at `path`. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Atomically creates or replaces the file at `path` (see the contracts above). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Appends `data` to the file at `path`, creating it if missing. Not atomic, not durable. */
  appendFile(path: string, data: Uint8Array): Promise<void>;
  /** Atomically moves a file to `to`, replacing any file there. Throws if `from` is missing. */
  rename(from: string, to: string): Promise<void>;
  /** Removes the file at `path`; `false` if there was none. */
  remove(path: string): Promise<boolean>;
  /** Names (not paths) of the files and directories in the directory `dir`, sorted; `[]` if it does not exist. `''` is the base. */
  list(dir: string): Promise<string[]>;
  /** Size in bytes of the file at `path`, or `undefined` if there is no file there. */
  size(path: string): Promise<number | undefined>;
}

/**
 * Validates a relative path of the `Files` interface and returns its components.
 * Throws a TypeError (a programming error) for absolute paths, `.`/`..`/empty
 * components, backslashes and NUL.
 */
export function checkPath(path: string, allowRoot = false): string[] {
  if (path === '' && allowRoot) return [];
  const parts = path.split('/');
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0')) {
      throw new TypeError(`invalid relative path ${JSON.stringify(path)} (want a/b/c, no ".", ".." or empty parts)`);
    }
  }
  return parts;
}

interface MemoryFile {
  /** Appended chunks, concatenated lazily on read (appends stay O(chunk)). */
  chunks: Uint8Array[];
  size: number;
}

/** `Files` in memory: for tests and for a store that lives as long as the page or process. */
export class MemoryFiles implements Files {
  private readonly files = new Map<string, MemoryFile>();

  async readFile(path: string): Promise<Uint8Array | undefined> {
    checkPath(path);
    const f = this.files.get(path);
    if (f === undefined) return undefined;
    return flatten(f).slice();
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.checkNotDir(path);
    this.files.set(path, { chunks: [data.slice()], size: data.length });
  }

  async appendFile(path: string, data: Uint8Array): Promise<void> {
    this.checkNotDir(path);
    const f = this.files.get(path);
    if (f === undefined) this.files.set(path, { chunks: [data.slice()], size: data.length });
    else {
      f.chunks.push(data.slice());
      f.size += data.length;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    checkPath(from);
    this.checkNotDir(to);
    const f = this.files.get(from);
    if (f === undefined) throw new SkiffError('NOT_FOUND', `rename ${from} → ${to}: no such file`);
    this.files.delete(from);
    this.files.set(to, f);
  }

  async remove(path: string): Promise<boolean> {
    checkPath(path);
    return this.files.delete(path);
  }

  async list(dir: string): Promise<string[]> {
    const prefix = checkPath(dir, true).length === 0 ? '' : `${dir}/`;
    const names = new Set<string>();
    for (const p of this.files.keys()) {
      if (!p.startsWith(prefix)) continue;
      names.add(p.slice(prefix.length).split('/')[0] as string);
    }
    return [...names].sort();
  }

  async size(path: string): Promise<number | undefined> {
    checkPath(path);
    return this.files.get(path)?.size;
  }

  private checkNotDir(path: string): void {
    const parts = checkPath(path);
    const prefix = `${path}/`;
    for (const p of this.files.keys()) {
      if (p.startsWith(prefix)) throw new SkiffError('CONFLICT', `${path} is a directory`);
    }
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.files.has(parent)) throw new SkiffError('CONFLICT', `${parent} is a file, not a directory`);
    }
  }
}

/** The bytes of a file kept as appended chunks, joined once into one chunk (kept for the next read). */
export function flatten(f: { chunks: Uint8Array[]; readonly size: number }): Uint8Array {
  if (f.chunks.length === 1) return f.chunks[0] as Uint8Array;
  const out = new Uint8Array(f.size);
  let off = 0;
  for (const c of f.chunks) {
    out.set(c, off);
    off += c.length;
  }
  f.chunks = [out];
  return out;
}
