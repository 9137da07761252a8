/**
 * The one table between skiff's filesystem outcomes (layers/errno.ts, POSIX names) and
 * WASI preview 1 errno numbers (STYLE §6). Nothing else translates errors.
 */
import { wasi } from '@bjorn3/browser_wasi_shim';
import type { Errno, ErrnoCode } from '../../layers/errno.js';

const TABLE: Readonly<Record<ErrnoCode, number>> = {
  EACCES: wasi.ERRNO_ACCES,
  EAGAIN: wasi.ERRNO_AGAIN,
  ECONNRESET: wasi.ERRNO_CONNRESET,
  EILSEQ: wasi.ERRNO_ILSEQ,
  ENOTCONN: wasi.ERRNO_NOTCONN,
  ENOTSOCK: wasi.ERRNO_NOTSOCK,
  EOVERFLOW: wasi.ERRNO_OVERFLOW,
  EPIPE: wasi.ERRNO_PIPE,
  ESPIPE: wasi.ERRNO_SPIPE,
  EBADF: wasi.ERRNO_BADF,
  EBUSY: wasi.ERRNO_BUSY,
  EEXIST: wasi.ERRNO_EXIST,
  EFBIG: wasi.ERRNO_FBIG,
  EINVAL: wasi.ERRNO_INVAL,
  EIO: wasi.ERRNO_IO,
  EISDIR: wasi.ERRNO_ISDIR,
  ELOOP: wasi.ERRNO_LOOP,
  EMFILE: wasi.ERRNO_MFILE,
  EMLINK: wasi.ERRNO_MLINK,
  ENAMETOOLONG: wasi.ERRNO_NAMETOOLONG,
  ENOENT: wasi.ERRNO_NOENT,
  ENOSPC: wasi.ERRNO_NOSPC,
  ENOTDIR: wasi.ERRNO_NOTDIR,
  ENOTEMPTY: wasi.ERRNO_NOTEMPTY,
  ENOTSUP: wasi.ERRNO_NOTSUP,
  EPERM: wasi.ERRNO_PERM,
  EROFS: wasi.ERRNO_ROFS,
  EXDEV: wasi.ERRNO_XDEV,
};

export function wasiErrno(e: Errno): number {
  return TABLE[e.code];
}

/**
 * WASI preview 1 errno numbers → WASI 0.2 `wasi:filesystem/types.error-code`, as
 * wasmtime's preview 1 adapter maps them the other way. A component's filesystem calls
 * run through skiff's preview 1 layer (preview2-fs.ts), so this is their only translation.
 */
const P2_FILESYSTEM: Readonly<Record<number, string>> = {
  [wasi.ERRNO_ACCES]: 'access',
  [wasi.ERRNO_AGAIN]: 'would-block',
  [wasi.ERRNO_ALREADY]: 'already',
  [wasi.ERRNO_BADF]: 'bad-descriptor',
  [wasi.ERRNO_BUSY]: 'busy',
  [wasi.ERRNO_DEADLK]: 'deadlock',
  [wasi.ERRNO_DQUOT]: 'quota',
  [wasi.ERRNO_EXIST]: 'exist',
  [wasi.ERRNO_FBIG]: 'file-too-large',
  [wasi.ERRNO_ILSEQ]: 'illegal-byte-sequence',
  [wasi.ERRNO_INPROGRESS]: 'in-progress',
  [wasi.ERRNO_INTR]: 'interrupted',
  [wasi.ERRNO_INVAL]: 'invalid',
  [wasi.ERRNO_IO]: 'io',
  [wasi.ERRNO_ISDIR]: 'is-directory',
  [wasi.ERRNO_LOOP]: 'loop',
  [wasi.ERRNO_MLINK]: 'too-many-links',
  [wasi.ERRNO_MSGSIZE]: 'message-size',
  [wasi.ERRNO_NAMETOOLONG]: 'name-too-long',
  [wasi.ERRNO_NODEV]: 'no-device',
  [wasi.ERRNO_NOENT]: 'no-entry',
  [wasi.ERRNO_NOLCK]: 'no-lock',
  [wasi.ERRNO_NOMEM]: 'insufficient-memory',
  // No error-code says "too many open files"; a full descriptor table is out of memory.
  [wasi.ERRNO_MFILE]: 'insufficient-memory',
  [wasi.ERRNO_NFILE]: 'insufficient-memory',
  [wasi.ERRNO_NOSPC]: 'insufficient-space',
  [wasi.ERRNO_NOTDIR]: 'not-directory',
  [wasi.ERRNO_NOTEMPTY]: 'not-empty',
  [wasi.ERRNO_NOTRECOVERABLE]: 'not-recoverable',
  [wasi.ERRNO_NOTSUP]: 'unsupported',
  [wasi.ERRNO_NOSYS]: 'unsupported',
  [wasi.ERRNO_NOTTY]: 'no-tty',
  [wasi.ERRNO_NXIO]: 'no-such-device',
  [wasi.ERRNO_OVERFLOW]: 'overflow',
  [wasi.ERRNO_PERM]: 'not-permitted',
  [wasi.ERRNO_NOTCAPABLE]: 'not-permitted',
  [wasi.ERRNO_PIPE]: 'pipe',
  [wasi.ERRNO_ROFS]: 'read-only',
  [wasi.ERRNO_SPIPE]: 'invalid-seek',
  [wasi.ERRNO_TXTBSY]: 'text-file-busy',
  [wasi.ERRNO_XDEV]: 'cross-device',
};

/** The `wasi:filesystem` error-code of a preview 1 errno (`io` for one with no counterpart). */
export function p2FilesystemError(errno: number): string {
  return P2_FILESYSTEM[errno] ?? 'io';
}
