import { describe, expect, it } from 'vitest';
import { post, receive, type StreamMessage, type Unversioned } from './protocol.js';
import { StreamEnd, WINDOW } from './streams.js';

/** Two ends wired through the real encoding (post → receive), delivered asynchronously as a MessagePort would. */
function pair(): { a: StreamEnd; b: StreamEnd; sent: { a: number; b: number } } {
  const sent = { a: 0, b: 0 };
  const wire = (from: 'a' | 'b', to: () => StreamEnd) => (m: Unversioned<StreamMessage>) => {
    if (m.type === 'data') sent[from] += m.chunk.byteLength;
    post({ post: (raw) => setTimeout(() => to().receive(receive<StreamMessage>(raw).message), 0) }, m);
  };
  const a: StreamEnd = new StreamEnd(1, wire('a', () => b));
  const b: StreamEnd = new StreamEnd(1, wire('b', () => a));
  return { a, b, sent };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('StreamEnd', () => {
  it('carries bytes both ways, and a half-close ends the peer readable only', async () => {
    const { a, b } = pair();
    const wa = a.writable.getWriter();
    await wa.write(new TextEncoder().encode('ping'));
    await wa.close();
    const rb = b.readable.getReader();
    expect(new TextDecoder().decode((await rb.read()).value)).toBe('ping');
    expect((await rb.read()).done).toBe(true);
    const wb = b.writable.getWriter();
    await wb.write(new TextEncoder().encode('pong'));
    const ra = a.readable.getReader();
    expect(new TextDecoder().decode((await ra.read()).value)).toBe('pong');
  });

  it('stops a sender after one window when the receiver does not read (credit flow control)', async () => {
    const { a, b, sent } = pair();
    const big = new Uint8Array(4 * WINDOW).fill(7);
    const w = a.writable.getWriter();
    let written = false;
    void w.write(big).then(() => (written = true));
    await sleep(50);
    expect(written).toBe(false);
    expect(sent.a).toBe(WINDOW);
    // Reading drains it all, in order.
    const r = b.readable.getReader();
    let got = 0;
    while (got < big.byteLength) {
      const { value } = await r.read();
      expect(value?.every((x) => x === 7)).toBe(true);
      got += value?.byteLength ?? 0;
    }
    await sleep(10);
    expect(written).toBe(true);
    expect(got).toBe(big.byteLength);
  });

  it('close() resets both directions on both ends', async () => {
    const { a, b } = pair();
    a.close();
    await sleep(10);
    expect((await b.readable.getReader().read()).done).toBe(true);
    await expect(b.writable.getWriter().write(new Uint8Array(1))).rejects.toThrow();
  });
});
