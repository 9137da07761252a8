/**
 * `Files` (src/layers/files.ts) over a real directory with node:fs/promises.
 *
 * Durability: `writeFile` writes a temp file beside the target, fsyncs it, renames it over
 * the target and fsyncs the directory; `rename` fsyncs the file before renaming and the
 * target directory after. So a committed blob or a written `index.json` survives a crash
 * whole or not at all. `appendFile` (ingests in progress) is not synced: an ingest is
 * worthless until renamed, and the rename syncs it.
 *
 * Missing files are values (`undefined`, `false`, `[]`), per the interface; other errors
 * (EACCES, ENOSPC, EIO) are thrown as Node reports them.
 */
import { appendFile, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Files, checkPath } from '../../layers/files.js';

export interface NodeFilesOptions {
  /** fsync files and directories where a crash could otherwise lose a commit. Default true. */
  readonly durable?: boolean;
}

let tempCounter = 0;

export class NodeFiles implements Files {
  private readonly durable: boolean;
  private readonly knownDirs = new Set<string>();

  /** `base` is the directory all paths are relative to; it is created on first write. */
  constructor(
    readonly base: string,
    options: NodeFilesOptions = {},
  ) {
    this.durable = options.durable ?? true;
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    try {
      const b = await readFile(this.resolve(path));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const full = this.resolve(path);
    const dir = dirname(full);
    await this.ensureDir(dir);
    const tmp = join(dir, `.${path.split('/').pop() as string}.tmp-${process.pid}-${(tempCounter++).toString(36)}`);
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(data);
        if (this.durable) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, full);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await this.syncDir(dir);
  }

  async appendFile(path: string, data: Uint8Array): Promise<void> {
    const full = this.resolve(path);
    await this.ensureDir(dirname(full));
    await appendFile(full, data);
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.resolve(from);
    const dst = this.resolve(to);
    if (this.durable) {
      const fh = await open(src, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await this.ensureDir(dirname(dst));
    await rename(src, dst);
    await this.syncDir(dirname(dst));
  }

  async remove(path: string): Promise<boolean> {
    try {
      await unlink(this.resolve(path));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  async list(dir: string): Promise<string[]> {
    checkPath(dir, true);
    try {
      return (await readdir(join(this.base, dir))).sort();
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  async size(path: string): Promise<number | undefined> {
    try {
      const s = await stat(this.resolve(path));
      return s.isFile() ? s.size : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  private resolve(path: string): string {
    checkPath(path);
    return join(this.base, path);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  private async syncDir(dir: string): Promise<void> {
    if (!this.durable) return;
    let fh;
    try {
      fh = await open(dir, 'r');
      await fh.sync();
    } catch {
      // Some platforms (Windows) cannot open or fsync a directory; the rename stands.
    } finally {
      await fh?.close();
    }
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
