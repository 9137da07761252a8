/**
 * The closed set of filesystem outcomes the overlay (and volumes) return instead of
 * throwing (STYLE §5). They carry POSIX names; the WASI layer translates them to WASI
 * errno numbers in exactly one table (STYLE §6).
 *
 * An `Errno` is a singleton per code, so `result === ENOENT` and `result instanceof Errno`
 * both work, and a function returning `T | Errno` never allocates for its failure.
 */
export type ErrnoCode =
  | 'EACCES'
  | 'EAGAIN'
  | 'EBADF'
  | 'EBUSY'
  | 'EEXIST'
  | 'EFBIG'
  | 'EINVAL'
  | 'EIO'
  | 'EISDIR'
  | 'ELOOP'
  | 'EMFILE'
  | 'EMLINK'
  | 'ENAMETOOLONG'
  | 'ENOENT'
  | 'ENOSPC'
  | 'ENOTDIR'
  | 'ENOTEMPTY'
  | 'ENOTSUP'
  | 'EPERM'
  | 'EROFS'
  | 'EXDEV'
  // Streams and sockets.
  | 'ECONNRESET'
  | 'EILSEQ'
  | 'ENOTCONN'
  | 'ENOTSOCK'
  | 'EOVERFLOW'
  | 'EPIPE'
  | 'ESPIPE';

export class Errno {
  private constructor(readonly code: ErrnoCode) {}
  toString(): string {
    return this.code;
  }
  private static readonly all = new Map<ErrnoCode, Errno>();
  static of(code: ErrnoCode): Errno {
    let e = Errno.all.get(code);
    if (e === undefined) Errno.all.set(code, (e = new Errno(code)));
    return e;
  }
}

export const EACCES = Errno.of('EACCES');
export const EAGAIN = Errno.of('EAGAIN');
export const ECONNRESET = Errno.of('ECONNRESET');
export const EILSEQ = Errno.of('EILSEQ');
export const ENOTCONN = Errno.of('ENOTCONN');
export const ENOTSOCK = Errno.of('ENOTSOCK');
export const EOVERFLOW = Errno.of('EOVERFLOW');
export const EPIPE = Errno.of('EPIPE');
export const ESPIPE = Errno.of('ESPIPE');
export const EBADF = Errno.of('EBADF');
export const EBUSY = Errno.of('EBUSY');
export const EEXIST = Errno.of('EEXIST');
export const EFBIG = Errno.of('EFBIG');
export const EINVAL = Errno.of('EINVAL');
export const EIO = Errno.of('EIO');
export const EISDIR = Errno.of('EISDIR');
export const ELOOP = Errno.of('ELOOP');
export const EMFILE = Errno.of('EMFILE');
export const EMLINK = Errno.of('EMLINK');
export const ENAMETOOLONG = Errno.of('ENAMETOOLONG');
export const ENOENT = Errno.of('ENOENT');
export const ENOSPC = Errno.of('ENOSPC');
export const ENOTDIR = Errno.of('ENOTDIR');
export const ENOTEMPTY = Errno.of('ENOTEMPTY');
export const ENOTSUP = Errno.of('ENOTSUP');
export const EPERM = Errno.of('EPERM');
export const EROFS = Errno.of('EROFS');
export const EXDEV = Errno.of('EXDEV');

export function isErrno(value: unknown): value is Errno {
  return value instanceof Errno;
}
