/**
 * Shared memory that costs nothing until it is touched.
 *
 * `new SharedArrayBuffer(n)` is allocated by Node with calloc. Once a large buffer has been
 * freed, glibc raises its mmap threshold (up to 32 MiB), so every later buffer of that
 * size comes from the heap instead: calloc then zeroes all of it with memset, committing
 * every page at once. A container's network arena is 16 MiB of rings it mostly never
 * touches, so each run paid about 9 ms of CPU and 16 MiB of resident memory for it, from
 * the second container on.
 *
 * A growable SharedArrayBuffer is reserved and committed by V8 itself (mmap): its pages
 * are zero when first touched, and are made resident only then. `sharedBuffer` makes one
 * whose maximum is its length (so it never grows); where growable buffers are not
 * supported, the options are ignored and it is an ordinary SharedArrayBuffer.
 */

/** A zeroed SharedArrayBuffer of `byteLength` bytes, committed page by page as it is touched. */
export function sharedBuffer(byteLength: number): SharedArrayBuffer {
  return new GrowableSharedArrayBuffer(byteLength, { maxByteLength: byteLength });
}

/** The ES2024 constructor (the compiler's lib is ES2023, which lacks the options). */
const GrowableSharedArrayBuffer = SharedArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => SharedArrayBuffer;
