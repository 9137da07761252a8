/**
 * `LogFiles` (src/cluster/store/log-files.ts) over a real directory with node:fs/promises:
 * the API store's log and snapshots in the daemon.
 *
 * Durability, per the interface's contracts:
 * - `AppendFile.sync()` is fdatasync(2) on the log's file descriptor (the file's size
 *   is metadata fdatasync covers, so appended bytes are durable after it).
 * - `openAppend` of a new file creates it exclusively and fsyncs the directory, so the
 *   file itself survives a crash; an existing file is opened in append mode.
 * - `writeAtomic` writes a temp file (`.tmp-…`, hidden from `list`), fsyncs it, renames
 *   it over the target and fsyncs the directory. Stale temp files from a crash are
 *   removed by the next `list`.
 * - `truncate` ftruncates and fsyncs.
 * The directory is created on first use. Missing files are values; other errors
 * (EACCES, ENOSPC, EIO) are thrown as Node reports them.
 */
import { mkdir, open, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type AppendFile, type LogFiles, checkLogName } from '../../cluster/store/log-files.js';

const TMP = '.tmp-';
let tempCounter = 0;

export class NodeLogFiles implements LogFiles {
  private made = false;

  /** `dir` is the log's directory; it is created on first use. */
  constructor(readonly dir: string) {}

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
    const out: string[] = [];
    for (const n of names) {
      if (n.startsWith(TMP)) await unlink(join(this.dir, n)).catch(() => undefined);
      else out.push(n);
    }
    return out.sort();
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    checkLogName(name);
    try {
      const b = await readFile(join(this.dir, name));
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async writeAtomic(name: string, data: Uint8Array): Promise<void> {
    checkLogName(name);
    await this.ensureDir();
    const tmp = join(this.dir, `${TMP}${name}-${process.pid}-${(tempCounter++).toString(36)}`);
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, name));
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await this.syncDir();
  }

  async openAppend(name: string): Promise<AppendFile> {
    checkLogName(name);
    await this.ensureDir();
    const path = join(this.dir, name);
    let fh: FileHandle;
    try {
      fh = await open(path, 'ax', 0o600);
      await this.syncDir();
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EEXIST') throw e;
      fh = await open(path, 'a', 0o600);
    }
    return new NodeAppendFile(fh);
  }

  async truncate(name: string, size: number): Promise<void> {
    checkLogName(name);
    const fh = await open(join(this.dir, name), 'r+');
    try {
      await fh.truncate(size);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async remove(name: string): Promise<boolean> {
    checkLogName(name);
    try {
      await unlink(join(this.dir, name));
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
    await this.syncDir();
    return true;
  }

  private async ensureDir(): Promise<void> {
    if (this.made) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.made = true;
  }

  private async syncDir(): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.dir, 'r');
      await fh.sync();
    } catch {
      // Some platforms (Windows) cannot open or fsync a directory; the rename stands.
    } finally {
      await fh?.close();
    }
  }
}

class NodeAppendFile implements AppendFile {
  constructor(private readonly fh: FileHandle) {}

  async append(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.fh.write(data, off, data.length - off);
      off += bytesWritten;
    }
  }

  sync(): Promise<void> {
    return this.fh.datasync();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
