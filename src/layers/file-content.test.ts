import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE, FileContent } from './file-content.js';

function all(c: FileContent): Uint8Array {
  const out = new Uint8Array(c.size);
  c.read(0, out);
  return out;
}

describe('FileContent', () => {
  it('copy-up is free and one changed byte of 64 MiB copies one chunk', () => {
    const base = new Uint8Array(64 * 1024 * 1024);
    base[123_456_78 % base.length] = 7;
    const c = new FileContent(base);
    expect(c.ownedBytes).toBe(0);
    c.write(40 * 1024 * 1024 + 5, new Uint8Array([42]));
    expect(c.ownedBytes).toBeLessThanOrEqual(CHUNK_SIZE);
    expect(c.size).toBe(base.length);
    const probe = new Uint8Array(3);
    c.read(40 * 1024 * 1024 + 4, probe);
    expect([...probe]).toEqual([0, 42, 0]);
    // The lower bytes are untouched.
    expect(base[40 * 1024 * 1024 + 5]).toBe(0);
  });

  it('keeps base bytes around a partial chunk write', () => {
    const base = new Uint8Array(CHUNK_SIZE * 2 + 10).map((_, i) => i % 251);
    const c = new FileContent(base);
    c.write(CHUNK_SIZE + 3, new Uint8Array([1, 2, 3]));
    const expected = base.slice();
    expected.set([1, 2, 3], CHUNK_SIZE + 3);
    expect(Buffer.from(all(c)).equals(Buffer.from(expected))).toBe(true);
  });

  it('appends without reallocating the whole file each time', () => {
    const c = new FileContent();
    const piece = new Uint8Array(100).fill(9);
    for (let i = 0; i < 10_000; i++) c.write(c.size, piece);
    expect(c.size).toBe(1_000_000);
    // Owned memory stays within a chunk of the size (no doubling of the whole file).
    expect(c.ownedBytes).toBeLessThanOrEqual(1_000_000 + CHUNK_SIZE);
    expect(all(c).every((b) => b === 9)).toBe(true);
  });

  it('a hole reads as zeros and a small file costs about its size', () => {
    const c = new FileContent();
    c.write(10, new Uint8Array([5]));
    expect([...all(c)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect(c.ownedBytes).toBeLessThan(256);
  });

  it('bytes past a shrink never come back', () => {
    const base = new Uint8Array(CHUNK_SIZE + 100).fill(1);
    const c = new FileContent(base);
    c.write(CHUNK_SIZE + 50, new Uint8Array([2, 2]));
    c.truncate(10);
    c.truncate(CHUNK_SIZE + 100);
    const out = all(c);
    expect(out.subarray(0, 10).every((b) => b === 1)).toBe(true);
    expect(out.subarray(10).every((b) => b === 0)).toBe(true);
  });

  it('behaves like a plain byte array under random writes and truncates', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), pos: fc.nat(3 * CHUNK_SIZE), len: fc.nat(2 * CHUNK_SIZE), byte: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), size: fc.nat(3 * CHUNK_SIZE) }),
    );
    fc.assert(
      fc.property(fc.nat(2 * CHUNK_SIZE), fc.array(op, { maxLength: 12 }), (baseLen, ops) => {
        const base = new Uint8Array(baseLen).map((_, i) => (i * 7) % 256);
        const c = new FileContent(base);
        let model = base.slice();
        for (const o of ops) {
          if (o.kind === 'write') {
            const data = new Uint8Array(o.len).fill(o.byte);
            c.write(o.pos, data);
            if (o.pos + o.len > model.length) {
              const grown = new Uint8Array(o.pos + o.len);
              grown.set(model);
              model = grown;
            }
            model.set(data, o.pos);
          } else {
            c.truncate(o.size);
            const next = new Uint8Array(o.size);
            next.set(model.subarray(0, Math.min(o.size, model.length)));
            model = next;
          }
        }
        expect(c.size).toBe(model.length);
        expect(Buffer.from(all(c)).equals(Buffer.from(model))).toBe(true);
        // Base is never written.
        expect(base.every((b, i) => b === (i * 7) % 256)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
