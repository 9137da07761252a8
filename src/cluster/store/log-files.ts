/**
 * The file access the store's log needs, and nothing more: one flat directory of files,
 * appended to and synced (the log), written atomically (snapshots), read whole (on open),
 * truncated (a torn tail cut off) and removed (after a snapshot). Injected (STYLE §7):
 * `MemoryLogFiles` here, `NodeLogFiles` (src/platform/node/log-files.ts) over a real
 * directory, OPFS later.
 *
 * Names are plain file names (no `/`). Contracts every implementation keeps — the
 * store's "nothing acknowledged is lost" rests on them:
 * - `AppendFile.sync()` resolves only when every byte appended before it is durable.
 *   Bytes appended but not synced may be lost in a crash, or kept in part (a torn tail).
 * - `openAppend` creates a missing file and makes its directory entry durable before it
 *   resolves, so a synced append to a new file survives a crash.
 * - `writeAtomic` leaves the old content or the new, never a mix, durably once it
 *   resolves; an interrupted one leaves nothing that `list` shows.
 * - `truncate` is durable once it resolves.
 * - A missing file is a value (`undefined`, `false`); anything thrown is unexpected.
 */
import { flatten } from '../../layers/files.js';

export interface LogFiles {
  /** The names of the files, sorted. `[]` if the directory does not exist yet. */
  list(): Promise<string[]>;
  /** The whole file, or `undefined` if there is none. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Creates or replaces `name` atomically and durably. */
  writeAtomic(name: string, data: Uint8Array): Promise<void>;
  /** Opens `name` for appending at its end, creating it if missing (see the contracts). */
  openAppend(name: string): Promise<AppendFile>;
  /** Cuts `name` to `size` bytes, durably. */
  truncate(name: string, size: number): Promise<void>;
  /** Removes `name`; `false` if there was none. */
  remove(name: string): Promise<boolean>;
}

export interface AppendFile {
  /** Appends `data` at the end. Not durable until `sync`. Calls must not overlap. */
  append(data: Uint8Array): Promise<void>;
  /** Makes everything appended so far durable (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Throws a TypeError (a programming error) unless `name` is a plain file name. */
export function checkLogName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new TypeError(`invalid log file name ${JSON.stringify(name)} (want a plain name, no "/")`);
  }
}

interface MemoryFile {
  chunks: Uint8Array[];
  size: number;
  /** Bytes that survive a crash. */
  synced: number;
}

/**
 * `LogFiles` in memory, with crashes: `crash()` returns what a fresh process would find
 * after a power cut now — synced bytes only, plus optionally part of the unsynced tail of
 * each file (a torn write). Counts syncs, for group-commit tests.
 */
export class MemoryLogFiles implements LogFiles {
  private files = new Map<string, MemoryFile>();
  /** Number of `AppendFile.sync()` calls so far. */
  syncs = 0;

  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    checkLogName(name);
    const f = this.files.get(name);
    return f === undefined ? undefined : flatten(f).slice();
  }

  async writeAtomic(name: string, data: Uint8Array): Promise<void> {
    checkLogName(name);
    this.files.set(name, { chunks: [data.slice()], size: data.length, synced: data.length });
  }

  async openAppend(name: string): Promise<AppendFile> {
    checkLogName(name);
    if (!this.files.has(name)) this.files.set(name, { chunks: [], size: 0, synced: 0 });
    let closed = false;
    const file = (): MemoryFile => {
      if (closed) throw new Error(`${name}: append file is closed`);
      const f = this.files.get(name);
      if (f === undefined) throw new Error(`${name}: removed while open`);
      return f;
    };
    return {
      append: async (data) => {
        const f = file();
        f.chunks.push(data.slice());
        f.size += data.length;
      },
      sync: async () => {
        const f = file();
        f.synced = f.size;
        this.syncs++;
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async truncate(name: string, size: number): Promise<void> {
    checkLogName(name);
    const f = this.files.get(name);
    if (f === undefined) throw new Error(`truncate ${name}: no such file`);
    const data = flatten(f).slice(0, size);
    f.chunks = [data];
    f.size = data.length;
    f.synced = Math.min(f.synced, f.size);
  }

  async remove(name: string): Promise<boolean> {
    checkLogName(name);
    return this.files.delete(name);
  }

  /**
   * The files as a crash now would leave them: each file's synced bytes, plus
   * `torn(name, unsynced)` bytes of its unsynced tail (default none).
   */
  crash(torn?: (name: string, unsynced: number) => number): MemoryLogFiles {
    const out = new MemoryLogFiles();
    for (const [name, f] of this.files) {
      const keep = f.synced + Math.max(0, Math.min(f.size - f.synced, torn?.(name, f.size - f.synced) ?? 0));
      const data = flatten(f).slice(0, keep);
      out.files.set(name, { chunks: [data], size: data.length, synced: data.length });
    }
    return out;
  }

  /** Replaces a file's bytes (for corruption tests). */
  poke(name: string, data: Uint8Array): void {
    this.files.set(name, { chunks: [data.slice()], size: data.length, synced: data.length });
  }
}
