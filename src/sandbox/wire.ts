/**
 * The envelope every thread protocol of skiff uses (sandbox/protocol.ts between the
 * runtime and a container thread, cluster/kubelet/protocol.ts between the master and a
 * kubelet): each post is `[bytes, handles]` —
 * - `bytes`: the message, msgpackr-encoded plain data, with a version field `v`; the
 *   receiver refuses any other version;
 * - `handles`: what msgpackr should not carry (SharedArrayBuffers, MessagePorts, large
 *   byte arrays to transfer), referenced from the message by index.
 * The protocols declare their messages; this file only frames them.
 */
import { Packr } from 'msgpackr';

/** Index into the handles array of the same post. */
export type Handle = number;

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Collects the handles of one post. */
export class Handles {
  readonly list: unknown[] = [];
  readonly transfer: Transferable[] = [];
  /** Adds `value`; what is in `transfer` moves to the receiver (do not use it after posting). */
  add(value: unknown, transfer?: Transferable | readonly Transferable[]): Handle {
    this.list.push(value);
    if (Array.isArray(transfer)) this.transfer.push(...(transfer as readonly Transferable[]));
    else if (transfer !== undefined) this.transfer.push(transfer as Transferable);
    return this.list.length - 1;
  }
}

export interface Poster {
  post(message: unknown, transfer?: readonly Transferable[]): void;
}

export interface Received<M> {
  readonly message: M;
  readonly handles: readonly unknown[];
}

/**
 * The message as msgpackr bytes: a view of msgpackr's reusable buffer, valid only until
 * the next encode (copy it out before then). For messages that cross without handles
 * through shared memory (mailbox.ts, output.ts), decoded by `decodeMessage`.
 */
export function encodeMessage(message: object): Uint8Array {
  return packr.pack(message);
}

/** Encodes `message` and posts it with its handles. */
export function postMessage(to: Poster, message: object, handles?: Handles): void {
  const packed = encodeMessage(message);
  // A view of msgpackr's reusable buffer: copy exactly the message out, and move that
  // copy (structured clone of a view would copy its whole buffer).
  const bytes = new Uint8Array(packed.length);
  bytes.set(packed);
  to.post([bytes, handles?.list ?? []], [bytes.buffer, ...(handles?.transfer ?? [])]);
}

/** Decodes a message's bytes of protocol `name`. Throws on anything that is not a message of `version`. */
export function decodeMessage<M>(bytes: Uint8Array, name: string, version: number): M {
  const message = packr.unpack(bytes) as { v?: unknown } | null;
  if (message === null || typeof message !== 'object' || message.v !== version) {
    throw new Error(`${name}: version ${String(message?.v)}, expected ${version}`);
  }
  return message as M;
}

/** Decodes a post of protocol `name`. Throws on anything that is not a message of `version`. */
export function receiveMessage<M>(raw: unknown, name: string, version: number): Received<M> {
  if (!Array.isArray(raw) || raw.length !== 2 || !(raw[0] instanceof Uint8Array) || !Array.isArray(raw[1])) {
    throw new Error(`${name}: not a message`);
  }
  return { message: decodeMessage<M>(raw[0], name, version), handles: raw[1] as unknown[] };
}

/** The handle `h` of a received message, with its expected type (unchecked: both ends are this package). */
export function handleOf<T>(handles: readonly unknown[], h: Handle, name: string): T {
  if (h < 0 || h >= handles.length) throw new Error(`${name}: handle ${h} of ${handles.length}`);
  return handles[h] as T;
}
