/**
 * Byte streams relayed over the kubelet protocol (protocol.ts `data`/`credit`/`end`/
 * `reset`): one `StreamEnd` on each side of a stream, the master's handed out as a
 * `ForwardTarget` (platform.ts), the kubelet's piped to and from a container's virtual
 * connection.
 *
 * Flow control (credit, as HTTP/2's windows): a sender may have at most `WINDOW` bytes
 * sent and not yet credited. The receiver credits bytes once its consumer has *read*
 * them (the readable side is pulled with highWaterMark 0), so a consumer that stops
 * reading stops the sender after one window, and nothing queues without bound.
 *
 * Ending: closing the writable sends `end` (a half-close: the peer's readable ends);
 * `close()`, an abort, a cancel or the peer's `reset` end both directions at once.
 */
import type { ForwardTarget } from '../../platform/platform.js';
import type { StreamMessage, Unversioned } from './protocol.js';

/** Bytes a sender may have in flight, uncredited. */
export const WINDOW = 256 * 1024;
/** Largest `data` chunk. */
const MAX_CHUNK = 64 * 1024;

export class StreamEnd implements ForwardTarget {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  private readonly incoming: Uint8Array[] = [];
  private incomingEnded = false;
  private wakeReader: (() => void) | undefined;
  private inFlight = 0;
  private wakeWriter: (() => void) | undefined;
  private finished = false;

  /**
   * `send` posts a stream message of this stream to the peer; `onFinish` is called once,
   * when both directions are over (to forget the stream).
   */
  constructor(
    readonly id: number,
    private readonly send: (message: Unversioned<StreamMessage>) => void,
    private readonly onFinish: () => void = () => {},
  ) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            const chunk = this.incoming.shift();
            if (chunk !== undefined) {
              controller.enqueue(chunk);
              if (!this.finished) this.send({ type: 'credit', stream: this.id, bytes: chunk.byteLength });
              return;
            }
            if (this.incomingEnded || this.finished) {
              controller.close();
              this.maybeFinish();
              return;
            }
            await new Promise<void>((resolve) => (this.wakeReader = resolve));
          }
        },
        cancel: () => this.reset(true),
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        for (let at = 0; at < chunk.byteLength; ) {
          if (this.finished) throw new Error('stream closed');
          if (this.inFlight >= WINDOW) {
            await new Promise<void>((resolve) => (this.wakeWriter = resolve));
            continue;
          }
          const n = Math.min(MAX_CHUNK, WINDOW - this.inFlight, chunk.byteLength - at);
          // A copy: the caller may reuse its buffer, and msgpackr encodes a view's bytes only.
          this.send({ type: 'data', stream: this.id, chunk: chunk.slice(at, at + n) });
          this.inFlight += n;
          at += n;
        }
      },
      close: () => {
        this.writableEnded = true;
        if (!this.finished) this.send({ type: 'end', stream: this.id });
        this.maybeFinish();
      },
      abort: () => this.reset(true),
    });
  }

  private writableEnded = false;

  /** A stream message from the peer for this stream. */
  receive(message: StreamMessage): void {
    switch (message.type) {
      case 'data':
        this.incoming.push(message.chunk);
        break;
      case 'end':
        this.incomingEnded = true;
        break;
      case 'credit':
        this.inFlight = Math.max(0, this.inFlight - message.bytes);
        break;
      case 'reset':
        this.reset(false);
        return;
    }
    this.wake();
  }

  /** Ends both directions at once (and tells the peer). Idempotent. */
  close(): void {
    this.reset(true);
  }

  /** Both directions are over: drops what was not read, tells the peer if `tell`. */
  reset(tell: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.incoming.length = 0;
    if (tell) this.send({ type: 'reset', stream: this.id });
    this.wake();
    this.onFinish();
  }

  private maybeFinish(): void {
    if (this.finished || !this.writableEnded || !this.incomingEnded || this.incoming.length > 0) return;
    this.finished = true;
    this.onFinish();
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = undefined;
    r?.();
    const w = this.wakeWriter;
    this.wakeWriter = undefined;
    w?.();
  }
}

/**
 * Joins two duplex streams both ways: each side's bytes go to the other, a clean end
 * half-closes the other side, and a failure of either direction closes both.
 */
export function join(a: ForwardTarget, b: ForwardTarget): void {
  const closeBoth = (): void => {
    a.close();
    b.close();
  };
  void a.readable.pipeTo(b.writable).catch(closeBoth);
  void b.readable.pipeTo(a.writable).catch(closeBoth);
}
