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
