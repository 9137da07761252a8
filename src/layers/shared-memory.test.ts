import { describe, expect, it } from 'vitest';
import { sharedBuffer } from './shared-memory.js';

describe('sharedBuffer', () => {
  it('is zeroed, of the length asked, and cannot grow', () => {
    const buffer = sharedBuffer(3 * 4096) as SharedArrayBuffer & { growable: boolean; maxByteLength: number; grow(n: number): void };
    expect(buffer.byteLength).toBe(3 * 4096);
    expect(new Uint8Array(buffer).every((b) => b === 0)).toBe(true);
    expect(() => buffer.grow(3 * 4096 + 1)).toThrow(RangeError);
  });
});
