/**
 * A synchronous request/response channel between two threads, over a SharedArrayBuffer.
 *
 * Words:
 * - The *client* is a thread that must block for the answer (a container thread in the
 *   middle of a WASI call): `ChannelClient.call(request)` returns the response, or a
 *   `ChannelError` value, and never hangs forever (a per-call deadline).
 * - The *server* answers one request at a time, either asynchronously on a thread with an
 *   event loop (`ChannelServer.serve(handler)`, the runtime's main thread; the handler may
 *   be async) or by being *polled* by a thread that is busy with something else
 *   (`pollOnce(handler)`, a container thread serving an `exec` thread at its WASI-call
 *   boundaries).
 * - A channel is *closed* once either side closes it, the client gives up on a reply
 *   (timeout), or its owner calls `closeChannel` (e.g. after terminating the thread that
 *   served it). A closed channel stays closed; every later call returns `closed`.
 *
 * Lifecycle:
 *   1. `createChannel()` (any thread) → `{ client, server }`, two `ChannelEnd`s: plain data,
 *      posted to the threads that use them (`transferables(end)` for the post's transfer list).
 *   2. Server thread: `new ChannelServer(end).serve(handler)`; the promise resolves when the
 *      channel closes. Client thread: `new ChannelClient(end).call(req)`.
 *   3. `close()` on either side; the other side sees it at once (its wait is woken).
 *
 * Wire: the buffer holds four Int32 header words (state, chunk length, message length,
 * kind) and a data area of `capacity` bytes. A message (msgpackr-encoded) larger than the
 * data area goes in pieces, each acknowledged by the receiver, so any size crosses with
 * a fixed buffer. The state word says whose turn it is; every transition is a
 * compare-and-exchange, so a side that closed (or timed out) cannot be overwritten by a
 * late reply. The client blocks in `Atomics.wait`; the async server waits in
 * `Atomics.waitAsync` or, where that does not exist, on a doorbell `MessagePort` the
 * client rings after each of its transitions.
 *
 * Contracts: a request is handled completely (its effects applied) before its reply is
 * written, so once `call` returns, the server has done the work even if the client's
 * thread is killed the next instant. Requests of one channel never overlap; many
 * channels may be served by one thread.
 */
import { Packr, Unpackr } from 'msgpackr';
import { CHANNEL_VERSION, type ChannelEnd } from './channel-protocol.js';
import { sharedBuffer } from '../layers/shared-memory.js';

export type { ChannelEnd } from './channel-protocol.js';

/** Data area size: messages above it go in pieces. */
export const DEFAULT_CAPACITY = 256 * 1024;
/** How long a client waits for a reply by default. */
export const DEFAULT_TIMEOUT_MS = 60_000;

// Header words (Int32 indices) and the data area's byte offset.
const STATE = 0;
const LEN = 1;
const TOTAL = 2;
const KIND = 3;
const HEADER_BYTES = 16;

// States: whose turn it is.
const IDLE = 0; // client may send
const REQ_PART = 1; // a request piece is in the buffer, more follow (server's turn)
const REQ = 2; // the last request piece is in the buffer (server's turn)
const REQ_ACK = 3; // the server took a piece (client's turn)
const RESP_PART = 4; // a reply piece, more follow (client's turn)
const RESP = 5; // the last reply piece (client's turn)
const RESP_ACK = 6; // the client took a piece (server's turn)
const CLOSED = 7;
const RESP_CLOSED = 8; // the last reply piece, and closed after it (client's turn: it reads the reply, then it is CLOSED)
const TIMED_OUT = -1;

const isClosed = (s: number): boolean => s === CLOSED || s === RESP_CLOSED;

/**
 * Closes the channel from either side, in any state, and wakes whoever waits on it. A
 * complete reply the client has not read yet stays readable (RESP_CLOSED): a server that
 * closes right after answering (a container exiting just after an exec's last call) must
 * not turn that answer into `closed`.
 */
function markClosed(words: Int32Array): void {
  for (;;) {
    const s = Atomics.load(words, STATE);
    if (isClosed(s)) break;
    if (Atomics.compareExchange(words, STATE, s, s === RESP ? RESP_CLOSED : CLOSED) === s) break;
  }
  Atomics.notify(words, STATE);
}

// Message kinds.
const KIND_OK = 0;
const KIND_FAILED = 1; // the handler threw; the payload is its message (UTF-8)

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Why a call produced no response. A value, not an exception (STYLE §5). */
export class ChannelError {
  constructor(
    /** `timeout`: no reply in time (the channel is now closed); `closed`: the channel is closed; `remote`: the handler threw. */
    readonly reason: 'timeout' | 'closed' | 'remote',
    readonly message: string,
  ) {}
  toString(): string {
    return `channel ${this.reason}: ${this.message}`;
  }
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export interface ChannelOptions {
  /** Data area size in bytes (default 256 KiB). Larger messages cross in pieces. */
  capacity?: number;
  /** How long the client waits for a reply (default 60 s). */
  timeoutMs?: number;
  /**
   * Use a MessagePort doorbell for an async server instead of `Atomics.waitAsync`.
   * Default: only where `Atomics.waitAsync` does not exist. A polled server never reads
   * the doorbell: create its channels with `doorbell: false`.
   */
  doorbell?: boolean;
}

/** A new channel: give `client` to the blocking thread and `server` to the serving one. */
export function createChannel(options: ChannelOptions = {}): { client: ChannelEnd; server: ChannelEnd } {
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 64) throw new RangeError(`channel capacity ${capacity}: must be an integer ≥ 64`);
  const buffer = sharedBuffer(HEADER_BYTES + capacity);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doorbell = options.doorbell ?? waitAsync === undefined;
  let clientPort: MessagePort | undefined;
  let serverPort: MessagePort | undefined;
  if (doorbell) {
    const ports = new MessageChannel();
    clientPort = ports.port1;
    serverPort = ports.port2;
  }
  return {
    client: { v: CHANNEL_VERSION, buffer, port: clientPort, timeoutMs },
    server: { v: CHANNEL_VERSION, buffer, port: serverPort, timeoutMs },
  };
}

/** What must go in the transfer list of the `postMessage` that carries `end`. */
export function transferables(end: ChannelEnd): Transferable[] {
  return end.port !== undefined ? [end.port] : [];
}

/**
 * Marks the channel closed from any thread holding its buffer and wakes whoever waits on
 * it in `Atomics.wait(Async)`. For the owner of a thread that served (or used) it and was
 * terminated: the other side then gets `closed` instead of waiting for its timeout. (An
 * async server on a doorbell is woken only by its own `close()`.)
 */
export function closeChannel(end: ChannelEnd): void {
  markClosed(new Int32Array(end.buffer, 0, 4));
}

/**
 * Makes a closed channel usable again (state idle), for the owner of a channel that is
 * reused by successive clients (an exec slot). Only when no thread uses either end: a
 * client still calling would otherwise reach the next one's server.
 */
export function reopenChannel(end: ChannelEnd): void {
  Atomics.store(new Int32Array(end.buffer, 0, 4), STATE, IDLE);
}

function checkEnd(end: ChannelEnd): void {
  if (end.v !== CHANNEL_VERSION) throw new Error(`channel end of version ${String(end.v)}; this build speaks ${CHANNEL_VERSION}`);
}

/** Writes piece `off…` of `bytes` into the data area; returns the next offset. */
function writePiece(words: Int32Array, data: Uint8Array, bytes: Uint8Array, off: number, kind: number): number {
  const n = Math.min(data.length, bytes.length - off);
  data.set(n === bytes.length ? bytes : bytes.subarray(off, off + n));
  words[LEN] = n;
  words[TOTAL] = bytes.length;
  words[KIND] = kind;
  return off + n;
}

/** The blocking side. One thread, one call at a time. */
export class ChannelClient<Req, Res> {
  private readonly words: Int32Array;
  private readonly data: Uint8Array;
  private readonly port: MessagePort | undefined;
  private readonly timeoutMs: number;
  private readonly bells: readonly Int32Array[];

  constructor(end: ChannelEnd) {
    checkEnd(end);
    this.words = new Int32Array(end.buffer, 0, 4);
    this.data = new Uint8Array(end.buffer, HEADER_BYTES, end.buffer.byteLength - HEADER_BYTES);
    this.port = end.port;
    this.timeoutMs = end.timeoutMs;
    this.bells = end.bells ?? [];
  }

  /** True once the channel is closed (by either side, a timeout or its owner). */
  get closed(): boolean {
    return isClosed(Atomics.load(this.words, STATE));
  }

  /**
   * Sends `request` and blocks until the reply (or `timeoutMs`, default the channel's).
   * Blocks the calling thread: never call it on a browser's main thread.
   */
  call(request: Req, timeoutMs = this.timeoutMs): Res | ChannelError {
    const words = this.words;
    const first = Atomics.load(words, STATE);
    if (isClosed(first)) return new ChannelError('closed', 'the channel is closed');
    if (first !== IDLE) throw new Error(`channel used by two callers at once (state ${first})`);
    const bytes = packr.pack(request) as Uint8Array;
    const deadline = performance.now() + timeoutMs;
    // Send, in pieces if needed.
    let off = 0;
    let from = IDLE;
    for (;;) {
      off = writePiece(words, this.data, bytes, off, KIND_OK);
      const next = off < bytes.length ? REQ_PART : REQ;
      if (Atomics.compareExchange(words, STATE, from, next) !== from) return new ChannelError('closed', 'the channel closed during a call');
      this.wakeServer();
      if (next === REQ) break;
      const s = this.await(REQ_PART, deadline);
      if (s !== REQ_ACK) return this.failure(s, timeoutMs);
      from = REQ_ACK;
    }
    // Receive, in pieces if needed.
    let out: Uint8Array | undefined;
    let got = 0;
    from = REQ;
    for (;;) {
      const s = this.await(from, deadline);
      if (s !== RESP_PART && s !== RESP && s !== RESP_CLOSED) return this.failure(s, timeoutMs);
      const n = words[LEN] as number;
      if (out === undefined && s !== RESP_PART) out = this.data.slice(0, n);
      else {
        out ??= new Uint8Array(words[TOTAL] as number);
        out.set(this.data.subarray(0, n), got);
      }
      got += n;
      if (s === RESP_PART) {
        if (Atomics.compareExchange(words, STATE, RESP_PART, RESP_ACK) !== RESP_PART) return this.failure(CLOSED, timeoutMs);
        this.wakeServer();
        from = RESP_ACK;
        continue;
      }
      const kind = words[KIND];
      // A close racing with the last piece does not void a complete reply (markClosed).
      if (Atomics.compareExchange(words, STATE, RESP, IDLE) !== RESP) Atomics.store(words, STATE, CLOSED);
      if (kind === KIND_FAILED) return new ChannelError('remote', decoder.decode(out));
      return unpackr.unpack(out) as Res;
    }
  }

  /** Closes the channel; the server's `serve` then resolves. Idempotent. */
  close(): void {
    markClosed(this.words);
    this.wakeServer();
    this.port?.close();
  }

  /** Blocks while the state is `from`; returns the new state, or TIMED_OUT (and the channel is then closed). */
  private await(from: number, deadline: number): number {
    const words = this.words;
    for (;;) {
      const s = Atomics.load(words, STATE);
      if (s !== from) return s;
      const left = deadline - performance.now();
      if (left <= 0) {
        // Give up, unless the server moved on at this very moment.
        if (Atomics.compareExchange(words, STATE, from, CLOSED) === from) {
          this.wakeServer();
          return TIMED_OUT;
        }
        continue;
      }
      Atomics.wait(words, STATE, from, left);
    }
  }

  private failure(state: number, timeoutMs: number): ChannelError {
    if (state === TIMED_OUT) return new ChannelError('timeout', `no reply within ${timeoutMs} ms; the channel is now closed`);
    return new ChannelError('closed', 'the channel closed during a call');
  }

  /** After each transition: wakes a server waiting in `Atomics.wait(Async)`, rings its doorbell and bells, if any. */
  private wakeServer(): void {
    Atomics.notify(this.words, STATE);
    this.port?.postMessage(0);
    for (const bell of this.bells) {
      Atomics.add(bell, 0, 1);
      Atomics.notify(bell, 0);
    }
  }
}

/** Waits: yields the state it waits to change from; the driver (sync or async) resumes it. */
type Steps<T> = Generator<number, T, void>;

/** The serving side. */
export class ChannelServer<Req, Res> {
  private readonly words: Int32Array;
  private readonly data: Uint8Array;
  private readonly port: MessagePort | undefined;
  private readonly timeoutMs: number;
  private wake: (() => void) | undefined;
  private serving = false;

  constructor(end: ChannelEnd) {
    checkEnd(end);
    this.words = new Int32Array(end.buffer, 0, 4);
    this.data = new Uint8Array(end.buffer, HEADER_BYTES, end.buffer.byteLength - HEADER_BYTES);
    this.port = end.port;
    this.timeoutMs = end.timeoutMs;
    if (this.port !== undefined) {
      this.port.onmessage = () => {
        const wake = this.wake;
        this.wake = undefined;
        wake?.();
      };
    }
  }

  get closed(): boolean {
    return isClosed(Atomics.load(this.words, STATE));
  }

  /**
   * Serves requests one at a time until the channel closes; resolves then. A handler
   * that throws sends the client a `remote` ChannelError (the channel stays usable).
   */
  async serve(handler: (request: Req) => Res | Promise<Res>): Promise<void> {
    if (this.serving) throw new Error('channel already served');
    this.serving = true;
    try {
      for (;;) {
        const request = await this.drive(this.receive());
        if (request === undefined) return;
        let reply: Uint8Array;
        let kind = KIND_OK;
        try {
          const r = handler(unpackr.unpack(request) as Req);
          reply = packr.pack(r instanceof Promise ? await r : r) as Uint8Array;
        } catch (e) {
          kind = KIND_FAILED;
          reply = encoder.encode(e instanceof Error ? e.message : String(e));
        }
        if (!(await this.drive(this.send(reply, kind)))) return;
      }
    } finally {
      this.port?.close();
    }
  }

  /**
   * Polled mode: if a request is waiting, handles it with the synchronous `handler` and
   * replies, then returns true; otherwise returns false at once. A request in pieces is
   * received (and a reply in pieces sent) by blocking for the client's next piece.
   */
  pollOnce(handler: (request: Req) => Res): boolean {
    const s = Atomics.load(this.words, STATE);
    if (s !== REQ && s !== REQ_PART) return false;
    const request = this.driveSync(this.receive());
    if (request === undefined) return true;
    let reply: Uint8Array;
    let kind = KIND_OK;
    try {
      reply = packr.pack(handler(unpackr.unpack(request) as Req)) as Uint8Array;
    } catch (e) {
      kind = KIND_FAILED;
      reply = encoder.encode(e instanceof Error ? e.message : String(e));
    }
    this.driveSync(this.send(reply, kind));
    return true;
  }

  /** Polled mode: blocks until a request waits (true) or `timeoutMs` passes or the channel closes (false). */
  waitForRequest(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const s = Atomics.load(this.words, STATE);
      if (s === REQ || s === REQ_PART) return true;
      if (isClosed(s)) return false;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, STATE, s, left);
    }
  }

  /** Closes the channel: a client waiting for a reply gets `closed` (one already answered still reads it); `serve` resolves. Idempotent. */
  close(): void {
    markClosed(this.words);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    this.port?.close();
  }

  /** Receives one request (undefined: the channel closed). */
  private *receive(): Steps<Uint8Array | undefined> {
    const words = this.words;
    let out: Uint8Array | undefined;
    let got = 0;
    for (;;) {
      const s = Atomics.load(words, STATE);
      if (s === REQ || s === REQ_PART) {
        const n = words[LEN] as number;
        if (out === undefined && s === REQ) return this.data.slice(0, n);
        out ??= new Uint8Array(words[TOTAL] as number);
        out.set(this.data.subarray(0, n), got);
        got += n;
        if (s === REQ) return out;
        if (Atomics.compareExchange(words, STATE, REQ_PART, REQ_ACK) !== REQ_PART) return undefined;
        Atomics.notify(words, STATE);
        continue;
      }
      if (isClosed(s)) return undefined;
      yield s;
    }
  }

  /** Sends one reply; false if the channel closed meanwhile (the client gave up). */
  private *send(bytes: Uint8Array, kind: number): Steps<boolean> {
    const words = this.words;
    // msgpackr reuses its output buffer: keep our own copy across the waits between pieces.
    if (bytes.length > this.data.length) bytes = bytes.slice();
    let off = 0;
    let from = REQ;
    for (;;) {
      off = writePiece(words, this.data, bytes, off, kind);
      const next = off < bytes.length ? RESP_PART : RESP;
      if (Atomics.compareExchange(words, STATE, from, next) !== from) return false;
      Atomics.notify(words, STATE);
      if (next === RESP) return true;
      for (;;) {
        const s = Atomics.load(words, STATE);
        if (s === RESP_ACK) break;
        if (s !== RESP_PART) return false;
        yield s;
      }
      from = RESP_ACK;
    }
  }

  private async drive<T>(steps: Steps<T>): Promise<T> {
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) return r.value;
      await this.changed(r.value);
    }
  }

  /** Drives `steps` blocking; a client silent for the channel's timeout closes it. */
  private driveSync<T>(steps: Steps<T>): T {
    const deadline = performance.now() + this.timeoutMs;
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) return r.value;
      const left = deadline - performance.now();
      if (left <= 0) {
        markClosed(this.words);
      } else Atomics.wait(this.words, STATE, r.value, left);
    }
  }

  /** Resolves when the state may no longer be `from`. */
  private changed(from: number): Promise<unknown> | undefined {
    if (this.port === undefined) {
      const r = (waitAsync as WaitAsync)(this.words, STATE, from);
      return r.async ? r.value : undefined;
    }
    return new Promise<void>((resolve) => {
      if (Atomics.load(this.words, STATE) !== from) resolve();
      else this.wake = resolve;
    });
  }
}
