/**
 * Everything that crosses the synchronous channel (channel.ts) and the volume protocol
 * spoken over it (remote-fs.ts), declared in one place (STYLE §9). protocol.ts is the
 * runtime ↔ container-thread protocol; this file is the container-thread ↔ volume-server
 * one. Nothing else crosses.
 *
 * Two levels:
 * - `ChannelEnd`: one end of a channel, plain data posted to the thread that will use it
 *   (by structured clone; the SharedArrayBuffer is shared, the port, if any, transferred).
 * - `VolumeConnection`: what a container thread is given to reach its volumes: a channel
 *   end plus one `RemoteMount` per mount served remotely. Its `v` is the protocol version;
 *   a receiver refuses any other, so the requests and responses below (which carry no
 *   version of their own, to keep each round trip small) are those of version `v`.
 *
 * One conversation (container thread → volume server, one request at a time):
 *   { op: 'lookup', h: <root of mount 1>, name: 'etc' }  →  { node: { h: 7, kind: 'dir', key } }
 *   { op: 'read', h: 9, pos: 0, len: 4096 }              →  { data: <bytes> }
 *   { op: 'write', h: 9, pos: 0, data: <bytes> }         →  { n: 5 }   (applied before the reply)
 *   { op: 'release', h: 9 }                               →  { ok: true } (no descriptor holds it)
 *   Failures are `{ e: 'ENOENT' }` (an `ErrnoCode`).
 *
 * Handles: the server keeps a bounded table per connection. A handle that holds host
 * resources (opened, read, written, created as a file) is *pinned* until `release`;
 * others may be evicted when the table is full. A request naming an evicted handle gets
 * `{ stale: h }`; the client then looks the node up again by the (parent, name) it came
 * from, checks it is the same node (`key`), and retries. So the container never tells
 * the server which nodes it has forgotten, and the table stays bounded however long a
 * guest runs without yielding to its event loop.
 *
 * Encoding: msgpackr without records; bigints (times, inode numbers) cross as int64 and
 * come back as bigints. Byte payloads travel as msgpack `bin`.
 */
import type { ErrnoCode } from '../layers/errno.js';
import type { NodeKind } from '../layers/overlay.js';

// ----------------------------------------------------------------------------- channel

export const CHANNEL_VERSION = 2;

/**
 * One end of a synchronous channel. Both ends share `buffer`; `port` is the doorbell
 * (present only when the serving side cannot use `Atomics.waitAsync`): the client's end
 * holds the sending port, the server's end the receiving one.
 */
export interface ChannelEnd {
  readonly v: typeof CHANNEL_VERSION;
  readonly buffer: SharedArrayBuffer;
  readonly port: MessagePort | undefined;
  /** How long the client waits for a reply before giving up (ms). */
  readonly timeoutMs: number;
  /**
   * Client ends only, optional: wake counters (each an Int32Array whose word 0 is the
   * counter) that the client bumps and notifies after each of its transitions, for a
   * polled server that sleeps on other words while it waits for work (a container
   * thread serving exec, protocol.ts).
   */
  readonly bells?: readonly Int32Array[];
}

// ----------------------------------------------------------------------------- volumes

export const VOLUME_PROTOCOL_VERSION = 1;

/** A node handle: a small id in the connection's handle table. */
export type NodeHandle = number;

/** A node as the server reports it: its handle, its kind, and its identity (`MountFs.key`). */
export interface WireNode {
  readonly h: NodeHandle;
  readonly kind: NodeKind;
  /** A bigint, number or string, stable for the node's life (hard links share it). */
  readonly key: bigint | number | string;
}

export interface RemoteMount {
  /** Where the container mounts it (for messages only; the VFS owns mount points). */
  readonly path: string;
  readonly readonly: boolean;
  readonly root: WireNode;
}

export interface VolumeConnection {
  readonly v: typeof VOLUME_PROTOCOL_VERSION;
  readonly channel: ChannelEnd;
  readonly mounts: readonly RemoteMount[];
}

export interface WireStat {
  readonly kind: NodeKind;
  readonly ino: number;
  readonly nlink: number;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atime: bigint;
  readonly mtime: bigint;
  readonly ctime: bigint;
}

export interface WireDirent {
  readonly name: string;
  readonly kind: NodeKind;
  readonly ino: number;
}

/** One request per `MountFs` call (remote-fs.ts). `h` is the node (or directory) operated on. */
export type VolumeRequest =
  | { readonly op: 'lookup'; readonly h: NodeHandle; readonly name: string }
  | { readonly op: 'stat'; readonly h: NodeHandle }
  | { readonly op: 'readlink'; readonly h: NodeHandle }
  | { readonly op: 'readdir'; readonly h: NodeHandle }
  | { readonly op: 'open'; readonly h: NodeHandle }
  | { readonly op: 'read'; readonly h: NodeHandle; readonly pos: number; readonly len: number }
  | { readonly op: 'write'; readonly h: NodeHandle; readonly pos: number; readonly data: Uint8Array }
  | { readonly op: 'truncate'; readonly h: NodeHandle; readonly size: number }
  | { readonly op: 'setTimes'; readonly h: NodeHandle; readonly atime: bigint | null; readonly mtime: bigint | null }
  | { readonly op: 'createFile'; readonly h: NodeHandle; readonly name: string; readonly mode: number }
  | { readonly op: 'mkdir'; readonly h: NodeHandle; readonly name: string; readonly mode: number }
  | { readonly op: 'symlink'; readonly h: NodeHandle; readonly target: string; readonly name: string }
  | { readonly op: 'link'; readonly h: NodeHandle; readonly dir: NodeHandle; readonly name: string }
  | { readonly op: 'unlink'; readonly h: NodeHandle; readonly name: string }
  | { readonly op: 'rmdir'; readonly h: NodeHandle; readonly name: string }
  | { readonly op: 'rename'; readonly h: NodeHandle; readonly name: string; readonly to: NodeHandle; readonly toName: string }
  | { readonly op: 'sync'; readonly h: NodeHandle }
  | { readonly op: 'release'; readonly h: NodeHandle };

export type VolumeOp = VolumeRequest['op'];

/** The reply to one request; which field is set depends on the op (remote-fs.ts). `stale`: see Handles above. */
export type VolumeResponse =
  | { readonly e: ErrnoCode }
  | { readonly node: WireNode }
  | { readonly stale: NodeHandle }
  | { readonly stat: WireStat }
  | { readonly target: string }
  | { readonly entries: readonly WireDirent[] }
  | { readonly data: Uint8Array }
  | { readonly n: number }
  | { readonly ok: true };
