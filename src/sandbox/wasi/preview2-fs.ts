/**
 * `wasi:filesystem` (WASI 0.2) for components, built on skiff's preview 1 layer: every
 * descriptor is a preview 1 descriptor of a `Preview1` instance that shares the
 * container's namespace (root, volumes, preopens), and every call is the preview 1 call
 * that wasmtime's preview 1 adapter would make the other way round (`open-at` is
 * `path_open`, `read-via-stream` reads with `fd_pread`, …). So a component sees exactly
 * the files, sandbox rules (`..` at a preopen, symlinks confined), errors and limits
 * (EMFILE) a module sees; errors are translated by wasi/errno.ts `p2FilesystemError`.
 *
 * The preview 1 calls take their arguments in a scratch memory of their own; nothing
 * here touches the component's memory (jco copies lists and strings across).
 *
 * Not blocking: files never block in skiff; every call returns at once.
 */
import { wasi as W } from '@bjorn3/browser_wasi_shim';
import { p2FilesystemError } from './errno.js';
import type { Preview1 } from './preview1.js';
import type { ByteSink as FileSink, ByteSource as FileSource } from './preview2.js';

type Fn = (...args: (number | bigint)[]) => number;
type DescriptorType = 'unknown' | 'block-device' | 'character-device' | 'directory' | 'fifo' | 'symbolic-link' | 'regular-file' | 'socket';
interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}
interface DescriptorFlags {
  read?: boolean;
  write?: boolean;
  fileIntegritySync?: boolean;
  dataIntegritySync?: boolean;
  requestedWriteSync?: boolean;
  mutateDirectory?: boolean;
}
interface PathFlags {
  symlinkFollow?: boolean;
}
interface OpenFlags {
  create?: boolean;
  directory?: boolean;
  exclusive?: boolean;
  truncate?: boolean;
}
type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };

const DATA = 256;
const MAX_IO = 64 * 1024;
/** The longest path preview 1 takes (vfs.ts MAX_PATH_BYTES). */
const MAX_PATH = 4096;
const TYPES: readonly DescriptorType[] = ['unknown', 'block-device', 'character-device', 'directory', 'regular-file', 'socket', 'socket', 'symbolic-link'];
const ADVICE = ['normal', 'sequential', 'random', 'will-need', 'dont-need', 'no-reuse'];
/** Rights a descriptor is opened with: everything but what its flags withhold (skiff's preview 1 checks read and write). */
const READ_RIGHTS = BigInt(W.RIGHTS_FD_READ | W.RIGHTS_FD_READDIR);
const WRITE_RIGHTS = BigInt(W.RIGHTS_FD_WRITE);
const OTHER_RIGHTS = ((1n << 30n) - 1n) & ~(READ_RIGHTS | WRITE_RIGHTS);
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('dispose');

/** Preview 1 calls with arguments in a scratch memory. */
class Calls {
  private readonly memory = new WebAssembly.Memory({ initial: 2 });
  private readonly fns: Record<string, Fn>;
  private at = DATA;

  constructor(p1: Preview1) {
    p1.bind(this.memory);
    this.fns = p1.imports.wasi_snapshot_preview1 as unknown as Record<string, Fn>;
  }

  /** Starts a call: the scratch space is free again. */
  begin(): this {
    this.at = DATA;
    return this;
  }
  alloc(n: number): number {
    const ptr = (this.at + 7) & ~7;
    this.at = ptr + n;
    const need = this.at - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
    return ptr;
  }
  /** A path argument; longer than any path preview 1 accepts is name-too-long before it takes scratch space. */
  str(s: string): [number, number] {
    if (s.length > MAX_PATH) throw 'name-too-long';
    const bytes = utf8.encode(s);
    if (bytes.length > MAX_PATH) throw 'name-too-long';
    const ptr = this.alloc(bytes.length);
    this.bytes(ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }
  bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, len);
  }
  u8(ptr: number): number {
    return new DataView(this.memory.buffer).getUint8(ptr);
  }
  u32(ptr: number): number {
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }
  setU32(ptr: number, v: number): void {
    new DataView(this.memory.buffer).setUint32(ptr, v, true);
  }
  u64(ptr: number): bigint {
    return new DataView(this.memory.buffer).getBigUint64(ptr, true);
  }
  /** Calls `name`; throws the error-code unless it succeeded. */
  call(name: string, ...args: (number | bigint)[]): void {
    const errno = (this.fns[name] as Fn)(...args);
    if (errno !== 0) throw p2FilesystemError(errno);
  }
  /** An iovec of `len` bytes: [iovec pointer, buffer pointer]. */
  iovec(len: number): [number, number] {
    const buf = this.alloc(len);
    const iov = this.alloc(8);
    this.setU32(iov, buf);
    this.setU32(iov + 4, len);
    return [iov, buf];
  }
}

const datetime = (ns: bigint): Datetime => ({ seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) });

/**
 * The `wasi:filesystem/types` and `wasi:filesystem/preopens` imports over `p1` (whose
 * preopens are the component's), with streams made by `input` and `output`
 * (preview2.ts's stream classes).
 */
export function filesystem(p1: Preview1, input: (src: FileSource) => unknown, output: (sink: FileSink) => unknown): Record<string, unknown> {
  const c = new Calls(p1);

  const statOf = (ptr: number): { type: DescriptorType; linkCount: bigint; size: bigint; dataAccessTimestamp: Datetime; dataModificationTimestamp: Datetime; statusChangeTimestamp: Datetime } => ({
    type: TYPES[c.u8(ptr + 16)] ?? 'unknown',
    linkCount: c.u64(ptr + 24),
    size: c.u64(ptr + 32),
    dataAccessTimestamp: datetime(c.u64(ptr + 40)),
    dataModificationTimestamp: datetime(c.u64(ptr + 48)),
    statusChangeTimestamp: datetime(c.u64(ptr + 56)),
  });
  const times = (atime: NewTimestamp, mtime: NewTimestamp): [bigint, bigint, number] => {
    let flags = 0;
    const ns = (t: NewTimestamp, set: number, now: number): bigint => {
      if (t.tag === 'now') flags |= now;
      if (t.tag !== 'timestamp') return 0n;
      flags |= set;
      return t.val.seconds * 1_000_000_000n + BigInt(t.val.nanoseconds);
    };
    return [ns(atime, W.FSTFLAGS_ATIM, W.FSTFLAGS_ATIM_NOW), ns(mtime, W.FSTFLAGS_MTIM, W.FSTFLAGS_MTIM_NOW), flags];
  };
  const follow = (f: PathFlags | undefined): number => (f?.symlinkFollow === true ? 1 : 0);

  class DirectoryEntryStream {
    constructor(private readonly entries: { type: DescriptorType; name: string }[]) {}
    readDirectoryEntry(): { type: DescriptorType; name: string } | undefined {
      return this.entries.shift();
    }
    [DISPOSE](): void {}
  }

  class Descriptor {
    private closed = false;
    constructor(
      readonly fd: number,
      private readonly flags: DescriptorFlags,
      /** A preopen: `get-directories` hands out a new handle to it each call, and dropping one closes nothing. */
      private readonly preopen = false,
    ) {}

    private source(offset: bigint): FileSource {
      let pos = offset;
      return {
        read: (max) => {
          c.begin();
          const [iov, buf] = c.iovec(Math.min(max, MAX_IO));
          const n = c.alloc(4);
          try {
            c.call('fd_pread', this.fd, iov, 1, pos, n);
          } catch {
            return 'eof';
          }
          const got = c.u32(n);
          if (got === 0) return 'eof';
          pos += BigInt(got);
          return c.bytes(buf, got).slice();
        },
        ready: () => true,
      };
    }
    private sink(at: () => bigint, advance: (n: number) => void): FileSink {
      return {
        write: (bytes) => {
          // The position first: finding it may be a call of its own (append: a stat).
          const pos = at();
          c.begin();
          const [iov, buf] = c.iovec(bytes.length);
          c.bytes(buf, bytes.length).set(bytes);
          const n = c.alloc(4);
          try {
            c.call('fd_pwrite', this.fd, iov, 1, pos, n);
          } catch {
            return 'closed';
          }
          advance(c.u32(n));
          return c.u32(n);
        },
        space: () => (this.closed ? -1 : MAX_IO),
      };
    }

    readViaStream(offset: bigint): unknown {
      return input(this.source(offset));
    }
    writeViaStream(offset: bigint): unknown {
      if (this.flags.write !== true) throw 'bad-descriptor';
      let pos = offset;
      return output(this.sink(() => pos, (n) => (pos += BigInt(n))));
    }
    appendViaStream(): unknown {
      if (this.flags.write !== true) throw 'bad-descriptor';
      // The end as of each write: the guest's thread is the file's only writer while it runs.
      return output(this.sink(() => this.stat().size, () => {}));
    }
    advise(offset: bigint, length: bigint, advice: string): void {
      c.begin().call('fd_advise', this.fd, offset, length, Math.max(0, ADVICE.indexOf(advice)));
    }
    syncData(): void {
      c.begin().call('fd_datasync', this.fd);
    }
    sync(): void {
      c.begin().call('fd_sync', this.fd);
    }
    getFlags(): DescriptorFlags {
      return { ...this.flags };
    }
    getType(): DescriptorType {
      return this.stat().type;
    }
    setSize(size: bigint): void {
      c.begin().call('fd_filestat_set_size', this.fd, size);
    }
    setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
      const [a, m, f] = times(atime, mtime);
      c.begin().call('fd_filestat_set_times', this.fd, a, m, f);
    }
    read(length: bigint, offset: bigint): [Uint8Array, boolean] {
      const want = Number(length > BigInt(MAX_IO) ? BigInt(MAX_IO) : length);
      c.begin();
      const [iov, buf] = c.iovec(want);
      const n = c.alloc(4);
      c.call('fd_pread', this.fd, iov, 1, offset, n);
      const got = c.u32(n);
      return [c.bytes(buf, got).slice(), got < want || want === 0];
    }
    /** Writes at most MAX_IO bytes of `buffer` (a partial write, as the spec allows): the scratch memory stays small. */
    write(buffer: Uint8Array, offset: bigint): bigint {
      const chunk = buffer.subarray(0, MAX_IO);
      c.begin();
      const [iov, buf] = c.iovec(chunk.length);
      c.bytes(buf, chunk.length).set(chunk);
      const n = c.alloc(4);
      c.call('fd_pwrite', this.fd, iov, 1, offset, n);
      return BigInt(c.u32(n));
    }
    readDirectory(): DirectoryEntryStream {
      const entries: { type: DescriptorType; name: string }[] = [];
      let cookie = 0n;
      for (;;) {
        c.begin();
        const size = 64 * 1024;
        const buf = c.alloc(size);
        const used = c.alloc(4);
        c.call('fd_readdir', this.fd, buf, size, cookie, used);
        const n = c.u32(used);
        let at = 0;
        let progressed = false;
        // dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8, then the name.
        while (at + 24 <= n) {
          const namlen = c.u32(buf + at + 16);
          if (at + 24 + namlen > n) break;
          const name = fromUtf8.decode(c.bytes(buf + at + 24, namlen));
          cookie = c.u64(buf + at);
          if (name !== '.' && name !== '..') entries.push({ type: TYPES[c.u8(buf + at + 20)] ?? 'unknown', name });
          at += 24 + namlen;
          progressed = true;
        }
        if (n < size || !progressed) break;
      }
      return new DirectoryEntryStream(entries);
    }
    createDirectoryAt(path: string): void {
      c.begin().call('path_create_directory', this.fd, ...c.str(path));
    }
    stat(): ReturnType<typeof statOf> {
      c.begin();
      const out = c.alloc(64);
      c.call('fd_filestat_get', this.fd, out);
      return statOf(out);
    }
    statAt(pathFlags: PathFlags, path: string): ReturnType<typeof statOf> {
      c.begin();
      const [p, l] = c.str(path);
      const out = c.alloc(64);
      c.call('path_filestat_get', this.fd, follow(pathFlags), p, l, out);
      return statOf(out);
    }
    setTimesAt(pathFlags: PathFlags, path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
      const [a, m, f] = times(atime, mtime);
      c.begin();
      const [p, l] = c.str(path);
      c.call('path_filestat_set_times', this.fd, follow(pathFlags), p, l, a, m, f);
    }
    linkAt(oldPathFlags: PathFlags, oldPath: string, newDescriptor: Descriptor, newPath: string): void {
      c.begin();
      const [op, ol] = c.str(oldPath);
      const [np, nl] = c.str(newPath);
      c.call('path_link', this.fd, follow(oldPathFlags), op, ol, newDescriptor.fd, np, nl);
    }
    openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
      // A descriptor opened for reading only cannot give write access (wasmtime's rule).
      if ((flags.write === true || flags.mutateDirectory === true) && this.flags.mutateDirectory !== true) throw 'read-only';
      const oflags = (openFlags.create === true ? W.OFLAGS_CREAT : 0) | (openFlags.directory === true ? W.OFLAGS_DIRECTORY : 0) | (openFlags.exclusive === true ? W.OFLAGS_EXCL : 0) | (openFlags.truncate === true ? W.OFLAGS_TRUNC : 0);
      const rights = OTHER_RIGHTS | (flags.read === true ? READ_RIGHTS : 0n) | (flags.write === true ? WRITE_RIGHTS : 0n);
      c.begin();
      const [p, l] = c.str(path);
      const out = c.alloc(4);
      c.call('path_open', this.fd, follow(pathFlags), p, l, oflags, rights, rights, 0, out);
      return new Descriptor(c.u32(out), { ...flags });
    }
    readlinkAt(path: string): string {
      c.begin();
      const [p, l] = c.str(path);
      const buf = c.alloc(4096);
      const used = c.alloc(4);
      c.call('path_readlink', this.fd, p, l, buf, 4096, used);
      return fromUtf8.decode(c.bytes(buf, c.u32(used)));
    }
    removeDirectoryAt(path: string): void {
      c.begin().call('path_remove_directory', this.fd, ...c.str(path));
    }
    renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
      c.begin();
      const [op, ol] = c.str(oldPath);
      const [np, nl] = c.str(newPath);
      c.call('path_rename', this.fd, op, ol, newDescriptor.fd, np, nl);
    }
    symlinkAt(oldPath: string, newPath: string): void {
      c.begin();
      const [op, ol] = c.str(oldPath);
      const [np, nl] = c.str(newPath);
      c.call('path_symlink', op, ol, this.fd, np, nl);
    }
    unlinkFileAt(path: string): void {
      c.begin().call('path_unlink_file', this.fd, ...c.str(path));
    }
    isSameObject(other: Descriptor): boolean {
      const a = this.identity();
      const b = other.identity();
      return a.dev === b.dev && a.ino === b.ino;
    }
    metadataHash(): { lower: bigint; upper: bigint } {
      const id = this.identity();
      return { lower: id.ino, upper: id.dev };
    }
    metadataHashAt(pathFlags: PathFlags, path: string): { lower: bigint; upper: bigint } {
      c.begin();
      const [p, l] = c.str(path);
      const out = c.alloc(64);
      c.call('path_filestat_get', this.fd, follow(pathFlags), p, l, out);
      return { lower: c.u64(out + 8), upper: c.u64(out) };
    }
    private identity(): { dev: bigint; ino: bigint } {
      c.begin();
      const out = c.alloc(64);
      c.call('fd_filestat_get', this.fd, out);
      return { dev: c.u64(out), ino: c.u64(out + 8) };
    }
    [DISPOSE](): void {
      if (this.closed || this.preopen) return;
      this.closed = true;
      try {
        c.begin().call('fd_close', this.fd);
      } catch {
        /* already closed */
      }
    }
  }

  /** The preopens (fd 3 onward until the first that is none), as wasmtime gives them: read, write and mutate-directory. */
  const getDirectories = (): [Descriptor, string][] => {
    const out: [Descriptor, string][] = [];
    for (let fd = 3; ; fd++) {
      c.begin();
      const prestat = c.alloc(8);
      try {
        c.call('fd_prestat_get', fd, prestat);
      } catch {
        break;
      }
      const len = c.u32(prestat + 4);
      const name = c.alloc(len);
      c.call('fd_prestat_dir_name', fd, name, len);
      out.push([new Descriptor(fd, { read: true, write: true, mutateDirectory: true }, true), fromUtf8.decode(c.bytes(name, len))]);
    }
    return out;
  };

  return {
    'wasi:filesystem/preopens': { getDirectories },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
  };
}
