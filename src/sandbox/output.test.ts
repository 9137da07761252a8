import { describe, expect, it } from 'vitest';
import { OutputRing, RECORD_HEADER } from './output.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('OutputRing', () => {
  it('drains records in write order, one entry per run of one stream, with the first write\'s time', () => {
    const ring = OutputRing.create(1024);
    expect(ring.tryWrite(1, 10, bytes('a'))).toBe(1);
    expect(ring.tryWrite(1, 11, bytes('bc'))).toBe(2);
    expect(ring.tryWrite(2, 12, bytes('oops'))).toBe(4);
    expect(ring.tryWrite(1, 13, bytes('d'))).toBe(1);
    const entries = ring.drain();
    expect(entries.map((e) => [e.stream, 'time' in e ? e.time : undefined, text(e.bytes)])).toEqual([
      ['stdout', 10, 'abc'],
      ['stderr', 12, 'oops'],
      ['stdout', 13, 'd'],
    ]);
    expect(ring.drain()).toEqual([]);
  });

  it('message records come whole, in order with the output around them, never merged', () => {
    const ring = OutputRing.create(128);
    expect(ring.tryWrite(1, 1, bytes('out'))).toBe(3);
    expect(ring.tryWriteMessage(bytes('m1'))).toBe(true);
    expect(ring.tryWriteMessage(bytes('m2'))).toBe(true);
    expect(ring.tryWrite(1, 2, bytes('more'))).toBe(4);
    expect(ring.drain().map((e) => [e.stream, text(e.bytes)])).toEqual([
      ['stdout', 'out'],
      ['message', 'm1'],
      ['message', 'm2'],
      ['stdout', 'more'],
    ]);
    // Whole or nothing: a message that does not fit now is not written in part.
    expect(ring.tryWrite(1, 3, bytes('x'.repeat(128 - RECORD_HEADER - 8)))).toBe(128 - RECORD_HEADER - 8);
    expect(ring.tryWriteMessage(bytes('too long for the rest'))).toBe(false);
    expect(ring.drain().map((e) => e.stream)).toEqual(['stdout']);
    expect(ring.tryWriteMessage(bytes('too long for the rest'))).toBe(true);
    expect(ring.fitsMessage(128 - RECORD_HEADER)).toBe(true);
    expect(ring.fitsMessage(128 - RECORD_HEADER + 1)).toBe(false);
  });

  it('a write larger than the free space goes in part; a full ring takes nothing until drained', () => {
    const ring = OutputRing.create(64);
    const big = bytes('x'.repeat(100));
    const first = ring.tryWrite(1, 1, big);
    expect(first).toBe(64 - RECORD_HEADER);
    expect(ring.hasRoom()).toBe(false);
    expect(ring.tryWrite(1, 1, big.subarray(first))).toBe(0);
    // The writer says it waits; the drain that frees room says to wake it, once.
    ring.waitingForRoom();
    expect(ring.drain().map((e) => e.bytes.length)).toEqual([first]);
    expect(ring.drained()).toBe(true);
    expect(ring.drained()).toBe(false);
    expect(ring.tryWrite(1, 1, big.subarray(first))).toBe(first);
    expect(ring.drain().map((e) => e.bytes.length)).toEqual([first]);
    expect(ring.tryWrite(1, 1, big.subarray(2 * first))).toBe(100 - 2 * first);
    expect(text(ring.drain()[0]?.bytes ?? new Uint8Array())).toBe('x'.repeat(100 - 2 * first));
  });

  it('wakes a waiting reader once per wait, and records written before a reset are gone', async () => {
    const ring = OutputRing.create(256);
    // Something waiting: resolves at once.
    ring.tryWrite(1, 1, bytes('now'));
    await ring.whenWritten();
    expect(ring.drain().length).toBe(1);
    // Nothing waiting: resolves when written (from any thread; here, this one).
    let woke = false;
    const waiting = ring.whenWritten().then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(woke).toBe(false);
    ring.tryWrite(2, 2, bytes('later'));
    await waiting;
    expect(ring.drain().map((e) => text(e.bytes))).toEqual(['later']);
    ring.tryWrite(1, 3, bytes('stale'));
    ring.reset();
    expect(ring.drain()).toEqual([]);
  });

  it('carries a record whose bytes wrap around the end of the ring', () => {
    const ring = OutputRing.create(64);
    ring.tryWrite(1, 1, bytes('0123456789'));
    ring.drain();
    // Head is at 26: this record's header and bytes wrap past 64.
    expect(ring.tryWrite(2, 2, bytes('abcdefghijklmnopqrstuvwxyz0123456789'))).toBe(36);
    expect(ring.drain().map((e) => text(e.bytes))).toEqual(['abcdefghijklmnopqrstuvwxyz0123456789']);
  });
});
