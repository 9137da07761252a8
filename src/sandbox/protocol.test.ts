import { describe, expect, it } from 'vitest';
import { Handles, PROTOCOL_VERSION, handle, post, receive, type ExitedMessage, type Message } from './protocol.js';

/** A poster that keeps what was posted, cloned as postMessage would. */
function capture(): { post(m: unknown, t?: readonly Transferable[]): void; sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    post(m, t) {
      sent.push(structuredClone(m, { transfer: [...(t ?? [])] }));
    },
  };
}

describe('protocol', () => {
  it('round-trips a message with its handles; transferred buffers move', () => {
    const port = capture();
    const h = new Handles();
    const data = new Uint8Array([1, 2, 3]);
    const sab = new SharedArrayBuffer(8);
    h.add(data.buffer, data.buffer);
    const message: ExitedMessage = {
      v: PROTOCOL_VERSION,
      type: 'exited',
      run: 3,
      code: 7,
      reason: 'Error',
      upper: h.add(sab),
      memoryBytes: 65536,
    };
    post(port, message, h);
    expect(data.byteLength).toBe(0);
    const { message: got, handles } = receive<Message>(port.sent[0]);
    expect(got).toEqual(message);
    expect([...new Uint8Array(handle<ArrayBuffer>(handles, 0))]).toEqual([1, 2, 3]);
    expect(handle(handles, 1)).toBeInstanceOf(SharedArrayBuffer);
    expect(() => handle(handles, 2)).toThrow(/handle 2 of 2/);
  });

  it('refuses anything that is not this version of the protocol', () => {
    const port = capture();
    post(port, { v: PROTOCOL_VERSION, type: 'ready' });
    const [bytes, handles] = port.sent[0] as [Uint8Array, unknown[]];
    expect(receive(port.sent[0]).message).toEqual({ v: PROTOCOL_VERSION, type: 'ready' });
    expect(() => receive({ type: 'ready' })).toThrow(/not a message/);
    const other = capture();
    post(other, { v: 99 as typeof PROTOCOL_VERSION, type: 'ready' });
    expect(() => receive(other.sent[0])).toThrow(new RegExp(`version 99, expected ${PROTOCOL_VERSION}`));
    // The encoded bytes are exactly the message (not msgpackr's whole buffer).
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    expect(handles).toEqual([]);
  });
});
