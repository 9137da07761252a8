import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogRing, type LogEntry } from './logs.js';

const entry = (stream: 'stdout' | 'stderr', text: string): LogEntry => ({ stream, time: 0, bytes: new TextEncoder().encode(text) });

describe('LogRing', () => {
  it('keeps exactly the newest `limit` bytes, in order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.tuple(fc.boolean(), fc.string({ maxLength: 40 }))), (limit, writes) => {
        const ring = new LogRing(limit);
        let all = '';
        for (const [err, text] of writes) {
          ring.append(entry(err ? 'stderr' : 'stdout', text));
          all += text;
        }
        const kept = ring.list().map((e) => new TextDecoder().decode(e.bytes)).join('');
        const total = new TextEncoder().encode(all).length;
        expect(ring.size).toBe(Math.min(limit, total));
        expect(ring.size + ring.dropped).toBe(total);
        expect(new TextEncoder().encode(kept).length).toBe(ring.size);
      }),
    );
  });

  it('splits by stream and follows until closed', async () => {
    const ring = new LogRing(100);
    ring.append(entry('stdout', 'a'));
    ring.append(entry('stderr', 'b'));
    const seen: string[] = [];
    const done = (async () => {
      for await (const e of ring.follow()) seen.push(`${e.stream}:${new TextDecoder().decode(e.bytes)}`);
    })();
    ring.append(entry('stdout', 'c'));
    ring.close();
    await done;
    expect(seen).toEqual(['stdout:a', 'stderr:b', 'stdout:c']);
    expect(ring.text('stdout')).toBe('ac');
    expect(ring.text('stderr')).toBe('b');
    // Closed: follow yields what is kept and ends.
    const again: string[] = [];
    for await (const e of ring.follow()) again.push(new TextDecoder().decode(e.bytes));
    expect(again).toEqual(['a', 'b', 'c']);
  });
});
